"""
Abuse resistance, with real traffic on loopback: response rate limiting of UDP
answers (RRL), DNS cookies (RFC 7873, server cookies per RFC 9018), the TCP
per-source connection cap and slow clients, size caps on UDP answers, and no
recursion for names that are not ours.

Nothing here asserts on timing: floods are judged by what came back (and by
the daemon's own counters), slow clients by whether the server hung up before
they finished.
"""

import json
import select
import socket
import struct
import subprocess
import time

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest

from dnstest import (BIN, EDNS_PAYLOAD, ZONES_DIR, Reply, header, import_zone, make_query, norm,
                     opt_rr, query_tcp, query_udp, run_ctl, tcp_connect, tcp_frame,
                     tcp_read_message, udp_socket)

CLOSE_BOUND = 30.0           # generous: "the server hangs up eventually"
COOKIE = 10                  # the EDNS option code
BADCOOKIE = 23
WWW_A = norm(["www.alpha.test. 3600 IN A 192.0.2.80"])
CLIENT_COOKIE = bytes.fromhex("2464c4abcf10c957")


@pytest.fixture
def alpha_db(tmp_path):
    """A fresh database holding alpha.test (enough for every test here)."""
    d = tmp_path / "alpha-db"
    d.mkdir()
    import_zone(d, ZONES_DIR / "alpha.test.zone")
    return d


def status(db):
    r = run_ctl(db, "--json", "status")
    assert r.rc == 0, r
    return json.loads(r.stdout)


# --------------------------------------------------------------------------
# Helpers: floods, cookies
# --------------------------------------------------------------------------

def flood_udp(addr, wires, quiet=1.0):
    """Sends every datagram from one socket at once, then reads replies until
    none has come for `quiet` seconds.  Returns the parsed replies."""
    with udp_socket(addr) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        for w in wires:
            s.send(w)
        raw = []
        s.settimeout(quiet)
        try:
            while True:
                raw.append(s.recv(65535))
        except socket.timeout:
            pass
    return [Reply(r, None, "udp") for r in raw]


def same_query(n, qname="www.alpha.test.", qtype="A", **kw):
    return [make_query(qname, qtype, qid=i, **kw).to_wire() for i in range(n)]


def cookie_query(qname, qtype, cookie, qid=None, payload=EDNS_PAYLOAD):
    return make_query(qname, qtype, edns=0, payload=payload, qid=qid,
                      options=[dns.edns.GenericOption(COOKIE, cookie)])


def cookie_of(reply):
    """The COOKIE option's bytes in a reply, or None."""
    for opt in reply.msg.options:
        if opt.otype == COOKIE:
            if hasattr(opt, "client"):                 # dnspython >= 2.6: CookieOption
                return bytes(opt.client) + bytes(opt.server)
            return bytes(opt.data)
    return None


def full_rcode(reply):
    return reply.msg.rcode()


def is_slip(reply):
    """A slipped answer: TC set and nothing but the question (and OPT)."""
    return reply.tc and reply.counts[1:3] == (0, 0) and reply.answer == []


def _sip_round(v0, v1, v2, v3):
    m = 0xFFFFFFFFFFFFFFFF
    rotl = lambda x, b: ((x << b) | (x >> (64 - b))) & m
    v0 = (v0 + v1) & m; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
    v2 = (v2 + v3) & m; v3 = rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & m; v3 = rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & m; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
    return v0, v1, v2, v3


def siphash24(key, data):
    """SipHash-2-4, written from the paper, checked against RFC 9018 below."""
    k0, k1 = struct.unpack("<QQ", key)
    v = [k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d,
         k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573]
    tail = len(data) % 8
    blocks = [struct.unpack("<Q", data[i:i + 8])[0] for i in range(0, len(data) - tail, 8)]
    blocks.append(int.from_bytes(data[len(data) - tail:], "little") | ((len(data) & 0xFF) << 56))
    for m in blocks:
        v[3] ^= m
        v = list(_sip_round(*_sip_round(*v)))
        v[0] ^= m
    v[2] ^= 0xFF
    for _ in range(4):
        v = list(_sip_round(*v))
    return struct.pack("<Q", v[0] ^ v[1] ^ v[2] ^ v[3])


