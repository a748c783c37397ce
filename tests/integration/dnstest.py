"""
Helpers for the certdns integration suite: starting certdnsd, running
certdnsctl, and talking DNS to the daemon with exact control of the wire.

The fixtures in conftest.py build on these; test modules import what they
need from here (pytest puts this directory on sys.path).
"""

import os
import random
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

HERE = Path(__file__).resolve().parent
ZONES_DIR = HERE / "zones"
SRCDIR = Path(os.environ.get("CERTDNS_SRCDIR") or HERE.parent.parent).resolve()
CERTDNSD = os.environ.get("CERTDNSD") or str(SRCDIR / "certdnsd")
CERTDNSCTL = os.environ.get("CERTDNSCTL") or str(SRCDIR / "certdnsctl")

# The programs the suite runs: private copies made at session start (see
# use_private_copies), so that a rebuild of the tree during the run cannot
# swap a binary under a test, and a `pkill certdnsd` elsewhere on the machine
# does not stop our daemons.  Until then, the built files themselves.
BIN = {"certdnsd": CERTDNSD, "certdnsctl": CERTDNSCTL}


def use_private_copies(directory):
    import shutil
    for name, src, copy_name in (("certdnsd", CERTDNSD, "cdnsd-under-test"),
                                 ("certdnsctl", CERTDNSCTL, "cdnsctl-under-test")):
        dst = os.path.join(directory, copy_name)
        for attempt in range(20):
            try:
                shutil.copy2(src, dst)
                subprocess.run([dst, "--version"], capture_output=True, timeout=10, check=True)
                break
            except (OSError, subprocess.SubprocessError):
                if attempt == 19:
                    raise
                time.sleep(0.5)     # being rebuilt right now: try again
        BIN[name] = dst

# What a sanitizer build prints when it finds something.
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "WARNING: AddressSanitizer",
    "runtime error:",
    "UndefinedBehaviorSanitizer",
    "ThreadSanitizer",
    "MemorySanitizer",
)

# Generous upper bounds for liveness only; nothing asserts on speed.
QUERY_TIMEOUT = 5.0
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

EDNS_PAYLOAD = 1232   # what certdnsd advertises by default


# --------------------------------------------------------------------------
# certdnsctl
# --------------------------------------------------------------------------

class CtlResult:
    def __init__(self, args, rc, stdout, stderr):
        self.args = args
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self):
        return (f"CtlResult(args={self.args!r}, rc={self.rc}, stdout={self.stdout!r}, "
                f"stderr={self.stderr!r})")


def run_ctl(db_dir, *args, timeout=120):
    """Runs certdnsctl --db DB_DIR ARGS...; returns rc, stdout, stderr."""
    argv = [BIN["certdnsctl"]]
    if db_dir is not None:
        argv += ["--db", str(db_dir)]
    argv += [str(a) for a in args]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    # Also where the test expects the command to fail: a sanitizer report is never expected.
    assert_no_sanitizer_errors(p.stderr)
    return CtlResult(argv, p.returncode, p.stdout, p.stderr)


def import_zone(db_dir, path, *extra):
    r = run_ctl(db_dir, "zone", "import", path, *extra)
    assert r.rc == 0, f"importing {path} failed: {r}"
    return r


# --------------------------------------------------------------------------
# certdnsd
# --------------------------------------------------------------------------

def _port_is_free(port):
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(family, kind)
            try:
                if family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((host, port))
            except OSError:
                return False
            finally:
                s.close()
    return True


def pick_free_port():
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randint(20000, 60999)
        if _port_is_free(port):
            return port
    raise RuntimeError("no free loopback port found")


