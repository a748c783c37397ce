"""DNS over TCP (RFC 7766): pipelining, framing, idle timeout, connection limits."""

import socket
import struct
import time

import dns.rcode
import pytest

from dnstest import (Daemon, Reply, check_common, encode_name, header, make_query, norm,
                     opt_rr, query_tcp, query_udp, raw_query, recv_exact, tcp_connect, tcp_frame, tcp_read_message, wait_closed)

# Generous bound for "the server closes the connection eventually".
CLOSE_BOUND = 30.0

PIPELINE = [
    ("www.alpha.test.", "A", dns.rcode.NOERROR, ["www.alpha.test. 3600 IN A 192.0.2.80"]),
    ("www.alpha.test.", "AAAA", dns.rcode.NOERROR, ["www.alpha.test. 3600 IN AAAA 2001:db8::80"]),
    ("mail.alpha.test.", "A", dns.rcode.NOERROR, ["mail.alpha.test. 3600 IN A 192.0.2.25"]),
    ("nx.alpha.test.", "A", dns.rcode.NXDOMAIN, []),
    ("www.beta.test.", "A", dns.rcode.NOERROR, ["www.beta.test. 7200 IN A 198.51.100.10"]),
    ("foo.wild.alpha.test.", "A", dns.rcode.NOERROR,
     ["foo.wild.alpha.test. 3600 IN A 192.0.2.200"]),
    ("www.example.invalid.", "A", dns.rcode.REFUSED, []),
    ("big.alpha.test.", "TXT", dns.rcode.NOERROR, None),     # 40 records, ~8.5 KB
]


def pipeline_queries(n, edns=False):
    out = []
    for i in range(n):
        qname, qtype, rcode, answer = PIPELINE[i % len(PIPELINE)]
        q = make_query(qname, qtype, qid=(0x1000 + i), edns=0 if edns else None)
        out.append((q, rcode, answer))
    return out


def check_pipeline_answers(sock, queries):
    by_id = {q.id: (q, rcode, answer) for q, rcode, answer in queries}
    seen = set()
    for _ in queries:
        raw = tcp_read_message(sock)
        (qid,) = struct.unpack("!H", raw[:2])
        assert qid in by_id and qid not in seen, f"unexpected or repeated id {qid:#x}"
        seen.add(qid)
        q, rcode, answer = by_id[qid]
        r = Reply(raw, q.to_wire(), "tcp")
        check_common(r, q.to_wire(), q.edns >= 0)
        assert r.rcode == rcode, r
        if answer is None:
            assert len(r.answer) == 40 and not r.tc, r
        else:
            assert sorted(r.answer) == sorted(norm(answer)), r
    assert seen == set(by_id)


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("count", [5, 100])
def test_pipelined_queries_in_one_write_are_all_answered(server, family, count):
    queries = pipeline_queries(count, edns=(count == 100))
    data = b"".join(tcp_frame(q.to_wire()) for q, _r, _a in queries)
    with tcp_connect(server.addr(family)) as s:
        s.sendall(data)
        check_pipeline_answers(s, queries)


def test_pipelined_queries_in_many_small_writes(server):
    queries = pipeline_queries(20)
    data = b"".join(tcp_frame(q.to_wire()) for q, _r, _a in queries)
    with tcp_connect(server.v4) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(0, len(data), 7):
            s.send(data[i:i + 7])
        check_pipeline_answers(s, queries)


def test_query_split_byte_by_byte_is_answered(server):
    q = make_query("www.alpha.test.", "A", qid=0x3131)
    frame = tcp_frame(q.to_wire())
    with tcp_connect(server.v6) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in frame:
            s.send(bytes([b]))
            time.sleep(0.002)
        r = Reply(tcp_read_message(s), q.to_wire(), "tcp")
    assert r.id == 0x3131 and r.answer == norm(["www.alpha.test. 3600 IN A 192.0.2.80"]), r


def test_dropped_and_erroneous_messages_inside_a_pipeline_do_not_stall_it(server):
    q1 = make_query("www.alpha.test.", "A", qid=0x0101)
    resp = bytearray(make_query("www.alpha.test.", "A", qid=0x0202).to_wire())
    resp[2] |= 0x80                                      # QR=1: dropped, no answer
    bad = raw_query("www.alpha.test.", qid=0x0303, tail=b"garbage")   # FORMERR
    q4 = make_query("mail.alpha.test.", "A", qid=0x0404)
    data = tcp_frame(q1.to_wire()) + tcp_frame(bytes(resp)) + tcp_frame(bad) + \
        tcp_frame(q4.to_wire())
    with tcp_connect(server.v4) as s:
        s.sendall(data)
        ids = []
        for _ in range(3):
            raw = tcp_read_message(s)
            ids.append(struct.unpack("!H", raw[:2])[0])
            if ids[-1] == 0x0303:
                assert raw[3] & 0x0F == dns.rcode.FORMERR
    assert ids == [0x0101, 0x0303, 0x0404]


def test_large_query_near_64k_is_answered(server):
    pad = struct.pack("!HH", 12, 60000) + b"\x00" * 60000      # EDNS padding option
    wire = header(0x6464, 0, ar=1) + encode_name("www.alpha.test.") + \
        struct.pack("!HH", 1, 1) + opt_rr(rdata=pad)
    assert len(wire) > 60000
    r = query_tcp(server.v4, wire)
    check_common(r, wire, True)
    assert r.answer == norm(["www.alpha.test. 3600 IN A 192.0.2.80"]), r


