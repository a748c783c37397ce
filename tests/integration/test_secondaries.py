"""
Real secondaries following certdns: Knot DNS and NSD transfer a zone from
certdnsd (AXFR, then IXFR from the journal after NOTIFY), with TSIG; plus the
transfer access rules, IXFR falling back to a full transfer after a zone
re-import, and NOTIFY after a daemon restart.

Needs the Debian packages knot (knotd, knotc) and nsd (nsd, nsd-checkconf);
the tests that need one of them are skipped when it is missing.

Self-contained: every server here (certdnsd, knotd, nsd) runs in a temporary
directory of its own on random loopback ports and is stopped on teardown, even
when a test fails.  Knot listens on 127.0.0.2 and NSD on 127.0.0.3, and each
transfers from its own address, so certdnsd's log tells which one asked for
what.  Nothing asserts on speed: waits are bounded polls with generous limits.
"""

import base64
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.zone
import pytest

SRCDIR = Path(os.environ.get("CERTDNS_SRCDIR")
              or Path(__file__).resolve().parent.parent.parent).resolve()
CERTDNSD = os.environ.get("CERTDNSD") or str(SRCDIR / "certdnsd")
CERTDNSCTL = os.environ.get("CERTDNSCTL") or str(SRCDIR / "certdnsctl")

KNOTD = shutil.which("knotd") or shutil.which("knotd", path="/usr/sbin:/sbin")
KNOTC = shutil.which("knotc") or shutil.which("knotc", path="/usr/sbin:/sbin")
NSD = shutil.which("nsd") or shutil.which("nsd", path="/usr/sbin:/sbin")
NSD_CHECKCONF = shutil.which("nsd-checkconf") or shutil.which("nsd-checkconf",
                                                              path="/usr/sbin:/sbin")

need_knot = pytest.mark.skipif(not (KNOTD and KNOTC), reason="Knot DNS (package knot) missing")
need_nsd = pytest.mark.skipif(not NSD, reason="NSD (package nsd) missing")

PRIMARY_ADDR = "127.0.0.1"
KNOT_ADDR = "127.0.0.2"
NSD_ADDR = "127.0.0.3"
OTHER_ADDR = "127.0.0.4"        # a client address in no ACL
TEST_CLIENT_ADDR = "127.0.0.5"  # the test's own AXFRs from the secondaries

ZONE = "sec.test."
SERIAL = 2024070101
KEY_NAME = "sec-xfr-key."

# SOA refresh is an hour: within a test only NOTIFY makes a secondary look again.
ZONE_TEXT = f"""$ORIGIN {ZONE}
$TTL 300
@                   IN SOA ns1.sec.test. hostmaster.sec.test. {SERIAL} 3600 600 86400 300
@                   IN NS    ns1
@                   IN NS    ns2
@                   IN A     192.0.2.10
@                   IN AAAA  2001:db8::10
@                   IN MX    10 mail
@                   IN TXT   "v=spf1 mx -all"
@                   IN CAA   0 issue "letsencrypt.org"
ns1                 IN A     192.0.2.1
ns2                 IN A     192.0.2.2
mail                IN A     192.0.2.25
www                 IN A     192.0.2.80
www                 IN AAAA  2001:db8::80
api                 IN CNAME www
_acme-challenge     IN TXT   "token-one-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
_acme-challenge.www IN TXT   "token-two"
_sip._tcp           IN SRV   10 60 5060 sip
sip                 IN A     192.0.2.60
old         600     IN TXT   "to be deleted"
*.wild              IN A     192.0.2.99
"""

WAIT = 20.0          # bound for anything a secondary has to do
START_WAIT = 15.0    # bound for a server to start answering
STOP_WAIT = 10.0
QUERY_TIMEOUT = 2.0


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