def rfc9018_cookie(secret, client, address, timestamp):
    head = client + b"\x01\x00\x00\x00" + struct.pack("!I", timestamp)
    return head[8:] + siphash24(secret, head + socket.inet_pton(
        socket.AF_INET6 if ":" in address else socket.AF_INET, address))


def test_siphash_helper_reproduces_the_rfc9018_example():
    # The test's own SipHash must be right before it judges the server's cookies.
    got = rfc9018_cookie(bytes.fromhex("e5e973e5a6b2a43f48e7dc849e37bfcf"), CLIENT_COOKIE,
                         "198.51.100.100", 1559731985)
    assert got.hex() == "010000005cf79f111f8130c3eee29480"


# --------------------------------------------------------------------------
# Response rate limiting
# --------------------------------------------------------------------------

def test_rrl_limits_a_udp_flood_and_slips_every_second_limited_answer(alpha_db, daemon_factory):
    d = daemon_factory(alpha_db, ["--rrl-rate", "10", "--rrl-slip", "2"], workers=1)
    n = 300
    replies = flood_udp(d.v4, same_query(n, edns=0))
    full = [r for r in replies if not r.tc]
    slips = [r for r in replies if r.tc]
    assert full and all(r.answer == WWW_A for r in full), full[:3]
    assert len(full) <= n // 3, f"{len(full)} of {n} answered in full at 10/s"
    assert slips, "no truncated answer: legitimate clients would have no way to retry"
    assert len(replies) < n, "every query was answered: nothing was dropped"
    for r in slips:
        assert is_slip(r) and r.rcode == dns.rcode.NOERROR and r.has_opt, r
        assert r.msg.question[0].name.to_text() == "www.alpha.test.", r
    st = status(alpha_db)["limits"]
    # One worker, one bucket: limited answers alternate drop, slip, drop, slip ...
    assert st["rrl_dropped"] - st["rrl_slipped"] in (0, 1), st
    assert st["rrl_slipped"] >= len(slips), st
    assert st["rrl_rate"] == 10
    text = run_ctl(alpha_db, "status").stdout
    assert f"{st['rrl_dropped']} UDP answers dropped, {st['rrl_slipped']} slipped" in text, text


def test_rrl_slip_0_drops_every_limited_answer(alpha_db, daemon_factory):
    d = daemon_factory(alpha_db, ["--rrl-rate", "10", "--rrl-slip", "0"], workers=1)
    replies = flood_udp(d.v4, same_query(200))
    assert replies and not any(r.tc for r in replies), "slip 0 must drop, not truncate"
    assert len(replies) <= 200 // 3
    assert status(alpha_db)["limits"]["rrl_slipped"] == 0


def test_rrl_limits_over_ipv6_too(alpha_db, daemon_factory):
    d = daemon_factory(alpha_db, ["--rrl-rate", "10", "--rrl-slip", "1"], workers=1)
    replies = flood_udp(d.v6, same_query(200))
    assert sum(not r.tc for r in replies) <= 200 // 3
    assert sum(is_slip(r) for r in replies) > 0


def test_rrl_never_limits_tcp(alpha_db, daemon_factory):
    d = daemon_factory(alpha_db, ["--rrl-rate", "5", "--rrl-slip", "1"], workers=1)
    # Exhaust the bucket over UDP: the client is now told to use TCP ...
    udp = flood_udp(d.v4, same_query(100))
    assert any(is_slip(r) for r in udp)
    # ... where every query is answered in full.
    queries = [make_query("www.alpha.test.", "A", qid=i) for i in range(100)]
    with tcp_connect(d.v4) as s:
        s.sendall(b"".join(tcp_frame(q.to_wire()) for q in queries))
        replies = [Reply(tcp_read_message(s), None, "tcp") for _ in queries]
    assert sorted(r.id for r in replies) == list(range(100))
    assert all(r.answer == WWW_A and not r.tc for r in replies)


