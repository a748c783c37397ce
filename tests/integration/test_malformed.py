"""
Malformed input: every case is followed by a normal query that must still be
answered.  Responses are dropped (no answer at all) or FORMERR, never a crash.
"""

import random
import struct

import dns.message
import dns.rcode
import pytest

from dnstest import (Daemon, encode_name, header, make_query, norm, opt_rr, query_tcp, query_udp,
                     raw_query, tcp_connect, tcp_frame, tcp_read_message, udp_collect)

QID = 0xBAD0
QUESTION_A_IN = struct.pack("!HH", 1, 1)
WWW = encode_name("www.alpha.test.")
WWW_ANSWER = norm(["www.alpha.test. 3600 IN A 192.0.2.80"])


def long_name(total):
    """A wire name of exactly `total` bytes (labels of up to 63), ending in alpha.test."""
    tail = encode_name("alpha.test.")
    body = b""
    left = total - len(tail)
    while left > 0:
        n = min(63, left - 1)
        if n <= 0:
            raise ValueError(total)
        body += bytes([n]) + b"x" * n
        left -= n + 1
    return body + tail


CASES = {
    # name: (packet, expectation)
    "empty": (b"", "drop"),
    "5-bytes": (b"\xba\xd0\x01\x00\x00", "drop"),
    "11-bytes": (header(QID)[:11], "drop"),
    "header-only-qdcount-0": (header(QID, qd=0), "formerr"),
    "header-only-qdcount-1": (header(QID, qd=1), "formerr"),
    "qdcount-2": (header(QID, qd=2) + WWW + QUESTION_A_IN + WWW + QUESTION_A_IN, "formerr"),
    "qdcount-2-one-question": (header(QID, qd=2) + WWW + QUESTION_A_IN, "formerr"),
    "compression-pointer-in-qname": (header(QID) + b"\x03www\xc0\x0c" + QUESTION_A_IN,
                                     "formerr"),
    "pointer-loop-in-qname": (header(QID) + b"\xc0\x0c" + QUESTION_A_IN, "formerr"),
    "pointer-beyond-packet": (header(QID) + b"\xc3\xff" + QUESTION_A_IN, "formerr"),
    "label-length-64": (header(QID) + b"\x40" + b"a" * 64 + b"\x00" + QUESTION_A_IN, "formerr"),
    "label-type-0x80": (header(QID) + b"\x81a\x00" + QUESTION_A_IN, "formerr"),
    "name-256-bytes": (header(QID) + long_name(256) + QUESTION_A_IN, "formerr"),
    "name-300-bytes": (header(QID) + long_name(300) + QUESTION_A_IN, "formerr"),
    "truncated-question-type": (header(QID) + WWW + b"\x00", "formerr"),
    "truncated-question-class": (header(QID) + WWW + b"\x00\x01\x00", "formerr"),
    "truncated-name": (header(QID) + b"\x03www\x05alp", "formerr"),
    "name-without-root-label": (header(QID) + b"\x03www", "formerr"),
    "trailing-garbage": (header(QID) + WWW + QUESTION_A_IN + b"\x00\x01\x02", "formerr"),
    "trailing-zero-byte": (header(QID) + WWW + QUESTION_A_IN + b"\x00", "formerr"),
    "ancount-1-without-record": (header(QID, an=1) + WWW + QUESTION_A_IN, "formerr"),
    "arcount-1-truncated-opt": (header(QID, ar=1) + WWW + QUESTION_A_IN + opt_rr()[:7],
                                "formerr"),
    "opt-rdlen-beyond-packet": (header(QID, ar=1) + WWW + QUESTION_A_IN + b"\x00\x00\x29\x04"
                                b"\xd0\x00\x00\x00\x00\x00\x40", "formerr"),
    "arcount-3-one-record": (header(QID, ar=3) + WWW + QUESTION_A_IN + opt_rr(), "formerr"),
    "qr-1-query": (header(QID, 0x8000) + WWW + QUESTION_A_IN, "drop"),
    "qr-1-header-only": (header(QID, 0x8000, qd=0), "drop"),
    "qr-1-garbage": (header(QID, 0x8400) + b"\xff" * 40, "drop"),
    "qr-1-answer-with-records": (header(QID, 0x8400, an=1) + WWW + QUESTION_A_IN +
                                 b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x50",
                                 "drop"),
}