def wait_for(what, check, timeout=WAIT, interval=0.2, details=lambda: ""):
    """Polls check() until it returns a true value (returned); fails after timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = check()
            if value:
                return value
        except (OSError, dns.exception.DNSException, EOFError, ConnectionError) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}"
                f"{f' (last error: {last_exc!r})' if last_exc else ''}\n{details()}")


def port_is_free(port, addrs=(PRIMARY_ADDR, KNOT_ADDR, NSD_ADDR)):
    """Free on every loopback address we use, for UDP and TCP (no SO_REUSEPORT)."""
    for addr in addrs + ("0.0.0.0",):
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind((addr, port))
            except OSError:
                return False
            finally:
                s.close()
    return True


_used_ports = set()


def pick_port():
    rng = random.SystemRandom()
    for _ in range(500):
        port = rng.randint(20000, 60999)
        if port not in _used_ports and port_is_free(port):
            _used_ports.add(port)
            return port
    raise RuntimeError("no free loopback port found")


def ctl(db, *args, check=True, json_out=False):
    argv = [CERTDNSCTL, "--db", str(db)] + (["--json"] if json_out else []) + [str(a) for a in args]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=120)
    if check:
        assert p.returncode == 0, f"{argv} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return p


def query(addr, port, qname, qtype, timeout=QUERY_TIMEOUT):
    q = dns.message.make_query(qname, qtype)
    q.flags &= ~dns.flags.RD
    return dns.query.udp(q, addr, port=port, timeout=timeout)


def soa_serial(addr, port):
    """The SOA serial a server answers with authoritatively, or None."""
    r = query(addr, port, ZONE, "SOA")
    if r.rcode() != dns.rcode.NOERROR or not (r.flags & dns.flags.AA):
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def rdata_texts(addr, port, qname, qtype):
    """The rdata (as text) a server answers for qname/qtype; None if not an AA NOERROR."""
    r = query(addr, port, qname, qtype)
    if r.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN) or not (r.flags & dns.flags.AA):
        return None
    out = set()
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.from_text(qtype):
            out.update(rd.to_text() for rd in rrset)
    return out


def tail(text, lines=40):
    return "\n".join(text.splitlines()[-lines:])


def tsig_key(name, secret, algorithm="hmac-sha256"):
    return dns.tsig.Key(name, secret, algorithm)


def wrong_secret(secret):
    raw = bytearray(base64.b64decode(secret))
    raw[0] ^= 0x5A
    raw[-1] ^= 0xA5
    return base64.b64encode(bytes(raw)).decode()


def tcp_messages(addr, port, wire, source=None, timeout=10.0, max_messages=100):
    """Sends one query over TCP; returns the raw messages read until close/timeout/limit."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if source:
            s.bind((source, 0))
        s.connect((addr, port))
        s.sendall(struct.pack("!H", len(wire)) + wire)
        out = []
        while len(out) < max_messages:
            try:
                head = _recv_exact(s, 2)
            except (ConnectionError, socket.timeout):
                break
            (n,) = struct.unpack("!H", head)
            out.append(_recv_exact(s, n))
            if out[-1][3] & 0x0F:
                break       # an error answer is the last message
            # Callers look at refusals; after a first message, only wait briefly.
            s.settimeout(1.0)
        return out
    finally:
        s.close()


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def header_rcode_ancount(raw):
    flags, _qd, an = struct.unpack("!HHH", raw[2:8])
    return flags & 0x0F, an


def xfr_rrs(addr, port, rdtype="AXFR", serial=0, keyring=None, keyname=None, source=None):
    """A transfer with dnspython (TSIG verified on every message when keyring is given).
    Returns the answer RRs in wire order as (name, ttl, rdtype, rdata-text) tuples."""
    out = []
    kwargs = {}
    if source:
        kwargs["source"] = source
    # dnspython verifies every TSIG it gets and insists on one in the last message.
    for i, msg in enumerate(dns.query.xfr(addr, ZONE, rdtype=dns.rdatatype.from_text(rdtype),
                                          serial=serial, port=port, keyring=keyring,
                                          keyname=keyname, relativize=False, lifetime=30,
                                          **kwargs)):
        if keyring is not None and i == 0:
            assert msg.had_tsig, "the first message of a signed transfer is unsigned"
        for rrset in msg.answer:
            for rd in rrset:
                out.append((rrset.name.to_text().lower(), rrset.ttl,
                            dns.rdatatype.to_text(rrset.rdtype), rd.to_text()))
    return out


def zone_file_rrs(text, origin=ZONE):
    z = dns.zone.from_text(text, origin=origin, relativize=False)
    return sorted((name.to_text().lower(), ttl, dns.rdatatype.to_text(rd.rdtype), rd.to_text())
                  for name, ttl, rd in z.iterate_rdatas())


def serial_of(rr):
    assert rr[2] == "SOA", rr
    return int(rr[3].split()[2])


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------