def test_rrl_rate_0_answers_every_query_in_full(alpha_db, daemon_factory):
    d = daemon_factory(alpha_db, ["--rrl-rate", "0"], workers=1)
    n = 300
    replies = flood_udp(d.v4, same_query(n, edns=0))
    assert len(replies) == n
    assert all(r.answer == WWW_A and not r.tc for r in replies)
    st = status(alpha_db)["limits"]
    assert (st["rrl_rate"], st["rrl_dropped"], st["rrl_slipped"]) == (0, 0, 0), st
    assert "(off: --rrl-rate 0)" in run_ctl(alpha_db, "status").stdout


def test_rrl_is_on_by_default(alpha_db, daemon_factory):
    d = daemon_factory(alpha_db, workers=1)
    assert status(alpha_db)["limits"]["rrl_rate"] == 200
    replies = flood_udp(d.v4, same_query(1000))
    assert sum(not r.tc for r in replies) < 1000
    assert status(alpha_db)["limits"]["rrl_dropped"] > 0


def test_rrl_other_names_are_not_limited_by_a_flood_of_one(alpha_db, daemon_factory):
    d = daemon_factory(alpha_db, ["--rrl-rate", "10", "--rrl-slip", "0"], workers=1)
    flood_udp(d.v4, same_query(200))
    r = query_udp(d.v4, make_query("mail.alpha.test.", "A"))
    assert r.answer == norm(["mail.alpha.test. 3600 IN A 192.0.2.25"]), r


@pytest.mark.parametrize("pattern, rcode", [
    ("r{}.wild.alpha.test.", dns.rcode.NOERROR),      # synthesized by *.wild: one bucket
    ("nx{}.alpha.test.", dns.rcode.NXDOMAIN),         # NXDOMAIN: one bucket per zone
    ("www{}.example.invalid.", dns.rcode.REFUSED),    # errors: one bucket per network
])
def test_rrl_random_names_share_one_limit(alpha_db, daemon_factory, pattern, rcode):
    d = daemon_factory(alpha_db, ["--rrl-rate", "10", "--rrl-slip", "0"], workers=1)
    n = 200
    wires = [make_query(pattern.format(i), "A", qid=i).to_wire() for i in range(n)]
    replies = flood_udp(d.v4, wires)
    assert replies and all(r.rcode == rcode for r in replies), replies[:2]
    assert len(replies) <= n // 3, f"{len(replies)} of {n} random names answered at 10/s"


# --------------------------------------------------------------------------
# DNS cookies
# --------------------------------------------------------------------------

def test_kdig_cookie_gets_a_24_byte_cookie_back(server, kdig):
    for transport in ([], ["+tcp"]):
        p = kdig("+cookie", "www.alpha.test.", "A", *transport)
        assert p.returncode == 0, p.stderr
        cookie = [line.split()[-1] for line in p.stdout.splitlines() if "COOKIE:" in line]
        assert cookie, p.stdout
        assert len(cookie[0]) == 48 and cookie[0][16:18] == "01", p.stdout
        assert "NOERROR" in p.stdout and "192.0.2.80" in p.stdout


def test_dig_finds_the_returned_client_cookie_good(server, dig):
    p = dig("+cookie", "www.alpha.test.", "A")
    assert "(good)" in p.stdout, p.stdout