class Daemon:
    """A certdnsd process on a random loopback port, on 127.0.0.1 and [::1]."""

    def __init__(self, db_dir, log_dir, extra_args=(), workers=2, name="certdnsd"):
        self.db_dir = Path(db_dir)
        self.log_path = Path(log_dir) / f"{name}.log"
        self.extra_args = list(extra_args)
        self.workers = workers
        self.proc = None
        self.port = None
        self.returncode = None

    @property
    def v4(self):
        return ("127.0.0.1", self.port)

    @property
    def v6(self):
        return ("::1", self.port)

    def addr(self, family=4):
        return self.v4 if family == 4 else self.v6

    def argv(self, port):
        return [BIN["certdnsd"], "--db", str(self.db_dir),
                "--listen", f"127.0.0.1:{port}", "--listen", f"[::1]:{port}",
                "--workers", str(self.workers)] + self.extra_args

    families = (4, 6)   # the address families _wait_ready probes

    def pick_port(self):
        return pick_free_port()

    def start(self):
        last_log = ""
        for _attempt in range(5):
            port = self.pick_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(self.argv(port), stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=subprocess.STDOUT)
            self.port = port
            if self._wait_ready():
                return self
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            last_log = self.log()
            if "in use" not in last_log:
                break
        raise RuntimeError(f"certdnsd did not start; log:\n{last_log}")

    def _wait_ready(self):
        """Polls until the daemon answers over UDP and TCP on each of self.families."""
        deadline = time.monotonic() + START_TIMEOUT
        probe = make_query("ready.probe.invalid.", "SOA").to_wire()
        pending = {(family, proto) for family in self.families for proto in ("udp", "tcp")}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            for family, proto in sorted(pending):
                try:
                    if proto == "udp":
                        udp_exchange(self.addr(family), probe, timeout=0.2)
                    else:
                        tcp_exchange(self.addr(family), probe, timeout=0.5)
                    pending.discard((family, proto))
                except (OSError, TimeoutError):
                    pass
            if not pending:
                return True
            time.sleep(0.05)
        return False

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=40):
        """
        The end of the log, for assertion messages (repeated lines collapsed); from
        the first sanitizer report on when there is one (its top is what matters).
        """
        text = self.log()
        report = sanitizer_report(text)
        if report:
            return report
        out = []
        for line in text.splitlines():
            text = line.split(" ", 1)[-1]
            if out and out[-1][0] == text:
                out[-1][1] += 1
            else:
                out.append([text, 1])
        shown = [t if n == 1 else f"{t}   [x{n}]" for t, n in out[-lines:]]
        return "\n".join(shown)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        """Signals the daemon and waits; returns its exit status (None: hung, killed)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.returncode = self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = None
        else:
            self.returncode = self.proc.returncode
        return self.returncode

    def assert_clean_exit(self, rc):
        assert rc is not None, \
            f"certdnsd did not exit within {STOP_TIMEOUT}s of SIGTERM:\n{self.log_tail()}"
        assert rc == 0, f"certdnsd exited with status {rc}:\n{self.log_tail()}"
        assert_no_sanitizer_errors(self.log())

    def stop_and_check(self):
        rc = self.stop()
        self.assert_clean_exit(rc)


def stop_all_and_check(daemons):
    """Stops every daemon, then fails listing each that did not exit cleanly."""
    failures = []
    for d in daemons:
        rc = d.stop()
        try:
            d.assert_clean_exit(rc)
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, "\n".join(failures)


def wait_until(what, check, timeout=60.0, interval=0.1, details=lambda: ""):
    """Polls check() until it returns something true; returns it, or fails the test
    with the last value or exception and details()."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = check()
        except Exception as e:    # noqa: BLE001 - reported below if it never succeeds
            last = e
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})\n"
                        f"{details()}")
        time.sleep(interval)


def sanitizer_report(text, limit=20000):
    """The text from a few lines before the first sanitizer report on, or ''."""
    first = min((i for i in (text.find(m) for m in SANITIZER_MARKERS) if i >= 0), default=-1)
    if first < 0:
        return ""
    start = first
    for _ in range(6):          # a little context: what the program said just before
        start = text.rfind("\n", 0, max(start - 1, 0)) + 1
        if start == 0:
            break
    return text[start:start + limit]


def assert_no_sanitizer_errors(text):
    found = [m for m in SANITIZER_MARKERS if m in text]
    assert not found, f"sanitizer reported {found}:\n{text[-20000:]}"