def test_zero_length_frame_closes_the_connection(server):
    with tcp_connect(server.v4) as s:
        s.sendall(b"\x00\x00")
        assert wait_closed(s, CLOSE_BOUND), "connection still open after a zero-length frame"
    r = query_tcp(server.v4, make_query("www.alpha.test.", "A"))
    assert r.rcode == dns.rcode.NOERROR


def test_frame_longer_than_the_data_then_close(server):
    with tcp_connect(server.v4) as s:
        s.sendall(b"\x10\x00" + raw_query("www.alpha.test."))   # announces 4096 bytes
        s.shutdown(socket.SHUT_WR)
        assert wait_closed(s, CLOSE_BOUND)
    with tcp_connect(server.v6) as s:
        s.sendall(b"\xff\xff" + b"\x00" * 1000)
    r = query_tcp(server.v4, make_query("www.alpha.test.", "A"))
    assert r.rcode == dns.rcode.NOERROR
    r = query_udp(server.v4, make_query("www.alpha.test.", "A"))
    assert r.rcode == dns.rcode.NOERROR


def test_client_closing_before_reading_answers_is_harmless(server):
    queries = pipeline_queries(40)
    for _ in range(5):
        with tcp_connect(server.v4) as s:
            s.sendall(b"".join(tcp_frame(q.to_wire()) for q, _r, _a in queries))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    r = query_tcp(server.v4, make_query("www.alpha.test.", "A"))
    assert r.rcode == dns.rcode.NOERROR


def test_many_concurrent_connections_are_served(server):
    socks = []
    try:
        for i in range(60):
            socks.append(tcp_connect(server.addr(4 if i % 2 else 6)))
        for i, s in enumerate(socks):
            s.sendall(tcp_frame(make_query("www.alpha.test.", "A", qid=i).to_wire()))
        for i, s in enumerate(socks):
            raw = tcp_read_message(s)
            assert struct.unpack("!H", raw[:2])[0] == i
    finally:
        for s in socks:
            s.close()


@pytest.fixture(scope="module")
def idle_server(make_zone_db, tmp_path_factory):
    d = Daemon(make_zone_db(), tmp_path_factory.mktemp("idle-log"),
               extra_args=["--tcp-idle-timeout", "1"], name="idle").start()
    yield d
    d.stop_and_check()


def test_silent_client_is_disconnected_after_idle_timeout(idle_server):
    with tcp_connect(idle_server.v4) as s:
        assert wait_closed(s, CLOSE_BOUND), "idle connection was never closed"
    with tcp_connect(idle_server.v6) as s:
        assert wait_closed(s, CLOSE_BOUND)
    # The server keeps answering afterwards.
    r = query_tcp(idle_server.v4, make_query("www.alpha.test.", "A"))
    assert r.answer == norm(["www.alpha.test. 3600 IN A 192.0.2.80"])
    r = query_udp(idle_server.v6, make_query("www.alpha.test.", "A"))
    assert r.answer == norm(["www.alpha.test. 3600 IN A 192.0.2.80"])


def test_client_stalling_mid_frame_is_disconnected(idle_server):
    with tcp_connect(idle_server.v4) as s:
        s.sendall(b"\x00\x30" + raw_query("www.alpha.test.")[:10])
        assert wait_closed(s, CLOSE_BOUND)
    r = query_tcp(idle_server.v4, make_query("mail.alpha.test.", "A"))
    assert r.rcode == dns.rcode.NOERROR


def test_connection_idle_after_an_answer_is_closed(idle_server):
    q = make_query("www.alpha.test.", "A", qid=0x7777)
    with tcp_connect(idle_server.v6) as s:
        s.sendall(tcp_frame(q.to_wire()))
        assert struct.unpack("!H", tcp_read_message(s)[:2])[0] == 0x7777
        assert wait_closed(s, CLOSE_BOUND)


def test_connections_over_the_client_limit_are_closed(make_zone_db, daemon_factory):
    d = daemon_factory(make_zone_db(), extra_args=["--tcp-max-clients", "2"], workers=1)
    held = []
    try:
        for i in range(2):
            s = tcp_connect(d.v4)
            held.append(s)
            s.sendall(tcp_frame(make_query("www.alpha.test.", "A", qid=i).to_wire()))
            assert struct.unpack("!H", tcp_read_message(s)[:2])[0] == i
        with tcp_connect(d.v4) as extra:
            assert wait_closed(extra, CLOSE_BOUND), "third connection was not refused"
        held.pop().close()
        # A slot is free again: eventually a new connection is served.
        deadline = time.monotonic() + CLOSE_BOUND
        while True:
            try:
                r = query_tcp(d.v4, make_query("www.alpha.test.", "A"), timeout=2)
                assert r.rcode == dns.rcode.NOERROR
                break
            except (ConnectionError, OSError):
                assert time.monotonic() < deadline, "no connection served after one closed"
                time.sleep(0.1)
    finally:
        for s in held:
            s.close()


def test_recv_exact_helper_reports_closed_connections():
    # Sanity check of the helper the other tests rely on.
    a, b = socket.socketpair()
    a.sendall(b"ab")
    a.close()
    with pytest.raises(ConnectionError):
        recv_exact(b, 3)
    b.close()