@pytest.mark.parametrize("proto, family", [("udp", 4), ("udp", 6), ("tcp", 4), ("tcp", 6)])
def test_client_cookie_alone_gets_client_and_server_cookie(server, proto, family):
    ask = query_udp if proto == "udp" else query_tcp
    r = ask(server.addr(family), cookie_query("www.alpha.test.", "A", CLIENT_COOKIE))
    assert r.rcode == dns.rcode.NOERROR and r.answer == WWW_A, r
    c = cookie_of(r)
    assert c is not None and len(c) == 24, r
    assert c[:8] == CLIENT_COOKIE
    assert c[8] == 1 and c[9:12] == b"\x00\x00\x00", c.hex()     # RFC 9018 version 1
    assert abs(struct.unpack("!I", c[12:16])[0] - time.time()) < 600


def test_returned_server_cookie_is_accepted_and_echoed(server):
    first = query_udp(server.v4, cookie_query("www.alpha.test.", "A", CLIENT_COOKIE))
    full = cookie_of(first)
    for ask in (query_udp, query_tcp):
        r = ask(server.v4, cookie_query("mail.alpha.test.", "A", full))
        assert r.rcode == dns.rcode.NOERROR and r.answer, r
        assert cookie_of(r) == full, "a fresh valid cookie is returned as it came"


def test_cookie_from_another_address_is_replaced_not_refused(server):
    c = cookie_of(query_udp(server.v4, cookie_query("www.alpha.test.", "A", CLIENT_COOKIE)))
    r = query_udp(server.v6, cookie_query("www.alpha.test.", "A", c))   # ::1, not 127.0.0.1
    assert r.rcode == dns.rcode.NOERROR and r.answer == WWW_A, r       # cookies are not enforced
    got = cookie_of(r)
    assert got[:8] == CLIENT_COOKIE and got[8:] != c[8:], "a cookie bound to another address"


@pytest.mark.parametrize("length", [1, 7, 9, 15, 41, 48])
@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_cookie_option_of_a_malformed_length_is_formerr(server, proto, length):
    ask = query_udp if proto == "udp" else query_tcp
    q = cookie_query("www.alpha.test.", "A", bytes(range(length)))
    r = ask(server.v4, q)
    assert r.rcode == dns.rcode.FORMERR and r.answer == [], r
    assert r.has_opt and cookie_of(r) is None, r


@pytest.mark.parametrize("length", [8, 16, 24, 40])
def test_cookie_option_of_a_valid_length_is_answered(server, length):
    r = query_udp(server.v4, cookie_query("www.alpha.test.", "A", CLIENT_COOKIE + bytes(length - 8)))
    assert r.rcode == dns.rcode.NOERROR and r.answer == WWW_A, r
    assert len(cookie_of(r)) == 24


def cookie_only_query(cookie, qid=0x0C0C):
    """A query with no question, only a COOKIE option (RFC 7873 5.4)."""
    opt = opt_rr(rdata=struct.pack("!HH", COOKIE, len(cookie)) + cookie)
    return header(qid, 0, qd=0, ar=1) + opt


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_query_for_a_server_cookie_alone(server, proto):
    ask = query_udp if proto == "udp" else query_tcp
    r = ask(server.v4, cookie_only_query(CLIENT_COOKIE))
    assert r.rcode == dns.rcode.NOERROR and r.counts == (0, 0, 0, 1), r
    good = cookie_of(r)
    assert len(good) == 24 and good[:8] == CLIENT_COOKIE
    # Presenting it again confirms it: NOERROR.  A bad one: BADCOOKIE and a good one.
    assert full_rcode(ask(server.v4, cookie_only_query(good))) == dns.rcode.NOERROR
    bad = good[:16] + bytes(8)
    r = ask(server.v4, cookie_only_query(bad))
    assert full_rcode(r) == BADCOOKIE, r
    assert cookie_of(r)[:8] == CLIENT_COOKIE and cookie_of(r)[16:] != bytes(8)
    # Without a cookie, a query without a question stays FORMERR.
    r = ask(server.v4, header(0x0C0D, 0, qd=0, ar=1) + opt_rr())
    assert r.rcode == dns.rcode.FORMERR, r


