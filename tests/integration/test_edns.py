"""EDNS(0) (RFC 6891): OPT in answers, BADVERS, DO bit, payload sizes."""

import struct

import dns.edns
import dns.flags
import dns.rcode
import pytest

from dnstest import (EDNS_PAYLOAD, MEDIUM_TXT, check_common, encode_name, expect, header,
                     make_query, opt_rr, query_tcp, query_udp)

WAYS = [("udp", 4), ("udp", 6), ("tcp", 4), ("tcp", 6)]
WAY_IDS = ["udp4", "udp6", "tcp4", "tcp6"]


def ask(server, proto, family, wire):
    addr = server.addr(family)
    return query_udp(addr, wire) if proto == "udp" else query_tcp(addr, wire)


def opt_of(r):
    """(payload, ext rcode, version, flags, rdlen) of the answer's OPT, from the raw bytes."""
    assert r.has_opt, r
    tail = r.raw[-11:]
    assert tail[0] == 0 and struct.unpack("!H", tail[1:3])[0] == 41, "OPT is not last"
    return struct.unpack("!HBBHH", tail[3:])


@pytest.mark.parametrize("proto,family", WAYS, ids=WAY_IDS)
def test_opt_echoed_with_payload_1232_and_version_0(server, proto, family):
    q = make_query("www.alpha.test.", "A", edns=0, payload=4096)
    wire = q.to_wire()
    r = ask(server, proto, family, wire)
    check_common(r, wire, True)
    payload, ext, version, flags, rdlen = opt_of(r)
    assert (payload, ext, version, flags, rdlen) == (EDNS_PAYLOAD, 0, 0, 0, 0)
    assert r.counts[3] == 1     # OPT is the only additional record
    expect(r, aa=True, answer=["www.alpha.test. 3600 IN A 192.0.2.80"])


@pytest.mark.parametrize("proto,family", WAYS, ids=WAY_IDS)
def test_no_opt_in_answer_when_query_has_none(server, proto, family):
    wire = make_query("www.alpha.test.", "A").to_wire()
    r = ask(server, proto, family, wire)
    check_common(r, wire, False)
    assert not r.has_opt and r.counts[3] == 0, r


@pytest.mark.parametrize("qname,rcode", [("www.alpha.test.", dns.rcode.NOERROR),
                                         ("nx.alpha.test.", dns.rcode.NXDOMAIN),
                                         ("www.example.invalid.", dns.rcode.REFUSED)])
def test_opt_present_whatever_the_rcode(server, qname, rcode):
    wire = make_query(qname, "A", edns=0).to_wire()
    r = query_udp(server.v4, wire)
    check_common(r, wire, True)
    assert r.rcode == rcode


@pytest.mark.parametrize("proto,family", WAYS, ids=WAY_IDS)
def test_edns_version_1_gets_badvers_with_opt(server, proto, family):
    q = make_query("www.alpha.test.", "A", edns=1)
    wire = q.to_wire()
    r = ask(server, proto, family, wire)
    assert r.qr and r.id == q.id, r
    assert r.rcode == dns.rcode.BADVERS, r          # 16: extended rcode 1, header rcode 0
    assert r.flags & 0x000F == 0, r
    payload, ext, version, _flags, _rdlen = opt_of(r)
    assert ext == 1 and version == 0 and payload == EDNS_PAYLOAD, r
    assert r.answer == [] and r.authority == [] and r.additional == [], r
    assert not r.aa, r


def test_edns_version_255_gets_badvers(server):
    wire = header(0x5151, 0, ar=1) + encode_name("www.alpha.test.") + struct.pack("!HH", 1, 1) + \
        opt_rr(version=255)
    r = query_udp(server.v4, wire)
    assert r.rcode == dns.rcode.BADVERS, r
    assert opt_of(r)[2] == 0


@pytest.mark.parametrize("proto,family", WAYS, ids=WAY_IDS)
def test_do_bit_echoed(server, proto, family):
    q = make_query("www.alpha.test.", "A", edns=0, do=True)
    wire = q.to_wire()
    r = ask(server, proto, family, wire)
    check_common(r, wire, True)
    assert r.msg.ednsflags & dns.flags.DO, r
    expect(r, aa=True, answer=["www.alpha.test. 3600 IN A 192.0.2.80"])


def test_do_bit_clear_when_query_has_it_clear(server):
    wire = make_query("www.alpha.test.", "A", edns=0).to_wire()
    r = query_udp(server.v4, wire)
    assert not r.msg.ednsflags & dns.flags.DO, r


def test_unknown_edns_flags_are_not_echoed(server):
    wire = header(0x6161, 0, ar=1) + encode_name("www.alpha.test.") + struct.pack("!HH", 1, 1) + \
        opt_rr(flags=0x7FFF)
    r = query_udp(server.v4, wire)
    assert r.rcode == dns.rcode.NOERROR, r
    assert opt_of(r)[3] == 0, "Z bits must be zero in the answer (RFC 6891 6.1.4)"


def test_edns_options_are_ignored_not_echoed(server):
    # COOKIE (10) is the one option that is answered: see test_abuse.py.
    local = dns.edns.GenericOption(65001, b"\x01\x02\x03\x04\x05\x06\x07\x08")
    nsid = dns.edns.GenericOption(3, b"")
    q = make_query("www.alpha.test.", "A", edns=0, options=[local, nsid])
    wire = q.to_wire()
    r = query_udp(server.v4, wire)
    check_common(r, wire, True)
    assert opt_of(r)[4] == 0
    expect(r, aa=True, answer=["www.alpha.test. 3600 IN A 192.0.2.80"])


def test_client_payload_above_1232_is_capped(server):
    q = make_query("big.alpha.test.", "TXT", edns=0, payload=65000)
    r = query_udp(server.v4, q.to_wire())
    assert r.tc, r
    assert len(r.raw) <= EDNS_PAYLOAD


def test_client_payload_below_512_is_treated_as_512(server):
    q = make_query("medium.alpha.test.", "TXT", edns=0, payload=100)
    r = query_udp(server.v4, q.to_wire())
    assert r.tc and len(r.raw) <= 512, r
    q = make_query("www.alpha.test.", "A", edns=0, payload=100)
    r = query_udp(server.v4, q.to_wire())
    assert not r.tc and r.answer, r


def test_payload_between_512_and_1232_is_honoured(server):
    # medium is about 930 bytes: it fits 1000 but not 800.
    r = query_udp(server.v4, make_query("medium.alpha.test.", "TXT", edns=0, payload=1000))
    expect(r, aa=True, tc=False, answer=MEDIUM_TXT)
    r = query_udp(server.v4, make_query("medium.alpha.test.", "TXT", edns=0, payload=800))
    assert r.tc and len(r.raw) <= 800, r


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_two_opt_records_are_formerr(server, proto):
    wire = header(0x7171, 0, ar=2) + encode_name("www.alpha.test.") + struct.pack("!HH", 1, 1) + \
        opt_rr() + opt_rr()
    r = ask(server, proto, 4, wire)
    assert r.rcode == dns.rcode.FORMERR, r
    assert r.answer == [], r


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_opt_with_non_root_owner_is_formerr(server, proto):
    wire = header(0x7272, 0, ar=1) + encode_name("www.alpha.test.") + struct.pack("!HH", 1, 1) + \
        opt_rr(owner=encode_name("alpha.test."))
    r = ask(server, proto, 4, wire)
    assert r.rcode == dns.rcode.FORMERR, r
    assert r.answer == [], r