def probe(qid=0x5EED):
    return make_query("www.alpha.test.", "A", qid=qid)


def check_formerr(raw, sent):
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", raw[:12])
    assert qid == QID, f"id {qid:#x}"
    assert flags & 0x8000, "QR not set"
    assert flags & 0x000F == dns.rcode.FORMERR, f"rcode {flags & 15}, want FORMERR"
    assert not flags & 0x0400, "AA set on FORMERR"
    assert (an, ns) == (0, 0), "records in a FORMERR answer"
    assert qd in (0, 1)
    if qd == 0:
        assert ar == 0 and len(raw) == 12, raw.hex()


def exchange_udp(server, family, packet):
    p = probe()
    got, answer = udp_collect(server.addr(family), [packet], p.to_wire())
    r = dns.message.from_wire(answer)
    assert [str(rr) for rr in r.answer] == ["www.alpha.test. 3600 IN A 192.0.2.80"]
    return got


def exchange_tcp(server, family, packet):
    """Sends the packet then a probe on one connection; returns the replies before the probe's."""
    p = probe()
    got = []
    with tcp_connect(server.addr(family)) as s:
        s.sendall(tcp_frame(packet) + tcp_frame(p.to_wire()))
        while True:
            raw = tcp_read_message(s)
            if struct.unpack("!H", raw[:2])[0] == p.id and raw[2] & 0x80 and \
                    raw[12:].startswith(p.to_wire()[12:12 + len(WWW) + 4]):
                break
            got.append(raw)
    return got


# Every case over UDP (both families) and TCP; an empty TCP frame is the
# zero-length frame that closes the connection, tested in test_tcp.py.
MALFORMED_PARAMS = [pytest.param(case, proto, family, id=f"{case}-{proto}{family}")
                    for case in sorted(CASES)
                    for proto, family in (("udp", 4), ("udp", 6), ("tcp", 4))
                    if not (proto == "tcp" and not CASES[case][0])]


@pytest.mark.parametrize("case,proto,family", MALFORMED_PARAMS)
def test_malformed_input_is_dropped_or_formerr_and_server_survives(server, case, proto, family):
    packet, expectation = CASES[case]
    got = exchange_udp(server, family, packet) if proto == "udp" else \
        exchange_tcp(server, family, packet)
    if expectation == "drop":
        assert got == [], f"answered a packet that must be dropped: {[g.hex() for g in got]}"
    else:
        assert len(got) == 1, f"want one FORMERR, got {[g.hex() for g in got]}"
        check_formerr(got[0], packet)
    # And the server still answers normally, over both protocols.
    assert query_udp(server.v4, probe(0x1001)).answer == WWW_ANSWER
    assert query_tcp(server.v6, probe(0x1002)).answer == WWW_ANSWER


def test_name_of_exactly_255_bytes_is_a_valid_query(server):
    wire = header(0x2550) + long_name(255) + QUESTION_A_IN
    for r in (query_udp(server.v4, wire), query_tcp(server.v4, wire)):
        assert r.rcode == dns.rcode.NXDOMAIN and r.aa, r


def test_label_of_63_bytes_is_valid(server):
    wire = raw_query(b"\x3f" + b"y" * 63 + encode_name("alpha.test."), qid=0x6363)
    r = query_udp(server.v4, wire)
    assert r.rcode == dns.rcode.NXDOMAIN, r