def test_answer_with_a_cookie_still_fits_the_client_payload(server):
    # medium is about 930 bytes: with a 1000-byte payload it fits, or not once
    # the cookie is added; either way the answer stays within 1000 bytes.
    for payload in (512, 960, 1000):
        r = query_udp(server.v4, cookie_query("medium.alpha.test.", "TXT", CLIENT_COOKIE,
                                              payload=payload))
        assert len(r.raw) <= payload, r
        assert len(cookie_of(r)) == 24, r


def test_cookie_secret_file_makes_rfc9018_cookies_shared_by_servers(tmp_path, alpha_db,
                                                                  daemon_factory):
    secret = bytes.fromhex("e5e973e5a6b2a43f48e7dc849e37bfcf")
    path = tmp_path / "cookie.secret"
    path.write_text("# shared by ns1 and ns2\n" + secret.hex() + "\n")
    path.chmod(0o600)
    other_db = tmp_path / "other-db"
    other_db.mkdir()
    import_zone(other_db, ZONES_DIR / "alpha.test.zone")
    ns1 = daemon_factory(alpha_db, ["--cookie-secret-file", str(path)], workers=1)
    ns2 = daemon_factory(other_db, ["--cookie-secret-file", str(path)], workers=1)
    c = cookie_of(query_udp(ns1.v4, cookie_query("www.alpha.test.", "A", CLIENT_COOKIE)))
    stamp = struct.unpack("!I", c[12:16])[0]
    assert c[8:] == rfc9018_cookie(secret, CLIENT_COOKIE, "127.0.0.1", stamp)
    # The other server accepts it as its own: valid and recent, so echoed unchanged.
    assert cookie_of(query_udp(ns2.v4, cookie_query("www.alpha.test.", "A", c))) == c
    # Over IPv6 the cookie covers ::1.
    c6 = cookie_of(query_udp(ns2.v6, cookie_query("www.alpha.test.", "A", CLIENT_COOKIE)))
    stamp6 = struct.unpack("!I", c6[12:16])[0]
    assert c6[8:] == rfc9018_cookie(secret, CLIENT_COOKIE, "::1", stamp6)


