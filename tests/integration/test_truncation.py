"""UDP truncation (RFC 1035 4.2.1, RFC 2181 9) and qtype ANY (RFC 8482)."""

import collections

import dns.rcode
import pytest

from dnstest import (ALPHA_APEX, BIG_TXT, EDNS_PAYLOAD, MEDIUM_TXT, Transport, expect, make_query,
                     query_udp)

UDP_NOEDNS = Transport("udp", False, 4)
UDP_EDNS = Transport("udp", True, 4)
UDP6_EDNS = Transport("udp", True, 6)
TCP_NOEDNS = Transport("tcp", False, 4)
TCP_EDNS = Transport("tcp", True, 6)


def rrsets_of(lines):
    """Groups normalised RR lines by (owner, type)."""
    groups = collections.defaultdict(list)
    for line in lines:
        owner, _ttl, _cls, rtype, _rd = line.split(None, 4)
        groups[(owner, rtype)].append(line)
    return groups


def assert_only_whole_rrsets(truncated, complete):
    """Every RRset in the truncated answer is there in full (as over TCP)."""
    full = rrsets_of(complete)
    for key, lines in rrsets_of(truncated).items():
        assert sorted(lines) == sorted(full[key]), f"partial RRset {key}: {lines}"


@pytest.mark.parametrize("t", [UDP_NOEDNS, UDP_EDNS, UDP6_EDNS], ids=lambda t: t.id)
def test_big_rrset_over_udp_is_truncated_to_whole_rrsets(server, t):
    r = t.ask(server, "big.alpha.test.", "TXT")
    assert r.tc, r
    assert r.rcode == dns.rcode.NOERROR and r.aa, r
    assert len(r.raw) <= t.udp_limit
    # The one RRset does not fit: the answer section is empty, never partial.
    assert r.answer == [], r
    assert r.counts[1] == 0


@pytest.mark.parametrize("t", [TCP_NOEDNS, TCP_EDNS], ids=lambda t: t.id)
def test_big_rrset_over_tcp_is_complete(server, t):
    r = t.ask(server, "big.alpha.test.", "TXT")
    expect(r, aa=True, tc=False, answer=BIG_TXT, authority=[], additional=[])


def test_medium_rrset_truncated_without_edns_complete_with_edns(server):
    r = UDP_NOEDNS.ask(server, "medium.alpha.test.", "TXT")
    assert r.tc and r.answer == [] and len(r.raw) <= 512, r
    r = UDP_EDNS.ask(server, "medium.alpha.test.", "TXT")
    expect(r, aa=True, tc=False, answer=MEDIUM_TXT)
    assert 512 < len(r.raw) <= EDNS_PAYLOAD


@pytest.mark.parametrize("t", [UDP_NOEDNS, UDP_EDNS], ids=lambda t: t.id)
def test_truncated_cname_chain_keeps_only_complete_rrsets(server, t):
    r = t.ask(server, "to-big.alpha.test.", "TXT")
    assert r.tc, r
    full = TCP_EDNS.ask(server, "to-big.alpha.test.", "TXT")
    assert not full.tc and len(full.answer) == 41, full
    assert_only_whole_rrsets(r.answer, full.answer)
    # The CNAME fits and is kept; the TXT RRset does not and is left out whole.
    assert r.answer == ["to-big.alpha.test. 3600 IN CNAME big.alpha.test."], r


def test_tc_answer_to_a_small_query_is_not_set(server):
    for t in (UDP_NOEDNS, UDP_EDNS):
        r = t.ask(server, "long.alpha.test.", "TXT")   # ~650 bytes of TXT data
        if t.edns:
            assert not r.tc and len(r.answer) == 1, r
        else:
            assert r.tc and r.answer == [], r


@pytest.mark.parametrize("t", [UDP_NOEDNS, UDP_EDNS, UDP6_EDNS], ids=lambda t: t.id)
def test_any_over_udp_returns_exactly_one_rrset(server, t):
    r = t.ask(server, "alpha.test.", "ANY")
    assert r.rcode == dns.rcode.NOERROR and r.aa and not r.tc, r
    groups = rrsets_of(r.answer)
    assert len(groups) == 1, f"RFC 8482: want one RRset, got {list(groups)}"
    full = TCP_EDNS.ask(server, "alpha.test.", "ANY")
    assert_only_whole_rrsets(r.answer, full.answer)


@pytest.mark.parametrize("t", [TCP_NOEDNS, TCP_EDNS], ids=lambda t: t.id)
def test_any_over_tcp_returns_all_rrsets_of_the_name(server, t):
    r = t.ask(server, "alpha.test.", "ANY")
    expect(r, aa=True, answer=ALPHA_APEX, authority=[])


def test_any_over_tcp_at_ordinary_name(server):
    r = TCP_NOEDNS.ask(server, "www.alpha.test.", "ANY")
    expect(r, aa=True, answer=["www.alpha.test. 3600 IN A 192.0.2.80",
                               "www.alpha.test. 3600 IN AAAA 2001:db8::80"])


def test_any_over_udp_at_cname_returns_the_cname(server):
    r = UDP_EDNS.ask(server, "cname1.alpha.test.", "ANY")
    expect(r, aa=True, answer=["cname1.alpha.test. 3600 IN CNAME cname2.alpha.test."])


@pytest.mark.parametrize("t", [UDP_NOEDNS, TCP_EDNS], ids=lambda t: t.id)
def test_any_at_empty_non_terminal_is_nodata(server, t):
    from dnstest import ALPHA_NEG_SOA
    r = t.ask(server, "empty.alpha.test.", "ANY")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, answer=[], authority=[ALPHA_NEG_SOA])


def test_truncated_answer_has_question_and_opt(server):
    q = make_query("big.alpha.test.", "TXT", edns=0)
    r = query_udp(server.v6, q)
    assert r.tc and r.has_opt and r.counts[0] == 1, r
    assert r.msg.payload == EDNS_PAYLOAD


def test_rrset_larger_than_16k_is_complete_over_tcp(server):
    # xfr.test's "huge" TXT RRset is ~20 KB: compression pointers past 16 KiB
    # cannot be used, and the answer must still be whole and well-formed.
    want = [f'huge.xfr.test. 600 IN TXT "huge-{i:03d}-{"h" * 190}"' for i in range(100)]
    r = TCP_EDNS.ask(server, "huge.xfr.test.", "TXT")
    expect(r, aa=True, tc=False, answer=want, authority=[], additional=[])
    assert len(r.raw) > 16384
    r = UDP_EDNS.ask(server, "huge.xfr.test.", "TXT")
    assert r.tc and r.answer == [], r