class Proc:
    """A server process with its output in a log file."""

    def __init__(self, name, argv, log_path, extra_logs=()):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.extra_logs = [Path(p) for p in extra_logs]
        self.proc = None
        self.returncode = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.returncode = None
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        text = ""
        for p in [self.log_path] + self.extra_logs:
            try:
                text += p.read_text(errors="replace")
            except FileNotFoundError:
                pass
        return text

    def describe(self, lines=40):
        state = "running" if self.alive() else f"exited {self.proc.poll() if self.proc else '-'}"
        return f"--- {self.name} ({state}), log tail:\n{tail(self.log(), lines)}"

    def stop(self, sig=signal.SIGTERM):
        """Signals the process and waits; returns its status (None: it hung and was killed)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
                self.returncode = self.proc.wait(timeout=STOP_WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = None
        else:
            self.returncode = self.proc.returncode
        return self.returncode


def wait_answering(proc, addr, port, tcp=True):
    """Until a server answers anything over UDP (and TCP) on addr:port."""
    probe = dns.message.make_query("probe.invalid.", "SOA")

    def ready():
        if not proc.alive():
            pytest.fail(f"{proc.name} exited during start\n{proc.describe()}")
        dns.query.udp(probe, addr, port=port, timeout=0.3)
        if tcp:
            dns.query.tcp(probe, addr, port=port, timeout=0.5)
        return True

    wait_for(f"{proc.name} to answer on {addr}:{port}", ready, timeout=START_WAIT,
             interval=0.1, details=proc.describe)


class Lab:
    """One test's servers and temporary directory; torn down by the fixture."""

    def __init__(self):
        # A short path: certdnsd puts its control socket in its database directory.
        self.dir = Path(tempfile.mkdtemp(prefix="cdns-sec-", dir="/tmp"))
        self.procs = []
        self.primary = None
        self.primary_port = None
        self.db = self.dir / "primary-db"
        self.db.mkdir()
        self.key_name = None
        self.key_secret = None
        self.key_alg = None
        self.knot = None
        self.knot_port = None
        self.nsd = None
        self.nsd_port = None

    # ---- certdns --------------------------------------------------------

    def setup_primary_db(self, zone_text=ZONE_TEXT, key=True):
        zf = self.dir / "sec.test.zone"
        zf.write_text(zone_text)
        ctl(self.db, "zone", "import", zf)
        if key:
            out = ctl(self.db, "tsig", "add", KEY_NAME, "hmac-sha256", json_out=True).stdout
            info = json.loads(out)
            self.key_name = info["name"]
            self.key_secret = info["secret"]
            self.key_alg = info["algorithm"]
            assert self.key_alg == "hmac-sha256", info
            assert dns.name.from_text(self.key_name) == dns.name.from_text(KEY_NAME), info
        return zf

    def start_primary(self, port=None):
        if port is None:
            port = self.primary_port or pick_port()
        self.primary_port = port
        n = sum(1 for p in self.procs if p.name.startswith("certdnsd"))
        p = Proc(f"certdnsd#{n}", [CERTDNSD, "--db", self.db, "--listen",
                                   f"{PRIMARY_ADDR}:{port}", "--workers", "2"],
                 self.dir / f"certdnsd-{n}.log").start()
        self.procs.append(p)
        self.primary = p
        wait_answering(p, PRIMARY_ADDR, port)
        return p

    def stop_primary(self):
        rc = self.primary.stop()
        assert rc == 0, f"certdnsd did not exit cleanly ({rc})\n{self.primary.describe()}"

    def primary_logs(self):
        return "".join(p.log() for p in self.procs if p.name.startswith("certdnsd"))

    # ---- Knot -----------------------------------------------------------

    def start_knot(self, port):
        d = self.dir / "knot"
        (d / "storage").mkdir(parents=True)
        (d / "db").mkdir()
        self.knot_port = port
        conf = d / "knot.conf"
        conf.write_text(f"""server:
    rundir: "{d}"
    listen: {KNOT_ADDR}@{self.knot_port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1

control:
    listen: "{d}/knot.sock"

log:
  - target: stderr
    any: info

database:
    storage: "{d}/db"

key:
  - id: {self.key_name}
    algorithm: {self.key_alg}
    secret: {self.key_secret}

remote:
  - id: primary
    address: {PRIMARY_ADDR}@{self.primary_port}
    via: {KNOT_ADDR}
    key: {self.key_name}

acl:
  - id: notify_from_primary
    address: {PRIMARY_ADDR}
    key: {self.key_name}
    action: notify
  - id: transfer_to_test
    address: {TEST_CLIENT_ADDR}
    action: transfer

template:
  - id: default
    storage: "{d}/storage"
    zonefile-load: none
    journal-content: changes

zone:
  - domain: {ZONE}
    master: primary
    acl: [notify_from_primary, transfer_to_test]
""")
        chk = subprocess.run([KNOTC, "-c", conf, "conf-check"], capture_output=True, text=True,
                             timeout=60)
        assert chk.returncode == 0, f"knotc conf-check:\n{chk.stdout}{chk.stderr}\n{conf.read_text()}"
        p = Proc("knotd", [KNOTD, "-c", conf], d / "knotd.log").start()
        self.procs.append(p)
        self.knot = p
        wait_answering(p, KNOT_ADDR, self.knot_port)
        return p

    # ---- NSD ------------------------------------------------------------

    def start_nsd(self, port):
        d = self.dir / "nsd"
        d.mkdir()
        self.nsd_port = port
        conf = d / "nsd.conf"

        def write(rrl):
            conf.write_text(f"""server:
    ip-address: {NSD_ADDR}@{self.nsd_port}
    port: {self.nsd_port}
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    database: ""
    zonesdir: "{d}"
    zonelistfile: "{d}/zone.list"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    pidfile: "{d}/nsd.pid"
    logfile: "{d}/nsd-file.log"
    verbosity: 2
    hide-version: yes
{"    rrl-ratelimit: 0" if rrl else ""}

remote-control:
    control-enable: no

key:
    name: "{self.key_name}"
    algorithm: {self.key_alg}
    secret: "{self.key_secret}"

zone:
    name: "{ZONE}"
    zonefile: "{d}/sec.test.zone"
    request-xfr: {PRIMARY_ADDR}@{self.primary_port} {self.key_name}
    allow-notify: {PRIMARY_ADDR} {self.key_name}
    outgoing-interface: {NSD_ADDR}
    provide-xfr: {TEST_CLIENT_ADDR} NOKEY
""")

        write(rrl=True)
        if NSD_CHECKCONF:
            chk = subprocess.run([NSD_CHECKCONF, conf], capture_output=True, text=True,
                                 timeout=60)
            if chk.returncode != 0 and "rrl" in (chk.stdout + chk.stderr).lower():
                write(rrl=False)     # an NSD built without rate limiting
                chk = subprocess.run([NSD_CHECKCONF, conf], capture_output=True, text=True,
                                     timeout=60)
            assert chk.returncode == 0, \
                f"nsd-checkconf:\n{chk.stdout}{chk.stderr}\n{conf.read_text()}"
        p = Proc("nsd", [NSD, "-d", "-c", conf], d / "nsd.log",
                 extra_logs=[d / "nsd-file.log"]).start()
        self.procs.append(p)
        self.nsd = p
        wait_answering(p, NSD_ADDR, self.nsd_port)
        return p

    # ---- all ------------------------------------------------------------

    def describe(self):
        return "\n".join(p.describe() for p in self.procs if p.proc is not None)

    def secondaries(self):
        out = []
        if self.knot:
            out.append(("Knot", KNOT_ADDR, self.knot_port))
        if self.nsd:
            out.append(("NSD", NSD_ADDR, self.nsd_port))
        return out

    def wait_secondaries(self, what, check):
        """Until check(addr, port) holds on every secondary."""
        for name, addr, port in self.secondaries():
            wait_for(f"{name} to {what}", lambda: check(addr, port), details=self.describe)

    def teardown(self):
        problems = []
        for p in reversed(self.procs):
            rc = p.stop()
            if p.name.startswith("certdnsd") and p.proc is not None and rc != 0:
                problems.append(f"{p.name} exited with {rc} on SIGTERM\n{p.describe()}")
        if os.environ.get("CERTDNS_KEEP_TMP"):
            print(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return problems


@pytest.fixture
def lab():
    for tool in (CERTDNSD, CERTDNSCTL):
        if not (os.path.isfile(tool) and os.access(tool, os.X_OK)):
            pytest.fail(f"{tool} is not an executable; build first")
    lab = Lab()
    try:
        yield lab
    finally:
        problems = lab.teardown()
    assert not problems, "\n".join(problems)


def full_setup(lab):
    """certdnsd with the zone and a key; Knot and NSD as its TSIG secondaries, in sync."""
    lab.setup_primary_db()
    # The secondaries' ports are chosen first: certdnsd NOTIFYs them from its start.
    knot_port, nsd_port = pick_port(), pick_port()
    ctl(lab.db, "secondary", "add", ZONE, f"{KNOT_ADDR}:{knot_port}", "--tsig", lab.key_name)
    ctl(lab.db, "secondary", "add", ZONE, f"{NSD_ADDR}:{nsd_port}", "--tsig", lab.key_name)
    lab.start_primary()
    lab.start_knot(knot_port)
    lab.start_nsd(nsd_port)
    lab.wait_secondaries(f"serve serial {SERIAL} (initial transfer)",
                         lambda a, p: soa_serial(a, p) == SERIAL)
    lab.wait_secondaries("serve the _acme-challenge TXT",
                         lambda a, p: rdata_texts(a, p, f"_acme-challenge.{ZONE}", "TXT")
                         == {'"token-one-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"'})


def serial_now(lab):
    r = query(PRIMARY_ADDR, lab.primary_port, ZONE, "SOA")
    return r.answer[0][0].serial


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

@need_knot
@need_nsd
def test_knot_and_nsd_secondaries_follow_certdns(lab):
    full_setup(lab)
    for name, addr, port in lab.secondaries():
        assert rdata_texts(addr, port, f"www.{ZONE}", "A") == {"192.0.2.80"}, name
        assert rdata_texts(addr, port, f"x.wild.{ZONE}", "A") == {"192.0.2.99"}, name
    log = lab.primary_logs()
    for addr in (KNOT_ADDR, NSD_ADDR):
        assert re.search(rf"(AXFR|IXFR) of {re.escape(ZONE)} serial {SERIAL} to "
                         rf"\[?{re.escape(addr)}\b[^\n]*TSIG-signed", log, re.I), \
            f"no signed transfer to {addr} in certdnsd's log\n{lab.describe()}"

    # A change: NOTIFY, then IXFR.
    ctl(lab.db, "record", "add", ZONE, 'new 300 TXT "hello"')
    new = serial_now(lab)
    assert new > SERIAL
    lab.wait_secondaries(f"serve serial {new} after record add",
                         lambda a, p: soa_serial(a, p) == new)
    lab.wait_secondaries("serve new TXT",
                         lambda a, p: rdata_texts(a, p, f"new.{ZONE}", "TXT") == {'"hello"'})
    for addr in (KNOT_ADDR, NSD_ADDR):
        wait_for(f"certdnsd to log the NOTIFY to {addr} acknowledged",
                 lambda: re.search(rf"NOTIFY for {re.escape(ZONE)} serial {new} acknowledged by "
                                   rf"\[?{re.escape(addr)}\b", lab.primary_logs(), re.I),
                 details=lab.describe)
    log = lab.primary_logs()
    ixfr_to = {addr for addr in (KNOT_ADDR, NSD_ADDR)
               if re.search(rf"\bIXFR of {re.escape(ZONE)} serial {new} to \[?{re.escape(addr)}\b",
                            log, re.I)}
    assert ixfr_to, f"certdnsd served no IXFR for serial {new}:\n{lab.describe()}"
    # Knot always asks for IXFR when it has the zone; so does NSD (TCP IXFR by default).
    assert KNOT_ADDR in ixfr_to, f"Knot got no IXFR:\n{lab.describe()}"
    assert NSD_ADDR in ixfr_to, f"NSD got no IXFR:\n{lab.describe()}"
    assert re.search(r"IXFR, incoming", lab.knot.log()), \
        f"Knot's log shows no incoming IXFR\n{lab.knot.describe()}"

    # A deletion propagates too.
    ctl(lab.db, "record", "delete", ZONE, f"old.{ZONE} TXT")
    newer = serial_now(lab)
    assert newer > new
    lab.wait_secondaries(f"serve serial {newer} after record delete",
                         lambda a, p: soa_serial(a, p) == newer)
    for name, addr, port in lab.secondaries():
        r = query(addr, port, f"old.{ZONE}", "TXT")
        assert r.rcode() == dns.rcode.NXDOMAIN, f"{name} still has old.{ZONE}:\n{r}"
        assert rdata_texts(addr, port, f"new.{ZONE}", "TXT") == {'"hello"'}, name

    # A replace: the whole RRset changes on both.
    ctl(lab.db, "record", "replace", ZONE, f"www.{ZONE} 300 A 192.0.2.81")
    newest = serial_now(lab)
    lab.wait_secondaries(f"serve serial {newest} after record replace",
                         lambda a, p: soa_serial(a, p) == newest)
    for name, addr, port in lab.secondaries():
        assert rdata_texts(addr, port, f"www.{ZONE}", "A") == {"192.0.2.81"}, name

    # What each secondary holds is exactly what certdns serves.
    ctl(lab.db, "zone", "transfer-acl", ZONE, TEST_CLIENT_ADDR)
    primary_rrs = sorted(xfr_rrs(PRIMARY_ADDR, lab.primary_port, source=TEST_CLIENT_ADDR)[:-1])
    assert len(primary_rrs) == len(zone_file_rrs(ZONE_TEXT)), primary_rrs
    for name, addr, port in lab.secondaries():
        held = sorted(xfr_rrs(addr, port, source=TEST_CLIENT_ADDR)[:-1])
        assert held == primary_rrs, f"{name} holds another zone than certdns serves"
    assert lab.primary.alive(), lab.describe()


def test_wrong_tsig_key_is_refused(lab):
    zf = lab.setup_primary_db()
    sec_port = pick_port()
    ctl(lab.db, "secondary", "add", ZONE, f"{KNOT_ADDR}:{sec_port}", "--tsig", lab.key_name)
    lab.start_primary()
    port = lab.primary_port
    good = tsig_key(lab.key_name, lab.key_secret, lab.key_alg)
    bad = tsig_key(lab.key_name, wrong_secret(lab.key_secret), lab.key_alg)

    # Right key name, wrong secret: NOTAUTH (BADSIG), no records.
    q = dns.message.make_query(ZONE, "AXFR")
    q.use_tsig(bad)
    msgs = tcp_messages(PRIMARY_ADDR, port, q.to_wire())
    assert msgs, f"no answer to a badly signed AXFR\n{lab.describe()}"
    rcode, ancount = header_rcode_ancount(msgs[0])
    assert rcode == dns.rcode.NOTAUTH, f"rcode {dns.rcode.to_text(rcode)}, want NOTAUTH"
    assert ancount == 0 and len(msgs) == 1, "records sent for a badly signed AXFR"
    # The same through dnspython's transfer code: it fails, no zone.
    with pytest.raises((dns.exception.DNSException, EOFError, ConnectionError)):
        xfr_rrs(PRIMARY_ADDR, port, keyring={bad.name: bad}, keyname=bad.name)

    # An unknown key name: NOTAUTH (BADKEY).
    stranger = tsig_key("nobody-knows-me.", lab.key_secret, lab.key_alg)
    q = dns.message.make_query(ZONE, "AXFR")
    q.use_tsig(stranger)
    msgs = tcp_messages(PRIMARY_ADDR, port, q.to_wire())
    rcode, ancount = header_rcode_ancount(msgs[0])
    assert rcode == dns.rcode.NOTAUTH and ancount == 0 and len(msgs) == 1, msgs

    # Unsigned, from an address in no ACL (and from the secondary's own address,
    # which needs the key since the secondary has one): REFUSED, no records.
    for source in (OTHER_ADDR, KNOT_ADDR, PRIMARY_ADDR):
        q = dns.message.make_query(ZONE, "AXFR")
        msgs = tcp_messages(PRIMARY_ADDR, port, q.to_wire(), source=source)
        assert msgs, f"no answer to an unsigned AXFR from {source}"
        rcode, ancount = header_rcode_ancount(msgs[0])
        assert rcode == dns.rcode.REFUSED, \
            f"unsigned AXFR from {source}: rcode {dns.rcode.to_text(rcode)}, want REFUSED"
        assert ancount == 0 and len(msgs) == 1
    # Also an unsigned IXFR.
    with pytest.raises(dns.exception.DNSException):
        xfr_rrs(PRIMARY_ADDR, port, rdtype="IXFR", serial=SERIAL - 1, source=OTHER_ADDR)

    # Correctly signed: the whole zone, every signed message verified by dnspython.
    rrs = xfr_rrs(PRIMARY_ADDR, port, keyring={good.name: good}, keyname=good.name,
                  source=OTHER_ADDR)
    assert rrs[0][2] == "SOA" and rrs[-1] == rrs[0], (rrs[0], rrs[-1])
    assert sorted(rrs[:-1]) == zone_file_rrs(zf.read_text())
    # The same with kdig -y (it verifies the TSIG of the answer too).
    kdig = shutil.which("kdig")
    if kdig:
        alg = lab.key_alg
        good_arg = f"{alg}:{lab.key_name}:{lab.key_secret}"
        bad_arg = f"{alg}:{lab.key_name}:{wrong_secret(lab.key_secret)}"
        ok = subprocess.run([kdig, f"@{PRIMARY_ADDR}", "-p", str(port), "-y", good_arg,
                             "+time=5", "+retry=0", "AXFR", ZONE],
                            capture_output=True, text=True, timeout=60)
        assert ok.returncode == 0 and "_acme-challenge" in ok.stdout \
            and "failed" not in ok.stdout.lower(), ok.stdout + ok.stderr
        no = subprocess.run([kdig, f"@{PRIMARY_ADDR}", "-p", str(port), "-y", bad_arg,
                             "+time=5", "+retry=0", "AXFR", ZONE],
                            capture_output=True, text=True, timeout=60)
        assert "_acme-challenge" not in no.stdout, no.stdout
        assert "NOTAUTH" in no.stdout + no.stderr or no.returncode != 0, no.stdout + no.stderr

    # An ACL entry admits unsigned transfers from that address only.
    ctl(lab.db, "zone", "transfer-acl", ZONE, f"{OTHER_ADDR}/32")
    rrs = wait_for("the new transfer ACL to apply",
                   lambda: xfr_rrs(PRIMARY_ADDR, port, source=OTHER_ADDR), timeout=10,
                   details=lab.describe)
    assert sorted(rrs[:-1]) == zone_file_rrs(zf.read_text())
    q = dns.message.make_query(ZONE, "AXFR")
    msgs = tcp_messages(PRIMARY_ADDR, port, q.to_wire(), source=PRIMARY_ADDR)
    assert header_rcode_ancount(msgs[0]) == (dns.rcode.REFUSED, 0)
    # A wrong signature is still refused from an address in the ACL: a request
    # that carries a TSIG must verify.
    q = dns.message.make_query(ZONE, "AXFR")
    q.use_tsig(bad)
    msgs = tcp_messages(PRIMARY_ADDR, port, q.to_wire(), source=OTHER_ADDR)
    assert header_rcode_ancount(msgs[0]) == (dns.rcode.NOTAUTH, 0), msgs
    assert lab.primary.alive(), lab.describe()


def test_ixfr_falls_back_to_axfr_after_reimport(lab):
    zf = lab.setup_primary_db()
    ctl(lab.db, "zone", "transfer-acl", ZONE, PRIMARY_ADDR)
    lab.start_primary()
    port = lab.primary_port
    ctl(lab.db, "record", "add", ZONE, 'one 300 TXT "first change"')
    ctl(lab.db, "record", "add", ZONE, 'two 300 TXT "second change"')
    s2 = serial_now(lab)
    assert s2 > SERIAL

    # Sanity: with the journal, IXFR from the imported serial is incremental.
    rrs = xfr_rrs(PRIMARY_ADDR, port, rdtype="IXFR", serial=SERIAL)
    assert rrs[0][2] == "SOA" and serial_of(rrs[0]) == s2, rrs
    assert rrs[1][2] == "SOA" and serial_of(rrs[1]) == SERIAL, \
        f"IXFR with the journal intact was not incremental: {rrs[:3]}"
    assert rrs[-1] == rrs[0]
    assert len(rrs) < 15, "an incremental answer should not carry the whole zone"

    # Re-import the zone (new serial, one change): the old versions and their
    # journal are gone.
    reimport_serial = s2 + 10
    text = (ZONE_TEXT.replace(f"{SERIAL} 3600", f"{reimport_serial} 3600")
            .replace('"to be deleted"', '"reimported"'))
    zf.write_text(text)
    ctl(lab.db, "zone", "import", zf)
    wait_for(f"certdnsd to serve serial {reimport_serial}",
             lambda: serial_now(lab) == reimport_serial, details=lab.describe)
    want = zone_file_rrs(text)
    for old in (SERIAL, s2 - 1, s2):
        rrs = xfr_rrs(PRIMARY_ADDR, port, rdtype="IXFR", serial=old)
        assert rrs[0][2] == "SOA" and serial_of(rrs[0]) == reimport_serial, rrs[:2]
        assert rrs[-1] == rrs[0], f"IXFR from {old}: last record is not the SOA: {rrs[-1]}"
        assert sum(1 for rr in rrs if rr[2] == "SOA") == 2, \
            f"IXFR from {old} after re-import is not AXFR-style:\n{rrs}"
        assert sorted(rrs[:-1]) == want, f"IXFR from {old}: not the full re-imported zone"
    # A client already at the new serial gets just the SOA.
    rrs = xfr_rrs(PRIMARY_ADDR, port, rdtype="IXFR", serial=reimport_serial)
    assert len(rrs) == 1 and rrs[0][2] == "SOA" and serial_of(rrs[0]) == reimport_serial, rrs
    # Changes after the re-import are journaled again.
    ctl(lab.db, "record", "add", ZONE, 'three 300 TXT "after reimport"')
    s3 = serial_now(lab)
    rrs = xfr_rrs(PRIMARY_ADDR, port, rdtype="IXFR", serial=reimport_serial)
    assert serial_of(rrs[0]) == s3 and rrs[1][2] == "SOA" and serial_of(rrs[1]) == reimport_serial, rrs
    assert any(rr[0] == f"three.{ZONE}" for rr in rrs), rrs
    assert len(rrs) < 15, rrs
    assert lab.primary.alive(), lab.describe()


@need_knot
@need_nsd
def test_notify_reaches_secondary_after_daemon_restart(lab):
    full_setup(lab)
    lab.stop_primary()
    ctl(lab.db, "record", "add", ZONE, 'offline 300 TXT "changed while down"')
    ctl(lab.db, "record", "delete", ZONE, f"old.{ZONE} TXT")
    lab.start_primary(port=lab.primary_port)
    new = serial_now(lab)
    assert new > SERIAL
    lab.wait_secondaries(f"serve serial {new} after the restart",
                         lambda a, p: soa_serial(a, p) == new)
    for name, addr, port in lab.secondaries():
        assert rdata_texts(addr, port, f"offline.{ZONE}", "TXT") == {'"changed while down"'}, name
        r = query(addr, port, f"old.{ZONE}", "TXT")
        assert r.rcode() == dns.rcode.NXDOMAIN, f"{name}:\n{r}"
    for addr in (KNOT_ADDR, NSD_ADDR):
        wait_for(f"the restarted certdnsd to log the NOTIFY to {addr} acknowledged",
                 lambda: re.search(rf"NOTIFY for {re.escape(ZONE)} serial {new} acknowledged by "
                                   rf"\[?{re.escape(addr)}\b", lab.primary.log(), re.I),
                 details=lab.describe)


def test_tsig_error_answers_carry_the_tsig_error(lab):
    """
    RFC 8945 5.3.2: a request whose MAC does not verify gets NOTAUTH with TSIG
    error BADSIG, and one with an unknown key NOTAUTH with BADKEY; the error
    code travels in an (unsigned) TSIG RR of the answer, which is how a client
    (kdig, dnspython, a secondary's log) tells a wrong secret from a missing key.
    """
    lab.setup_primary_db()
    ctl(lab.db, "secondary", "add", ZONE, f"{KNOT_ADDR}:{pick_port()}", "--tsig", lab.key_name)
    lab.start_primary()
    port = lab.primary_port
    bad = tsig_key(lab.key_name, wrong_secret(lab.key_secret), lab.key_alg)
    stranger = tsig_key("nobody-knows-me.", lab.key_secret, lab.key_alg)
    for key, error, exc in ((bad, "BADSIG", dns.tsig.PeerBadSignature),
                            (stranger, "BADKEY", dns.tsig.PeerBadKey)):
        q = dns.message.make_query(ZONE, "AXFR")
        q.use_tsig(key)
        msgs = tcp_messages(PRIMARY_ADDR, port, q.to_wire())
        assert msgs and header_rcode_ancount(msgs[0]) == (dns.rcode.NOTAUTH, 0), msgs
        try:
            reply = dns.message.from_wire(msgs[0], keyring={key.name: key}, request_mac=q.mac)
        except exc:
            continue
        pytest.fail(f"the NOTAUTH answer to a request signed with {key.name} "
                    f"({'wrong secret' if key is bad else 'unknown key'}) has no TSIG RR with "
                    f"error {error}:\n{reply}")