def test_query_with_authority_record_is_still_answered(server):
    # Records in the answer/authority sections of a query are skipped, not an error.
    rr = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x01"
    wire = header(0x4141, ns=1) + WWW + QUESTION_A_IN + rr
    r = query_udp(server.v4, wire)
    assert r.rcode == dns.rcode.NOERROR and r.answer == WWW_ANSWER, r


def random_packets(seed, count):
    rng = random.Random(seed)
    base = make_query("www.alpha.test.", "A", edns=0, qid=0x7000).to_wire()
    out = []
    for i in range(count):
        if i % 2 == 0:
            n = rng.choice([rng.randint(0, 16), rng.randint(12, 80), rng.randint(80, 700)])
            pkt = bytearray(rng.getrandbits(8) for _ in range(n))
        else:
            pkt = bytearray(base)
            for _ in range(rng.randint(1, 6)):
                pkt[rng.randrange(len(pkt))] = rng.getrandbits(8)
            if rng.random() < 0.3:
                del pkt[rng.randrange(len(pkt)):]
            if rng.random() < 0.2:
                pkt += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 20)))
        if len(pkt) >= 3 and rng.random() < 0.7:
            pkt[2] &= 0x7F               # mostly QR=0, so that most get answered
        out.append(bytes(pkt))
    return out


def check_reply_to_garbage(reply, sent_ids):
    assert len(reply) >= 12, reply.hex()
    qid, flags = struct.unpack("!HH", reply[:4])
    assert qid in sent_ids, f"reply to an id never sent: {reply.hex()}"
    assert flags & 0x8000, f"reply without QR: {reply.hex()}"
    opcode = (flags >> 11) & 0x0F
    if opcode == 0:     # dnspython is stricter than the protocol for other opcodes
        # Anything the server sends must itself be a well-formed DNS message.
        try:
            dns.message.from_wire(reply, one_rr_per_rrset=True)
        except dns.exception.DNSException as e:
            raise AssertionError(f"malformed reply {reply.hex()}: {e!r}")


@pytest.fixture(scope="module")
def flood_server(make_zone_db, tmp_path_factory):
    """A daemon without response rate limiting: the floods below come from one address
    and would be rate limited (and their probe with them), which is not what they test."""
    d = Daemon(make_zone_db(), tmp_path_factory.mktemp("flood-log"),
               extra_args=["--rrl-rate", "0"], name="flood").start()
    yield d
    d.stop_and_check()


@pytest.mark.parametrize("family", [4, 6])
def test_random_garbage_datagrams_do_not_break_the_server(flood_server, family):
    server = flood_server
    packets = random_packets(0xC0FFEE + family, 400)
    sent_ids = {struct.unpack("!H", p[:2])[0] for p in packets if len(p) >= 2}
    for i in range(0, len(packets), 40):
        batch = packets[i:i + 40]
        got, _answer = udp_collect(server.addr(family), batch, probe(0x5EED).to_wire())
        for reply in got:
            check_reply_to_garbage(reply, sent_ids)
    assert query_udp(server.v4, probe(0x1003)).answer == WWW_ANSWER
    assert query_tcp(server.v4, probe(0x1004)).answer == WWW_ANSWER


def test_random_garbage_tcp_frames_do_not_break_the_server(server):
    packets = [p for p in random_packets(0xFACADE, 200) if p]
    sent_ids = {struct.unpack("!H", p[:2])[0] for p in packets if len(p) >= 2}
    for i in range(0, len(packets), 25):
        batch = packets[i:i + 25]
        p = probe(0x5EED)
        with tcp_connect(server.v4) as s:
            s.sendall(b"".join(tcp_frame(x) for x in batch) + tcp_frame(p.to_wire()))
            while True:
                raw = tcp_read_message(s)
                if raw[:2] == b"\x5e\xed" and raw[12:].startswith(p.to_wire()[12:30]):
                    break
                check_reply_to_garbage(raw, sent_ids)
    assert query_udp(server.v6, probe(0x1005)).answer == WWW_ANSWER
