"""Positive authoritative answers: AA, the echoed question, additional-section processing."""

import struct

import dns.flags
import dns.rcode
import pytest

from dnstest import (ALPHA_APEX, ALPHA_SOA, TRANSPORTS, expect, make_query, query_tcp,
                     query_udp, question_bytes)


def test_a_record_is_an_authoritative_answer(server, transport):
    r = transport.ask(server, "www.alpha.test.", "A")
    expect(r, aa=True, answer=["www.alpha.test. 3600 IN A 192.0.2.80"],
           authority=[], additional=[])


def test_aaaa_record_is_an_authoritative_answer(server, transport):
    r = transport.ask(server, "www.alpha.test.", "AAAA")
    expect(r, aa=True, answer=["www.alpha.test. 3600 IN AAAA 2001:db8::80"],
           authority=[], additional=[])


def test_question_echoed_with_query_case_preserved(server, transport):
    r = transport.ask(server, "WwW.AlPhA.TeSt.", "A")
    # check_common compared the raw question bytes; make the case explicit too.
    assert question_bytes(r.raw)[:16] == b"\x03WwW\x05AlPhA\x04TeSt\x00"
    expect(r, aa=True, answer=["www.alpha.test. 3600 IN A 192.0.2.80"], authority=[],
           additional=[])


def test_upper_case_query_matches_lower_case_data(server, transport):
    r = transport.ask(server, "WWW.ALPHA.TEST.", "AAAA")
    expect(r, aa=True, answer=["www.alpha.test. 3600 IN AAAA 2001:db8::80"])


def test_mixed_case_owner_matches_lower_case_query(server, transport):
    r = transport.ask(server, "mixed.alpha.test.", "A")
    expect(r, aa=True, answer=["mixed.alpha.test. 3600 IN A 192.0.2.70"], authority=[])


def test_record_ttl_served_as_stored(server, transport):
    r = transport.ask(server, "short.alpha.test.", "A")
    expect(r, aa=True, answer=["short.alpha.test. 300 IN A 192.0.2.71"])


def test_soa_query_at_apex(server, transport):
    r = transport.ask(server, "alpha.test.", "SOA")
    expect(r, aa=True, answer=[ALPHA_SOA], authority=[])


def test_apex_ns_query_adds_nameserver_addresses(server, transport):
    r = transport.ask(server, "alpha.test.", "NS")
    expect(r, aa=True,
           answer=["alpha.test. 3600 IN NS ns1.alpha.test.",
                   "alpha.test. 3600 IN NS ns2.alpha.test."],
           authority=[],
           additional=["ns1.alpha.test. 3600 IN A 192.0.2.53",
                       "ns1.alpha.test. 3600 IN AAAA 2001:db8::53",
                       "ns2.alpha.test. 3600 IN A 192.0.2.54"])


def test_mx_query_adds_exchange_address(server, transport):
    r = transport.ask(server, "alpha.test.", "MX")
    expect(r, aa=True, answer=["alpha.test. 3600 IN MX 10 mail.alpha.test."],
           authority=[], additional=["mail.alpha.test. 3600 IN A 192.0.2.25"])


def test_srv_query_adds_target_address(server, transport):
    r = transport.ask(server, "_sip._tcp.alpha.test.", "SRV")
    expect(r, aa=True, answer=["_sip._tcp.alpha.test. 3600 IN SRV 10 5 5060 sip.alpha.test."],
           authority=[], additional=["sip.alpha.test. 3600 IN A 192.0.2.60"])


@pytest.mark.parametrize("rd", [False, True], ids=["rd0", "rd1"])
def test_rd_copied_and_ra_never_set(server, transport, rd):
    r = transport.ask(server, "www.alpha.test.", "A", rd=rd)
    assert r.rd == rd
    assert not r.ra
    expect(r, aa=True, answer=["www.alpha.test. 3600 IN A 192.0.2.80"])


def test_cd_bit_copied_and_ad_clear(server):
    q = make_query("www.alpha.test.", "A", edns=0)
    q.flags |= dns.flags.CD | dns.flags.AD
    r = query_udp(server.v4, q)
    assert r.flag(dns.flags.CD)
    assert not r.flag(dns.flags.AD)
    expect(r, aa=True, answer=["www.alpha.test. 3600 IN A 192.0.2.80"])


