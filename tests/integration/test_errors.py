"""Error rcodes for queries we will not answer: NOTIMP, REFUSED, FORMERR."""

import struct

import dns.rcode
import pytest

from dnstest import (check_common, encode_name, header, make_query, opt_rr, query_tcp,
                     query_udp, raw_query)

PROTOS = ["udp", "tcp"]


def ask(server, proto, wire, family=4):
    addr = server.addr(family)
    return query_udp(addr, wire) if proto == "udp" else query_tcp(addr, wire)


def assert_empty_error(r, rcode):
    assert r.rcode == rcode, r
    assert not r.aa, r
    assert r.answer == [] and r.authority == [] and r.additional == [], r
    assert r.counts[1:] == (0, 0, 1 if r.has_opt else 0), r


def raw_exchange(server, proto, wire, family=4):
    """For opcodes dnspython cannot parse: the raw answer bytes."""
    from dnstest import tcp_exchange, udp_exchange
    addr = server.addr(family)
    return udp_exchange(addr, wire) if proto == "udp" else tcp_exchange(addr, wire)


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("opcode", [1, 2, 3, 5, 6, 15],
                         ids=["IQUERY", "STATUS", "op3", "UPDATE", "DSO", "op15"])
def test_unknown_opcode_gets_notimp(server, proto, opcode):
    wire = raw_query("www.alpha.test.", 1, 1, qid=0x2222, flags=(opcode << 11) | 0x0100)
    raw = raw_exchange(server, proto, wire)
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", raw[:12])
    assert qid == 0x2222
    assert flags & 0x8000, "QR not set"
    assert (flags >> 11) & 0x0F == opcode, "opcode not echoed"
    assert flags & 0x000F == dns.rcode.NOTIMP, f"rcode {flags & 15}, want NOTIMP"
    assert not flags & 0x0400, "AA set on NOTIMP"
    assert (an, ns, ar) == (0, 0, 0)
    assert qd in (0, 1)
    if qd == 1:
        assert raw[12:] == wire[12:], "question not echoed verbatim"
    else:
        assert len(raw) == 12


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("qclass", ["CH", "ANY", "HS", "NONE", "CLASS42"])
def test_non_in_class_is_refused(server, proto, qclass):
    q = make_query("www.alpha.test.", "A", qclass, edns=0)
    wire = q.to_wire()
    r = ask(server, proto, wire)
    check_common(r, wire, True)
    assert_empty_error(r, dns.rcode.REFUSED)


@pytest.mark.parametrize("proto", PROTOS)
def test_chaos_version_bind_is_refused(server, proto):
    q = make_query("version.bind.", "TXT", "CH")
    wire = q.to_wire()
    r = ask(server, proto, wire)
    check_common(r, wire, False)
    assert_empty_error(r, dns.rcode.REFUSED)


@pytest.mark.parametrize("edns", [False, True], ids=["noedns", "edns"])
def test_axfr_over_udp_is_formerr(server, edns):
    q = make_query("alpha.test.", "AXFR", edns=0 if edns else None)
    wire = q.to_wire()
    r = query_udp(server.v4, wire)
    check_common(r, wire, edns)
    assert_empty_error(r, dns.rcode.FORMERR)


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("qtype", ["MAILA", "MAILB", "TYPE128"])
def test_meta_query_types_get_notimp(server, proto, qtype):
    q = make_query("www.alpha.test.", qtype)
    wire = q.to_wire()
    r = ask(server, proto, wire)
    check_common(r, wire, False)
    assert_empty_error(r, dns.rcode.NOTIMP)


@pytest.mark.parametrize("proto", PROTOS)
@pytest.mark.parametrize("qtype", [41, 250], ids=["OPT", "TSIG"])
def test_pseudo_record_types_as_qtype_are_formerr(server, proto, qtype):
    wire = raw_query("www.alpha.test.", qtype, 1)
    r = ask(server, proto, wire)
    check_common(r, wire, False)
    assert_empty_error(r, dns.rcode.FORMERR)


@pytest.mark.parametrize("proto", PROTOS)
def test_notimp_answer_to_query_with_opt_includes_opt(server, proto):
    # RFC 6891 6.1.1: "If an OPT record is present in a received request,
    # compliant responders MUST include an OPT record in their respective
    # responses."  That holds for error responses too.
    wire = header(0x4444, 2 << 11, qd=1, ar=1) + encode_name("www.alpha.test.") + \
        struct.pack("!HH", 1, 1) + opt_rr()
    raw = raw_exchange(server, proto, wire)
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", raw[:12])
    assert flags & 15 == dns.rcode.NOTIMP and (flags >> 11) & 15 == 2
    assert ar == 1, f"NOTIMP answer to a query with OPT has no OPT: {raw.hex()}"
    assert raw[-11:-8] == b"\x00\x00\x29" and raw[-8:-6] == b"\x04\xd0"