def test_cookie_secret_file_that_is_not_one_stops_the_start(tmp_path, alpha_db):
    path = tmp_path / "cookie.secret"
    path.write_text("not-a-secret\n")
    p = subprocess.run([BIN["certdnsd"], "--db", str(alpha_db), "--listen", "127.0.0.1:1",
                        "--cookie-secret-file", str(path)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode != 0
    assert str(path) in p.stderr and "32 hex digits" in p.stderr, p.stderr


def test_valid_server_cookie_exempts_from_rate_limiting(alpha_db, daemon_factory):
    d = daemon_factory(alpha_db, ["--rrl-rate", "5", "--rrl-slip", "2"], workers=1)
    cookie = cookie_of(query_udp(d.v4, cookie_query("mail.alpha.test.", "A", CLIENT_COOKIE)))
    n = 200
    replies = flood_udp(d.v4, [cookie_query("www.alpha.test.", "A", cookie, qid=i).to_wire()
                               for i in range(n)])
    assert len(replies) == n, f"{n - len(replies)} answers with a valid cookie were dropped"
    assert all(r.answer == WWW_A and not r.tc for r in replies)


def test_rate_limited_client_with_a_cookie_gets_badcookie_slips_to_retry_with(alpha_db,
                                                                           daemon_factory):
    d = daemon_factory(alpha_db, ["--rrl-rate", "5", "--rrl-slip", "1"], workers=1)
    n = 100
    replies = flood_udp(d.v4, [cookie_query("www.alpha.test.", "A", CLIENT_COOKIE, qid=i).to_wire()
                               for i in range(n)])
    slips = [r for r in replies if full_rcode(r) == BADCOOKIE]
    assert slips and sum(r.rcode == dns.rcode.NOERROR for r in replies) <= n // 3
    for r in slips:
        assert not r.tc and r.answer == [], r
    # The slip carries a server cookie: with it the client is answered again.
    cookie = cookie_of(slips[-1])
    assert cookie[:8] == CLIENT_COOKIE
    r = query_udp(d.v4, cookie_query("www.alpha.test.", "A", cookie))
    assert r.answer == WWW_A and not r.tc, r


# --------------------------------------------------------------------------
# TCP: connections per source, slow clients
# --------------------------------------------------------------------------

def closed_unanswered(sock, bound=CLOSE_BOUND):
    """True when the server closes the connection without having sent anything."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65535)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return True
        return chunk == b""
    return False


def served(sock, qid):
    sock.sendall(tcp_frame(make_query("www.alpha.test.", "A", qid=qid).to_wire()))
    return struct.unpack("!H", tcp_read_message(sock)[:2])[0] == qid


def hold_connections(addr, n):
    """n served connections from one address.  The daemon's readiness probes may
    still hold a slot for a moment after start: retry until they are gone."""
    for _attempt in range(100):
        socks = []
        try:
            for i in range(n):
                s = tcp_connect(addr, timeout=5)
                socks.append(s)
                if not served(s, i):
                    raise ConnectionError("wrong answer")
            return socks
        except (ConnectionError, OSError):
            for s in socks:
                s.close()
            time.sleep(0.1)
    raise AssertionError(f"could not hold {n} connections")


def test_tcp_connections_over_the_per_source_cap_are_closed(alpha_db, daemon_factory):
    d = daemon_factory(alpha_db, ["--tcp-max-per-source", "3"], workers=2)
    held = hold_connections(d.v4, 3)
    try:
        with tcp_connect(d.v4) as extra:
            extra.sendall(tcp_frame(make_query("www.alpha.test.", "A", qid=9).to_wire()))
            assert closed_unanswered(extra), "a fourth connection from 127.0.0.1 was served"
        # Another source (::1) is not affected.
        with tcp_connect(d.v6) as other:
            assert served(other, 7)
        assert status(alpha_db)["limits"]["tcp_refused_per_source"] >= 1
        # Once one closes, the source may connect again.
        held.pop().close()
        deadline = time.monotonic() + CLOSE_BOUND
        while True:
            try:
                with tcp_connect(d.v4) as again:
                    assert served(again, 8)
                break
            except (ConnectionError, OSError):
                assert time.monotonic() < deadline, "the freed slot was never given back"
                time.sleep(0.1)
    finally:
        for s in held:
            s.close()


def test_tcp_per_source_cap_is_32_by_default_and_0_lifts_it(tmp_path, alpha_db,
                                                            daemon_factory):
    d = daemon_factory(alpha_db, workers=2)
    held = hold_connections(d.v4, 32)
    try:
        with tcp_connect(d.v4) as extra:
            extra.sendall(tcp_frame(make_query("www.alpha.test.", "A", qid=99).to_wire()))
            assert closed_unanswered(extra), "a 33rd connection from one address was served"
    finally:
        for s in held:
            s.close()
    other_db = tmp_path / "other-db"
    other_db.mkdir()
    import_zone(other_db, ZONES_DIR / "alpha.test.zone")
    d = daemon_factory(other_db, ["--tcp-max-per-source", "0"], workers=1)
    for s in hold_connections(d.v4, 40):
        s.close()


def test_client_trickling_one_byte_at_a_time_is_cut_off(alpha_db, daemon_factory):
    d = daemon_factory(alpha_db, ["--tcp-idle-timeout", "1"], workers=1)
    frame = tcp_frame(make_query("www.alpha.test.", "A", qid=0x5105).to_wire())
    sent = 0
    closed = False
    with tcp_connect(d.v4) as s:
        # A byte every 0.3 s: never idle for the 1 s timeout, yet the message takes
        # over 10 s.  Partial messages must not extend the deadline.
        for b in frame:
            try:
                s.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            sent += 1
            readable, _, _ = select.select([s], [], [], 0.3)
            if readable:
                try:
                    data = s.recv(65535)
                except ConnectionResetError:
                    data = b""
                assert data == b"", "the trickled query was answered"
                closed = True
                break
    assert closed, "a client trickling bytes kept its connection for a whole message"
    assert sent < len(frame)


TCP_INFO_STATE_ESTABLISHED = 1


def still_established(sock):
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    return info[0] == TCP_INFO_STATE_ESTABLISHED


def test_client_that_never_reads_its_answers_is_cut_off(alpha_db, daemon_factory):
    d = daemon_factory(alpha_db, ["--tcp-idle-timeout", "1"], workers=1)
    # Each answer is about 8.5 KB: the socket buffers fill after a few hundred.
    batch = b"".join(tcp_frame(make_query("big.alpha.test.", "TXT", qid=i).to_wire())
                     for i in range(50))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(d.v4)
    s.setblocking(False)
    cut = False
    deadline = time.monotonic() + 60
    pending = batch
    try:
        while time.monotonic() < deadline:
            if not still_established(s):
                cut = True
                break
            try:
                n = s.send(pending)
                pending = pending[n:] or batch
            except BlockingIOError:
                time.sleep(0.05)          # the server stopped reading us: wait
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
    finally:
        s.close()
    assert cut, "a client that never reads kept its connection for a minute"
    # It was cut because the server stopped reading it once answers piled up
    # (a few hundred fill the socket buffers), not after queueing answers without end.
    served_tcp = status(alpha_db)["queries"]["tcp"]
    assert served_tcp < 5000, f"{served_tcp} queries read from a client that took no answer"
    # The server still serves others.
    assert query_tcp(d.v4, make_query("www.alpha.test.", "A")).answer == WWW_A


# --------------------------------------------------------------------------
# Amplification: size caps, no recursion
# --------------------------------------------------------------------------

SIZE_CASES = [
    ("big.alpha.test.", "TXT"),          # ~8.5 KB: truncated
    ("medium.alpha.test.", "TXT"),       # ~930 bytes
    ("alpha.test.", "ANY"),
    ("alpha.test.", "NS"),
    ("host.sub.alpha.test.", "A"),       # a referral with glue
    ("nx.alpha.test.", "TXT"),
    ("www.example.invalid.", "ANY"),
]


@pytest.mark.parametrize("qname, qtype", SIZE_CASES)
def test_udp_answers_never_exceed_512_without_edns_nor_the_edns_payload(server, qname, qtype):
    r = query_udp(server.v4, make_query(qname, qtype))
    assert len(r.raw) <= 512, r
    for payload in (512, 700, 1232, 4096, 65535):
        for options in ([], [dns.edns.GenericOption(COOKIE, CLIENT_COOKIE)]):
            q = make_query(qname, qtype, edns=0, payload=payload, options=options)
            r = query_udp(server.v6, q)
            assert len(r.raw) <= min(payload, EDNS_PAYLOAD), (payload, options, r)


@pytest.mark.parametrize("qname, qtype", [
    ("www.example.com.", "A"), ("example.com.", "ANY"), (".", "NS"), ("com.", "DNSKEY"),
    ("1.0.0.127.in-addr.arpa.", "PTR"),
])
@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_recursion_desired_for_foreign_names_is_refused_never_recursed(server, proto, qname,
                                                                      qtype):
    q = make_query(qname, qtype, rd=True, edns=0)
    wire = q.to_wire()
    r = (query_udp if proto == "udp" else query_tcp)(server.v4, wire)
    assert r.rcode == dns.rcode.REFUSED, r
    assert not r.ra and r.rd, r
    assert r.answer == [] and r.authority == [] and r.additional == [], r
    assert len(r.raw) <= len(wire), "a refusal larger than the query amplifies"