# --------------------------------------------------------------------------
# Building queries
# --------------------------------------------------------------------------

def make_query(qname, qtype, qclass="IN", *, edns=None, payload=EDNS_PAYLOAD, do=False,
               rd=False, qid=None, options=None):
    """A dnspython query with RD off unless asked; edns None/False: no OPT, or a version."""
    if isinstance(qname, str):
        qname = dns.name.from_text(qname)
    if edns is True:
        edns = 0
    use_edns = edns if edns is not None and edns is not False else False
    if do and use_edns is False:
        use_edns = 0
    q = dns.message.make_query(qname, qtype, qclass, use_edns=use_edns, payload=payload,
                               want_dnssec=do, options=options)
    if use_edns is not False and use_edns > 0:
        # make_query treats 1 like True (EDNS0): set the version explicitly.
        q.use_edns(use_edns, ednsflags=q.ednsflags, payload=payload, options=options)
    if not rd:
        q.flags &= ~dns.flags.RD
    else:
        q.flags |= dns.flags.RD
    q.id = random.randint(0, 0xFFFF) if qid is None else qid
    return q


def header(qid=0x1234, flags=0, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def encode_name(text):
    """Uncompressed wire form of a dotted name, case preserved, no checks."""
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            raw = label.encode()
            out += bytes([len(raw)]) + raw
    return out + b"\x00"


def raw_query(qname="www.alpha.test.", qtype=1, qclass=1, qid=0x1234, flags=0, tail=b""):
    """A query built by hand: header, one question, then tail as additional data."""
    qn = qname if isinstance(qname, bytes) else encode_name(qname)
    return header(qid, flags) + qn + struct.pack("!HH", qtype, qclass) + tail


def opt_rr(payload=EDNS_PAYLOAD, ext_rcode=0, version=0, flags=0, rdata=b"", owner=b"\x00"):
    return owner + struct.pack("!HHBBHH", 41, payload, ext_rcode, version, flags,
                               len(rdata)) + rdata


def question_bytes(wire):
    """The raw question section of a one-question message."""
    pos = 12
    while True:
        n = wire[pos]
        if n == 0:
            pos += 1
            break
        if n & 0xC0:
            pos += 2
            break
        pos += 1 + n
    return wire[12:pos + 4]


# --------------------------------------------------------------------------
# Transport
# --------------------------------------------------------------------------

def _family(addr):
    return socket.AF_INET6 if ":" in addr[0] else socket.AF_INET


def udp_socket(addr, timeout=QUERY_TIMEOUT):
    s = socket.socket(_family(addr), socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.connect(addr)
    return s


def udp_exchange(addr, data, timeout=QUERY_TIMEOUT, qid=None):
    """Sends one datagram and returns the first reply whose id matches."""
    if qid is None and len(data) >= 2:
        qid = struct.unpack("!H", data[:2])[0]
    with udp_socket(addr, timeout) as s:
        s.send(data)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no UDP answer from {addr}")
            s.settimeout(left)
            try:
                reply = s.recv(65535)
            except socket.timeout:
                raise TimeoutError(f"no UDP answer from {addr}") from None
            if qid is None or (len(reply) >= 2 and struct.unpack("!H", reply[:2])[0] == qid):
                return reply


def udp_collect(addr, datagrams, probe, timeout=QUERY_TIMEOUT, drain=0.05):
    """
    Sends datagrams, then the probe, on one socket; returns every reply received
    up to and including the probe's answer, and the probe's answer.  Replies the
    server sends to the datagrams arrive before the probe's answer, since one
    socket is served in order; a short extra drain catches any straggler.
    """
    probe_id = struct.unpack("!H", probe[:2])[0]
    got = []
    with udp_socket(addr, timeout) as s:
        for d in datagrams:
            s.send(d)
        s.send(probe)
        deadline = time.monotonic() + timeout
        answer = None
        while answer is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the server did not answer the probe query")
            s.settimeout(left)
            try:
                r = s.recv(65535)
            except socket.timeout:
                raise TimeoutError("the server did not answer the probe query") from None
            if len(r) >= 2 and struct.unpack("!H", r[:2])[0] == probe_id and len(r) > 12 \
                    and r[12:12 + len(question_bytes(probe))] == question_bytes(probe):
                answer = r
            else:
                got.append(r)
        s.settimeout(drain)
        try:
            while True:
                got.append(s.recv(65535))
        except (socket.timeout, BlockingIOError):
            pass
    return got, answer


def tcp_connect(addr, timeout=QUERY_TIMEOUT):
    s = socket.socket(_family(addr), socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(addr)
    return s


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def tcp_frame(data):
    return struct.pack("!H", len(data)) + data


def tcp_read_message(sock):
    (n,) = struct.unpack("!H", recv_exact(sock, 2))
    return recv_exact(sock, n)


def tcp_exchange(addr, data, timeout=QUERY_TIMEOUT):
    with tcp_connect(addr, timeout) as s:
        s.sendall(tcp_frame(data))
        return tcp_read_message(s)


def wait_closed(sock, bound):
    """True when the peer closes the connection within bound seconds (data is drained)."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65535)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return True
        if not chunk:
            return True
    return False


# --------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------

_NAME_TYPES = {"NS", "CNAME", "MX", "SOA", "SRV", "PTR", "DNAME"}


def rr_line(name, ttl, rdclass, rdtype, rdata_text):
    t = rdtype.upper()
    rd = rdata_text.lower() if t in _NAME_TYPES else rdata_text
    return f"{name.lower()} {ttl} {rdclass.upper()} {t} {rd}"


def section_lines(section):
    """One normalised 'owner ttl class type rdata' line per RR, in wire order."""
    out = []
    for rrset in section:
        for rd in rrset:
            out.append(rr_line(rrset.name.to_text(), rrset.ttl,
                               dns.rdataclass.to_text(rrset.rdclass),
                               dns.rdatatype.to_text(rrset.rdtype), rd.to_text()))
    return out


def norm(lines):
    """Normalises expected records given as zone-file lines with absolute names."""
    out = []
    for line in lines:
        name, ttl, rdclass, rdtype, rdata = line.split(None, 4)
        rrset = dns.rrset.from_text(name, int(ttl), rdclass, rdtype, rdata)
        out.extend(section_lines([rrset]))
    return out


class Reply:
    """A parsed response plus its raw bytes; sections as normalised lines."""

    def __init__(self, raw, query_wire=None, proto=None):
        self.raw = raw
        self.query_wire = query_wire
        self.proto = proto
        self.msg = dns.message.from_wire(raw, one_rr_per_rrset=True)

    @property
    def id(self):
        return self.msg.id

    @property
    def rcode(self):
        return self.msg.rcode()

    @property
    def opcode(self):
        return self.msg.opcode()

    @property
    def flags(self):
        return self.msg.flags

    def flag(self, f):
        return bool(self.msg.flags & f)

    @property
    def qr(self):
        return self.flag(dns.flags.QR)

    @property
    def aa(self):
        return self.flag(dns.flags.AA)

    @property
    def tc(self):
        return self.flag(dns.flags.TC)

    @property
    def rd(self):
        return self.flag(dns.flags.RD)

    @property
    def ra(self):
        return self.flag(dns.flags.RA)

    @property
    def answer(self):
        return section_lines(self.msg.answer)

    @property
    def authority(self):
        return section_lines(self.msg.authority)

    @property
    def additional(self):
        """Additional records without the OPT pseudo-record."""
        return section_lines(self.msg.additional)

    @property
    def counts(self):
        return struct.unpack("!HHHH", self.raw[4:12])

    @property
    def has_opt(self):
        return self.msg.edns >= 0

    def __repr__(self):
        return f"Reply({len(self.raw)} bytes via {self.proto}):\n{self.msg.to_text()}"


def check_common(reply, query_wire, query_has_edns):
    """What every answer to a well-formed query must satisfy."""
    assert reply.qr, reply
    assert reply.id == struct.unpack("!H", query_wire[:2])[0], reply
    assert reply.opcode == (query_wire[2] >> 3) & 0x0F, reply
    assert not reply.ra, f"RA set by an authoritative-only server: {reply}"
    # The question is echoed byte for byte (case preserved).
    assert reply.counts[0] == 1, reply
    assert question_bytes(reply.raw) == question_bytes(query_wire), reply
    assert reply.rd == bool(query_wire[2] & 0x01), f"RD not copied: {reply}"
    if query_has_edns:
        assert reply.has_opt, f"query had EDNS, answer has no OPT: {reply}"
        assert reply.msg.edns == 0, reply
        assert reply.msg.payload == EDNS_PAYLOAD, reply
    else:
        assert not reply.has_opt, f"query had no EDNS, answer has OPT: {reply}"
    if reply.proto == "tcp":
        assert not reply.tc, f"TC over TCP: {reply}"


def query_udp(addr, q, timeout=QUERY_TIMEOUT):
    wire = q if isinstance(q, (bytes, bytearray)) else q.to_wire()
    raw = udp_exchange(addr, bytes(wire), timeout=timeout)
    return Reply(raw, wire, "udp")


def query_tcp(addr, q, timeout=QUERY_TIMEOUT):
    wire = q if isinstance(q, (bytes, bytearray)) else q.to_wire()
    raw = tcp_exchange(addr, bytes(wire), timeout=timeout)
    return Reply(raw, wire, "tcp")


class Transport:
    """One way of asking: protocol, address family, with or without EDNS."""

    def __init__(self, proto, edns, family):
        self.proto = proto
        self.edns = edns
        self.family = family

    @property
    def id(self):
        return f"{self.proto}{self.family}-{'edns' if self.edns else 'noedns'}"

    @property
    def udp_limit(self):
        return EDNS_PAYLOAD if self.edns else 512

    def ask(self, server, qname, qtype="A", qclass="IN", rd=False, do=False, payload=None,
            check=True):
        q = make_query(qname, qtype, qclass, edns=0 if self.edns else None,
                       payload=payload or EDNS_PAYLOAD, do=do and self.edns, rd=rd)
        wire = q.to_wire()
        addr = server.addr(self.family)
        if self.proto == "udp":
            reply = query_udp(addr, wire)
            assert len(reply.raw) <= self.udp_limit, reply
        else:
            reply = query_tcp(addr, wire)
        if check:
            check_common(reply, wire, self.edns)
        return reply


TRANSPORTS = [
    Transport("udp", False, 4),
    Transport("udp", True, 6),
    Transport("tcp", False, 6),
    Transport("tcp", True, 4),
]


def expect(reply, *, rcode=dns.rcode.NOERROR, aa=None, tc=False, answer=None,
           authority=None, additional=None, ordered=False):
    """Asserts rcode, flags and exact section contents (lists of zone-file lines)."""
    assert reply.rcode == rcode, \
        f"rcode {dns.rcode.to_text(reply.rcode)}, want {dns.rcode.to_text(rcode)}: {reply}"
    if aa is not None:
        assert reply.aa == aa, f"AA={reply.aa}, want {aa}: {reply}"
    if tc is not None:
        assert reply.tc == tc, f"TC={reply.tc}, want {tc}: {reply}"
    for name, want in (("answer", answer), ("authority", authority),
                       ("additional", additional)):
        if want is None:
            continue
        got = getattr(reply, name)
        want = norm(want)
        if ordered and name == "answer":
            assert got == want, f"{name} section:\n got {got}\nwant {want}\n{reply}"
        else:
            assert sorted(got) == sorted(want), \
                f"{name} section:\n got {sorted(got)}\nwant {sorted(want)}\n{reply}"


# --------------------------------------------------------------------------
# Zone transfers
# --------------------------------------------------------------------------

def axfr_messages(addr, zone, qid=0x4242, timeout=30.0, extra_after=b""):
    """
    Sends an AXFR query over TCP and reads messages until the closing SOA (or an
    error rcode).  Returns the list of Reply objects.  extra_after is written in
    the same segment after the query (pipelining).
    """
    q = make_query(zone, "AXFR", qid=qid)
    wire = q.to_wire()
    replies = []
    with tcp_connect(addr, timeout) as s:
        s.sendall(tcp_frame(wire) + extra_after)
        soas = 0
        while True:
            raw = tcp_read_message(s)
            r = Reply(raw, wire, "tcp")
            replies.append(r)
            if r.rcode != dns.rcode.NOERROR:
                break
            for rrset in r.msg.answer:
                if rrset.rdtype == dns.rdatatype.SOA:
                    soas += 1
            if soas >= 2:
                break
        rest = []
        if extra_after:
            rest.append(tcp_read_message(s))
    return (replies, rest) if extra_after else replies


# --------------------------------------------------------------------------
# External tools
# --------------------------------------------------------------------------

def kdig(server, *args, family=4, timeout=60):
    host = "127.0.0.1" if family == 4 else "::1"
    argv = ["kdig", f"@{host}", "-p", str(server.port), "+retry=1", "+time=5"] + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def dig(server, *args, family=4, timeout=60):
    host = "127.0.0.1" if family == 4 else "::1"
    argv = ["dig", f"@{host}", "-p", str(server.port), "+tries=2", "+time=5"] + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def drill(server, *args, timeout=60):
    argv = ["drill", "-p", str(server.port)] + list(args) + ["@127.0.0.1"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


# --------------------------------------------------------------------------
# Data of the zones in zones/ that many tests refer to
# --------------------------------------------------------------------------

# SOA records as they appear in negative answers: TTL = min(SOA TTL, MINIMUM).
ALPHA_NEG_SOA = ("alpha.test. 300 IN SOA ns1.alpha.test. hostmaster.alpha.test. "
                 "2024060101 7200 3600 1209600 300")
ALPHA_SOA = ("alpha.test. 3600 IN SOA ns1.alpha.test. hostmaster.alpha.test. "
             "2024060101 7200 3600 1209600 300")
BETA_NEG_SOA = "beta.test. 60 IN SOA ns1.alpha.test. hostmaster.beta.test. 7 3600 600 86400 600"
HOSTED_NEG_SOA = ("hosted.alpha.test. 120 IN SOA ns1.alpha.test. hostmaster.alpha.test. "
                  "1 3600 600 86400 120")

ALPHA_APEX = [
    ALPHA_SOA,
    "alpha.test. 3600 IN NS ns1.alpha.test.",
    "alpha.test. 3600 IN NS ns2.alpha.test.",
    "alpha.test. 3600 IN A 192.0.2.1",
    "alpha.test. 3600 IN AAAA 2001:db8::1",
    "alpha.test. 3600 IN MX 10 mail.alpha.test.",
    'alpha.test. 3600 IN TXT "v=spf1 mx -all"',
    'alpha.test. 3600 IN CAA 0 issue "letsencrypt.org"',
    'alpha.test. 3600 IN CAA 128 tbs "critical-flag-example"',
]

SUB_REFERRAL_NS = [
    "sub.alpha.test. 3600 IN NS ns1.sub.alpha.test.",
    "sub.alpha.test. 3600 IN NS ns2.sub.alpha.test.",
    "sub.alpha.test. 3600 IN NS ns.example.invalid.",
]
SUB_REFERRAL_GLUE = [
    "ns1.sub.alpha.test. 3600 IN A 192.0.2.101",
    "ns1.sub.alpha.test. 3600 IN AAAA 2001:db8::101",
    "ns2.sub.alpha.test. 3600 IN A 192.0.2.102",
]

BIG_TXT = [f'big.alpha.test. 3600 IN TXT "big-{i:02d}-{chr(ord("a") + i % 26) * 193}"'
           for i in range(40)]
MEDIUM_TXT = [f'medium.alpha.test. 3600 IN TXT "medium-{i:02d}-{"m" * 88}"' for i in range(8)]