def test_query_id_echoed(server):
    for qid in (0, 1, 0x8000, 0xFFFF):
        q = make_query("www.alpha.test.", "A", qid=qid)
        assert query_udp(server.v4, q).id == qid
        assert query_tcp(server.v6, q).id == qid


def test_deepest_hosted_zone_answers(server, transport):
    # hosted.alpha.test is a zone of its own below alpha.test: it answers for its names.
    r = transport.ask(server, "www.hosted.alpha.test.", "A")
    expect(r, aa=True, answer=["www.hosted.alpha.test. 3600 IN A 203.0.113.5"], authority=[])


def test_child_zone_apex_answered_by_child(server, transport):
    r = transport.ask(server, "hosted.alpha.test.", "NS")
    expect(r, aa=True, answer=["hosted.alpha.test. 3600 IN NS ns1.alpha.test."], authority=[])


def test_kdig_sees_authoritative_answer(server, kdig):
    out = kdig("+norec", "www.alpha.test", "A")
    assert out.returncode == 0, out.stderr
    assert "status: NOERROR" in out.stdout
    flags_line = next(line for line in out.stdout.splitlines() if "Flags:" in line)
    assert " aa" in flags_line, out.stdout
    assert "192.0.2.80" in out.stdout


def test_kdig_over_tcp_and_ipv6(server, kdig):
    out = kdig("+tcp", "+norec", "alpha.test", "MX", family=6)
    assert out.returncode == 0, out.stderr
    assert "10 mail.alpha.test." in out.stdout
    assert "(TCP)" in out.stdout


def test_dig_short_answer(server, dig):
    out = dig("+short", "+norec", "www.alpha.test", "AAAA")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2001:db8::80"]


def test_drill_answer(server):
    from dnstest import drill
    out = drill(server, "www.alpha.test", "A")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "192.0.2.80" in out.stdout
    assert "NOERROR" in out.stdout


@pytest.mark.parametrize("t", TRANSPORTS, ids=lambda t: t.id)
def test_apex_answers_identical_on_both_families(server, t):
    # Same data whatever address family or protocol asked.
    r = t.ask(server, "alpha.test.", "CAA")
    expect(r, aa=True, answer=[line for line in ALPHA_APEX if " CAA " in line])
    assert struct.unpack("!H", r.raw[6:8])[0] == 2
    assert r.rcode == dns.rcode.NOERROR


def test_additional_rrset_included_once_for_two_mx_naming_one_host(server, transport):
    # RFC 2181 5.5: "A Resource Record Set should only be included once in any
    # DNS reply ... it should not be repeated in the same, or any other, section".
    r = transport.ask(server, "dupmx.alpha.test.", "MX")
    expect(r, aa=True, answer=["dupmx.alpha.test. 3600 IN MX 10 mail.alpha.test.",
                               "dupmx.alpha.test. 3600 IN MX 20 mail.alpha.test."],
           authority=[], additional=["mail.alpha.test. 3600 IN A 192.0.2.25"])


def test_additional_rrset_included_once_for_two_srv_naming_one_host(server, transport):
    r = transport.ask(server, "_xmpp._tcp.alpha.test.", "SRV")
    expect(r, aa=True, answer=["_xmpp._tcp.alpha.test. 3600 IN SRV 5 0 5222 sip.alpha.test.",
                               "_xmpp._tcp.alpha.test. 3600 IN SRV 10 0 5223 sip.alpha.test."],
           authority=[], additional=["sip.alpha.test. 3600 IN A 192.0.2.60"])


def test_addresses_below_a_zone_cut_not_added_to_authoritative_answer(server, transport):
    # ns1.sub.alpha.test is glue for the sub delegation: authoritative answers
    # do not hand it out as additional data (only referrals carry glue).
    r = transport.ask(server, "occmx.alpha.test.", "MX")
    expect(r, aa=True, answer=["occmx.alpha.test. 3600 IN MX 10 ns1.sub.alpha.test."],
           authority=[], additional=[])
