"""
The certificate tools of certdnsctl around the ACME engine, as doc/acme.md
promises them:

  1. `cert import`: a bundle and key the customer brings.  RSA (PKCS#1 and
     PKCS#8), ECDSA (SEC 1 and PKCS#8) and Ed25519 (PKCS#8) keys are
     accepted; a bundle out of order is put in order (leaf, then each
     issuer); the key is stored sealed.  Encrypted keys, keys that fit no
     certificate, unrelated certificates in the bundle, expired and
     not-yet-valid certificates and garbage are refused (exit 1, a clear
     message).  `cert list` warns about an imported certificate that expires
     within 30 days; the engine never renews an imported certificate.
  2. `cert csr`: a key (0600) and a CSR with exactly the names asked for;
     an existing key is never overwritten.
  3. `check NAME`: delegation, challenge CNAME, CAA, serials, with the fix;
     exit 1 when something is WRONG; `--json` with ok true/false/null.
  4. CAA (RFC 8659, RFC 8657) before any order, against the CA's
     meta.caaIdentities: Pebble 2.4 publishes none, so a proxy in front of it
     (ari_proxy.ARIProxy, subclassed here) adds "caaIdentities":
     ["pebble.test"] to its directory.
  5. External Account Binding with Pebble's externalAccountBindingRequired.
  6. Several CAs: --account is required when there are several accounts;
     a first issuance that fails at CA A moves to the fallback account at B.

Every test builds its own world under a short /tmp directory (the control
socket DB/control.sock must fit in 108 bytes), on random loopback ports of
127.0.0.1 only.  certdnsd always gets --acme-resolver and `check` always
--resolver: unbound started here, or a loopback port where nothing answers,
so nothing reads /etc/resolv.conf.  Every process is stopped on teardown;
certdnsd must exit 0.  Waits are bounded polls; nothing asserts on speed.

Certificates and keys are made with the openssl command line (`openssl ca`
with -startdate/-enddate for validity periods in the past or the future:
openssl 3.0's `x509 -req -days` cannot go negative).

Needs: openssl, pebble (tests 1 (last part), 4, 5, 6), knot and unbound
(test 3), python3-dnspython, python3-pytest.
"""

import base64
import datetime
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import time
import urllib.parse
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from ari_proxy import ARIProxy
from dnstest import (Daemon, import_zone, make_query, pick_free_port, run_ctl, tcp_exchange,
                     udp_exchange)
from pebble_ca import (OPENSSL, PEBBLE, Pebble, create_account, make_tls_ca, request_cert,
                       short_tmpdir, show_cert, stop_process, stop_worlds)

KNOTD = shutil.which("knotd") or shutil.which("knotd", path="/usr/sbin:/sbin")
KNOTC = shutil.which("knotc") or shutil.which("knotc", path="/usr/sbin:/sbin")
UNBOUND = shutil.which("unbound") or shutil.which("unbound", path="/usr/sbin:/sbin")
UNBOUND_CHECKCONF = (shutil.which("unbound-checkconf")
                     or shutil.which("unbound-checkconf", path="/usr/sbin:/sbin"))

need_pebble = pytest.mark.skipif(PEBBLE is None, reason="needs Pebble (package pebble)")
need_knot_unbound = pytest.mark.skipif(
    not (KNOTD and KNOTC and UNBOUND and UNBOUND_CHECKCONF),
    reason="needs Knot DNS (package knot) and unbound (package unbound)")
pytestmark = pytest.mark.skipif(not os.path.exists(OPENSSL), reason="needs openssl")

ZONE = "example.test"
ACME_ZONE = "acme.ourzone.test"
CAA_ID = "pebble.test"
REQUEST_TIMEOUT = 240        # cert request --wait --timeout
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
QUERY_TIMEOUT = 3.0
DAY = 86400


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

def openssl(*args, input=None, check=True):
    p = subprocess.run([OPENSSL, *map(str, args)], input=input, capture_output=True,
                       text=True, timeout=120)
    if check:
        assert p.returncode == 0, f"openssl {' '.join(map(str, args))}:\n{p.stdout}{p.stderr}"
    return p


def pem_certs(text):
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", text, re.S)


def subject_of(pem):
    """'CN=...' of the first certificate in pem (RFC 2253 form)."""
    out = openssl("x509", "-noout", "-subject", "-nameopt", "RFC2253",
                  input=pem_certs(pem)[0]).stdout
    return out.strip().split("=", 1)[1]


def cert_pubkey(pem):
    return openssl("x509", "-noout", "-pubkey", input=pem_certs(pem)[0]).stdout


def key_pubkey(path):
    return openssl("pkey", "-in", path, "-pubout").stdout


def san_dns_names(x509_text):
    """The DNS names of the subjectAltName in `openssl x509|req -text` output."""
    m = re.search(r"X509v3 Subject Alternative Name:\s*\n\s*(.*)\n", x509_text)
    assert m, f"no subjectAltName in:\n{x509_text}"
    return sorted(p.strip()[4:] for p in m.group(1).split(",") if p.strip().startswith("DNS:"))


def utc(epoch):
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)


def asn1_time(epoch):
    return utc(epoch).strftime("%Y%m%d%H%M%SZ")


def shown_time(epoch):
    """How certdnsctl prints a time (fmt_time)."""
    return utc(epoch).strftime("%Y-%m-%d %H:%M:%S UTC")


def ask(port, qname, qtype, rd=True, timeout=QUERY_TIMEOUT):
    q = dns.message.make_query(qname, qtype)
    if rd:
        q.flags |= dns.flags.RD
    else:
        q.flags &= ~dns.flags.RD
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)


def dead_port():
    """A loopback port where nothing answers (free now; nobody here binds it)."""
    return pick_free_port()


class Proc:
    """A child process with its output in a log file; stop() by its own pid only."""

    def __init__(self, name, argv, log_path, env=None):
        self.name, self.argv, self.log_path, self.env = name, [str(a) for a in argv], log_path, env
        self.proc = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=self.env)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            return Path(self.log_path).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self):
        stop_process(self.proc, timeout=STOP_TIMEOUT)


# --------------------------------------------------------------------------
# A test PKI made with the openssl CLI: root -> intermediate -> leaves
# --------------------------------------------------------------------------

class PKI:
    def __init__(self, d, label="certdns import test"):
        self.dir = Path(d)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.label = label
        self.root_key, self.root = self.dir / "root.key", self.dir / "root.pem"
        self.inter_key, self.inter = self.dir / "inter.key", self.dir / "inter.pem"
        self.n = 0
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", self.root_key, "-out", self.root, "-days", "3650",
                "-subj", f"/CN={label} root",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        csr, ext = self.dir / "inter.csr", self.dir / "inter.ext"
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", self.inter_key, "-out", csr, "-subj", f"/CN={label} intermediate")
        ext.write_text("basicConstraints=critical,CA:TRUE,pathlen:0\n"
                       "keyUsage=critical,keyCertSign,cRLSign\n"
                       "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
        openssl("x509", "-req", "-in", csr, "-CA", self.root, "-CAkey", self.root_key,
                "-CAcreateserial", "-out", self.inter, "-days", "3650", "-extfile", ext)
        # `openssl ca` for the leaves: it takes -startdate/-enddate.
        self.ca_dir = self.dir / "ca"
        (self.ca_dir / "new").mkdir(parents=True)
        (self.ca_dir / "index.txt").write_text("")
        (self.ca_dir / "index.txt.attr").write_text("unique_subject = no\n")
        (self.ca_dir / "serial").write_text("1000\n")
        self.ca_conf = self.dir / "ca.conf"
        self.ca_conf.write_text(f"""[ ca ]
default_ca = d
[ d ]
database = {self.ca_dir}/index.txt
new_certs_dir = {self.ca_dir}/new
serial = {self.ca_dir}/serial
default_md = sha256
policy = p
unique_subject = no
email_in_dn = no
[ p ]
commonName = supplied
""")

    def key(self, form):
        """A new private key file in one of the forms cert import accepts (and its PEM type)."""
        self.n += 1
        path = self.dir / f"key{self.n}-{form}.pem"
        if form == "rsa-pkcs1":
            openssl("genrsa", "-traditional", "-out", path, "2048")
            want = "RSA PRIVATE KEY"
        elif form == "rsa-pkcs8":
            openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", path)
            want = "PRIVATE KEY"
        elif form == "ec-sec1":
            openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path)
            want = "EC PRIVATE KEY"
        elif form == "ec-pkcs8":
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384",
                    "-out", path)
            want = "PRIVATE KEY"
        elif form == "ed25519":
            openssl("genpkey", "-algorithm", "ed25519", "-out", path)
            want = "PRIVATE KEY"
        else:
            raise ValueError(form)
        first = path.read_text().splitlines()[0]
        assert first == f"-----BEGIN {want}-----", f"{form}: openssl wrote {first!r}"
        return path

    def leaf(self, key, names, not_before=None, not_after=None, issuer=None):
        """A leaf for key with SANs names, signed by the intermediate (or issuer=(pem, key))."""
        now = int(time.time())
        not_before = now - 3600 if not_before is None else int(not_before)
        not_after = now + 90 * DAY if not_after is None else int(not_after)
        self.n += 1
        csr, ext, out = (self.dir / f"leaf{self.n}.{s}" for s in ("csr", "ext", "pem"))
        openssl("req", "-new", "-key", key, "-subj", f"/CN={names[0]}", "-out", csr)
        ext.write_text("[ leaf ]\nbasicConstraints=critical,CA:FALSE\n"
                       "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                       "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
                       "subjectAltName=" + ",".join(f"DNS:{n}" for n in names) + "\n")
        ca_cert, ca_key = issuer if issuer is not None else (self.inter, self.inter_key)
        openssl("ca", "-batch", "-config", self.ca_conf, "-cert", ca_cert, "-keyfile", ca_key,
                "-in", csr, "-out", out, "-startdate", asn1_time(not_before),
                "-enddate", asn1_time(not_after), "-extfile", ext, "-extensions", "leaf",
                "-notext")
        return out, not_before, not_after

    def bundle(self, name, *pems):
        path = self.dir / name
        path.write_text("".join(Path(p).read_text() for p in pems))
        return path


@pytest.fixture(scope="module")
def pki():
    d = short_tmpdir("cdt-pki-")
    yield PKI(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def tmpdir_short():
    d = short_tmpdir("cdt-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def new_db(root):
    db = root / "db"
    db.mkdir()
    return db


# --------------------------------------------------------------------------
# certdnsd on 127.0.0.1 only, with --acme-resolver
# --------------------------------------------------------------------------

class V4Daemon(Daemon):
    """certdnsd listening on 127.0.0.1 only."""

    def argv(self, port):
        return [*super().argv(port)[:3], "--listen", f"127.0.0.1:{port}",
                "--workers", str(self.workers), *self.extra_args]

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        probe = make_query("ready.probe.invalid.", "SOA").to_wire()
        pending = {"udp", "tcp"}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            for proto in sorted(pending):
                try:
                    if proto == "udp":
                        udp_exchange(self.v4, probe, timeout=0.2)
                    else:
                        tcp_exchange(self.v4, probe, timeout=0.5)
                    pending.discard(proto)
                except (OSError, TimeoutError):
                    pass
            if not pending:
                return True
            time.sleep(0.05)
        return False


def zone_text(origin, serial=1, extra=""):
    return (f"$ORIGIN {origin}.\n$TTL 300\n"
            f"@ SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n"
            "@ NS ns1\nns1 A 127.0.0.1\n" + extra)


# --------------------------------------------------------------------------
# TLS for Pebble and the proxy (Pebble itself: pebble_ca.py)
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls():
    d = short_tmpdir("cdt-tls-")
    yield make_tls_ca(d)
    shutil.rmtree(d, ignore_errors=True)


class CAAProxy(ARIProxy):
    """ARIProxy (recording, no ARI) whose directory also lists meta.caaIdentities.

    A TEST SERVER STANDING IN FOR A CA THAT CHECKS CAA: Pebble 2.4 publishes no
    caaIdentities and never looks at CAA itself; the identities here are
    whatever the test says.  Everything else is Pebble's own answer."""

    def __init__(self, *args, caa_identities=(CAA_ID,), **kwargs):
        kwargs.setdefault("add_renewal_info", False)
        super().__init__(*args, **kwargs)
        self.caa_identities = list(caa_identities)

    def _forward(self, method, path, headers, body):
        status, reason, hdrs, data = super()._forward(method, path, headers, body)
        if method == "GET" and urllib.parse.urlsplit(path).path == "/dir" and status == 200:
            try:
                directory = json.loads(data)
                directory.setdefault("meta", {})["caaIdentities"] = self.caa_identities
                data = json.dumps(directory, indent=2).encode()
            except ValueError:
                pass
        return status, reason, hdrs, data


def orders_created(proxy):
    """The newOrder requests the CA accepted (201); a badNonce retry is not an order."""
    return [e for e in proxy.new_orders() if e["status"] == 201]


def order_identifiers(exchange):
    payload = exchange.get("payload") or {}
    return sorted(i.get("value") for i in payload.get("identifiers", []))


# --------------------------------------------------------------------------
# The world of one test: certdnsd, Pebbles, proxies, unbound, Knot
# --------------------------------------------------------------------------

class World:
    def __init__(self, root, tls=None):
        self.root = Path(root)
        self.tls = tls
        self.db = self.root / "db"
        self.daemon = None
        self.pebbles = []
        self.proxies = []
        self.procs = []
        self.resolver = f"127.0.0.1:{dead_port()}"   # replaced by start_unbound

    # ---- certdnsd ---------------------------------------------------------

    def make_db(self, zones=None):
        self.db.mkdir(exist_ok=True)
        for origin, text in (zones or {ZONE: zone_text(ZONE)}).items():
            path = self.root / f"{origin}.zone"
            path.write_text(text)
            import_zone(self.db, path)

    def start_daemon(self):
        self.daemon = V4Daemon(self.db, self.root, workers=1, name="certdnsd",
                               extra_args=["--acme-resolver", self.resolver]).start()
        return self.daemon

    def ctl(self, *args, timeout=REQUEST_TIMEOUT + 60):
        return run_ctl(self.db, *args, timeout=timeout)

    def ok(self, *args):
        r = self.ctl(*args)
        assert r.rc == 0, f"{r}\n{self.diag()}"
        return r

    # ---- ACME -------------------------------------------------------------

    def start_pebble(self, dns_server=None, extra_conf=None, proxy=None):
        name = f"pebble{len(self.pebbles) + 1}"
        p = Pebble(self.root, self.tls, dns_server or f"127.0.0.1:{self.daemon.port}",
                   config=extra_conf, name=name)
        self.pebbles.append(p)
        p.start()
        if proxy is None:
            return p, p.directory_url
        pr = proxy(("127.0.0.1", p.port), self.tls["ca"], self.tls["cert"], self.tls["key"])
        self.proxies.append(pr.start())
        return p, pr.directory_url

    def create_account(self, directory, *extra):
        return create_account(self.ctl, directory, self.tls["ca"], *extra,
                              contact="mailto:ops@example.test", diag=self.diag)

    def request(self, *names, extra=()):
        r = request_cert(self.ctl, names, REQUEST_TIMEOUT, extra)
        m = re.search(r"certificate (\d+) requested", r.stdout + r.stderr)
        assert m, f"no certificate id in {r}\n{self.diag()}"
        return r, int(m.group(1))

    def show(self, cert_id):
        return show_cert(self.ctl, cert_id)

    def events(self, cert_id):
        return [e["message"] for e in self.show(cert_id).get("events", [])]

    def check(self, name, *extra):
        """certdnsctl check NAME --resolver R: (text result, json result, parsed json)."""
        text = self.ctl("check", name, "--resolver", self.resolver, *extra)
        js = self.ctl("--json", "check", name, "--resolver", self.resolver, *extra)
        try:
            doc = json.loads(js.stdout)
        except ValueError:
            pytest.fail(f"check --json printed no JSON: {js}")
        return text, js, doc

    # ---- unbound, Knot ----------------------------------------------------

    def start_unbound(self, stubs):
        """unbound on 127.0.0.1 with stub zones {zone: port on 127.0.0.1}; the resolver."""
        d = self.root / "unbound"
        d.mkdir()
        stub_text = "".join(f"""
stub-zone:
    name: "{zone}"
    stub-addr: 127.0.0.1@{p}
    stub-no-cache: yes
""" for zone, p in stubs.items())
        for _attempt in range(5):
            port = pick_free_port()
            conf = d / "unbound.conf"
            conf.write_text(f"""server:
    verbosity: 1
    interface: 127.0.0.1
    port: {port}
    do-ip4: yes
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    so-reuseport: no
    num-threads: 1
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    chroot: ""
    username: ""
    directory: "{d}"
    pidfile: "{d}/unbound.pid"
    use-syslog: no
    logfile: ""
    module-config: "iterator"
    qname-minimisation: no
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
    local-zone: "test." nodefault

remote-control:
    control-enable: no
{stub_text}""")
            chk = subprocess.run([UNBOUND_CHECKCONF, conf], capture_output=True, text=True,
                                 timeout=60)
            assert chk.returncode == 0, f"unbound-checkconf:\n{chk.stdout}{chk.stderr}"
            p = Proc("unbound", [UNBOUND, "-d", "-c", conf], d / "unbound.log").start()
            self.procs.append(p)
            probe = next(iter(stubs))

            def ready():
                try:
                    r = ask(port, probe, "SOA", timeout=0.5)
                    return r.rcode() == dns.rcode.NOERROR and r.answer != []
                except (OSError, dns.exception.Timeout):
                    return False
            if self._wait(p, ready):
                self.resolver = f"127.0.0.1:{port}"
                return port
            p.stop()
        pytest.fail(f"unbound did not start:\n{p.log()[-3000:]}")

    def start_knot(self, zones):
        """knotd serving {origin: master-file text} on 127.0.0.1; returns its port."""
        d = self.root / "knot"
        (d / "db").mkdir(parents=True)
        for origin, text in zones.items():
            (d / f"{origin}.zone").write_text(text)
        zone_lines = "".join(f"  - domain: {o}\n" for o in zones)
        last = ""
        for _attempt in range(5):
            port = pick_free_port()
            conf = d / "knot.conf"
            conf.write_text(f"""server:
    rundir: "{d}"
    listen: 127.0.0.1@{port}
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

template:
  - id: default
    storage: "{d}"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none

zone:
{zone_lines}""")
            chk = subprocess.run([KNOTC, "-c", conf, "conf-check"], capture_output=True,
                                 text=True, timeout=60)
            assert chk.returncode == 0, f"knotc conf-check:\n{chk.stdout}{chk.stderr}"
            p = Proc("knotd", [KNOTD, "-c", conf], d / "knotd.log").start()
            self.procs.append(p)

            def ready():
                try:
                    return all(ask(port, o, "SOA", rd=False, timeout=0.3).answer != []
                               for o in zones)
                except (OSError, dns.exception.Timeout):
                    return False
            if self._wait(p, ready):
                return port
            p.stop()
            last = p.log()
        pytest.fail(f"knotd did not start:\n{last[-3000:]}")

    @staticmethod
    def _wait(p, ready):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not p.alive():
                return False
            if ready():
                return True
            time.sleep(0.1)
        return False

    # ---- diagnostics, teardown ---------------------------------------------

    def diag(self, cert_id=None):
        parts = []
        if cert_id is not None:
            r = self.ctl("cert", "show", cert_id)
            parts.append(f"--- cert show {cert_id}:\n{r.stdout}{r.stderr}")
        if self.daemon is not None:
            parts.append(f"--- certdnsd log:\n{self.daemon.log_tail(30)}")
        for p in self.pebbles:
            parts.append(f"--- {p.name} log:\n" + "\n".join(p.log().splitlines()[-20:]))
        for pr in self.proxies:
            if pr.errors():
                parts.append("--- proxy errors:\n" + "\n".join(pr.errors()))
        return "\n".join(parts)

    def stop(self):
        for pr in self.proxies:
            pr.stop()
        for p in self.pebbles:
            p.stop()
        for p in self.procs:
            p.stop()
        return self.daemon.stop() if self.daemon is not None else 0


@pytest.fixture
def world_factory(tls):
    worlds = []

    def make():
        w = World(short_tmpdir("cdt-"), tls)
        worlds.append(w)
        return w

    yield make
    stop_worlds(worlds, [w.root for w in worlds])


# --------------------------------------------------------------------------
# 1. cert import
# --------------------------------------------------------------------------

KEY_FORMS = {
    # form: the key type cert import reports (a prefix of it)
    "rsa-pkcs1": "rsa",
    "rsa-pkcs8": "rsa",
    "ec-sec1": "ecdsa",
    "ec-pkcs8": "ecdsa",
    "ed25519": "ed25519",
}


def assert_key_sealed(db, *key_paths):
    """No base64 line of any of these keys (as given, or re-encoded as PKCS#8) is in data.mdb."""
    data = (db / "data.mdb").read_bytes()
    assert b"PRIVATE KEY" not in data, "a PEM private key is stored in the clear in data.mdb"
    for path in key_paths:
        forms = [Path(path).read_text(), openssl("pkey", "-in", path).stdout]
        for text in forms:
            lines = [ln for ln in text.splitlines() if ln and not ln.startswith("-----")]
            assert lines
            for ln in lines:
                if len(ln) >= 24:
                    assert ln.encode() not in data, \
                        f"a line of the private key {path} is stored in the clear: {ln}"


@pytest.mark.parametrize("form", sorted(KEY_FORMS))
def test_import_accepts_key_forms(pki, tmpdir_short, form):
    db = new_db(tmpdir_short)
    key = pki.key(form)
    names = [f"{form}.import.test", f"www.{form}.import.test"]
    leaf, _nb, na = pki.leaf(key, names)
    bundle = pki.bundle(f"bundle-{form}.pem", leaf, pki.inter)
    r = run_ctl(db, "cert", "import", "--cert", bundle, "--key", key)
    assert r.rc == 0, r
    out = r.stdout
    assert re.match(r"certificate 1 imported: 2 certificates in the chain, ", out), out
    assert "reordered" not in out, out
    assert f"valid until {shown_time(na)}" in out, out
    assert f"names: {names[0]} {names[1]}" in out, out
    m = re.search(r"key (\S+),", out)
    assert m and m.group(1).startswith(KEY_FORMS[form]), out

    c = json.loads(run_ctl(db, "--json", "cert", "show", 1).stdout)
    assert c["state"] == "imported" and c["status"] == "imported", c
    assert c["names"] == names, c
    assert c["not_after"] == na, c
    assert "intermediate" in c["issuer"], c
    assert "key" not in c, "cert show must not print the (sealed) key"

    listing = run_ctl(db, "cert", "list")
    assert listing.rc == 0, listing
    assert re.search(rf"^1\s+imported\s+{re.escape(shown_time(na))}\s+{re.escape(names[0])} "
                     rf"{re.escape(names[1])}\s*$", listing.stdout, re.M), listing.stdout
    assert "WARNING" not in listing.stdout, listing.stdout

    # Stored sealed: nothing of the key text in the database file.
    assert_key_sealed(db, key)

    # ... and it comes back out whole (as PKCS#8), matching the certificate.
    out_dir = tmpdir_short / "export"
    r = run_ctl(db, "cert", "export", 1, "--dir", out_dir)
    assert r.rc == 0, r
    exported_key = out_dir / "privkey.pem"
    assert exported_key.read_text().startswith("-----BEGIN PRIVATE KEY-----"), \
        exported_key.read_text()[:40]
    assert stat.S_IMODE(exported_key.stat().st_mode) == 0o600
    assert key_pubkey(exported_key) == key_pubkey(key)
    assert key_pubkey(exported_key) == cert_pubkey((out_dir / "cert.pem").read_text())
    assert subject_of((out_dir / "cert.pem").read_text()) == f"CN={names[0]}"
    assert subject_of((out_dir / "chain.pem").read_text()) == subject_of(pki.inter.read_text())


def test_import_puts_the_bundle_in_order(pki, tmpdir_short):
    db = new_db(tmpdir_short)
    key = pki.key("ec-pkcs8")
    names = ["shop.import.test", "*.shop.import.test"]
    leaf, _nb, _na = pki.leaf(key, names)
    leaf_subject = subject_of(leaf.read_text())
    inter_subject = subject_of(pki.inter.read_text())
    root_subject = subject_of(pki.root.read_text())

    # Intermediate first, then the leaf.
    bundle = pki.bundle("reversed.pem", pki.inter, leaf)
    r = run_ctl(db, "cert", "import", "--cert", bundle, "--key", key)
    assert r.rc == 0, r
    assert "(reordered)" in r.stdout, r.stdout
    c = json.loads(run_ctl(db, "--json", "cert", "show", 1).stdout)
    assert any("put in order" in e["message"] for e in c["events"]), c["events"]
    d = tmpdir_short / "x1"
    assert run_ctl(db, "cert", "export", 1, "--dir", d).rc == 0
    assert subject_of((d / "cert.pem").read_text()) == leaf_subject
    chain = pem_certs((d / "chain.pem").read_text())
    assert [subject_of(p) for p in chain] == [inter_subject]
    full = pem_certs((d / "fullchain.pem").read_text())
    assert [subject_of(p) for p in full] == [leaf_subject, inter_subject]
    # The exported chain verifies against the test root.
    v = openssl("verify", "-CAfile", pki.root, "-untrusted", d / "chain.pem", d / "cert.pem",
                check=False)
    assert v.returncode == 0, v.stdout + v.stderr

    # Root, leaf, intermediate: leaf, intermediate, root.
    bundle = pki.bundle("shuffled.pem", pki.root, leaf, pki.inter)
    r = run_ctl(db, "cert", "import", "--cert", bundle, "--key", key)
    assert r.rc == 0, r
    assert "certificate 2 imported: 3 certificates in the chain" in r.stdout, r.stdout
    assert "(reordered)" in r.stdout, r.stdout
    d = tmpdir_short / "x2"
    assert run_ctl(db, "cert", "export", 2, "--dir", d).rc == 0
    assert [subject_of(p) for p in pem_certs((d / "fullchain.pem").read_text())] == \
        [leaf_subject, inter_subject, root_subject]

    # In order already: not "reordered".
    bundle = pki.bundle("ordered.pem", leaf, pki.inter)
    r = run_ctl(db, "cert", "import", "--cert", bundle, "--key", key)
    assert r.rc == 0, r
    assert "reordered" not in r.stdout, r.stdout
    c = json.loads(run_ctl(db, "--json", "cert", "show", 3).stdout)
    assert [e["message"] for e in c["events"]] == ["imported"], c["events"]


REFUSALS = ["encrypted-pkcs8", "encrypted-traditional", "wrong-key", "unrelated-cert",
            "expired", "not-yet-valid", "garbage-cert", "garbage-key"]


@pytest.mark.parametrize("case", REFUSALS)
def test_import_refuses(pki, tmpdir_short, case):
    db = new_db(tmpdir_short)
    key = pki.key("rsa-pkcs8")
    leaf, _nb, _na = pki.leaf(key, ["refused.import.test"])
    bundle = pki.bundle(f"b-{case}.pem", leaf, pki.inter)
    now = int(time.time())
    garbage = tmpdir_short / "garbage.pem"
    garbage.write_bytes(b"this is not PEM at all\n\x00\x01\x02 certificate? no.\n" * 20)
    if case == "encrypted-pkcs8":
        enc = tmpdir_short / "enc.pem"
        openssl("pkey", "-in", key, "-aes256", "-passout", "pass:secret", "-out", enc)
        assert "BEGIN ENCRYPTED PRIVATE KEY" in enc.read_text()
        key = enc
        want = [rf"{re.escape(str(enc))} is encrypted", r"decrypt it first",
                rf"openssl pkey -in {re.escape(str(enc))}"]
    elif case == "encrypted-traditional":
        enc = tmpdir_short / "enc-trad.pem"
        openssl("rsa", "-in", key, "-traditional", "-aes256", "-passout", "pass:secret",
                "-out", enc)
        text = enc.read_text()
        assert "BEGIN RSA PRIVATE KEY" in text and "Proc-Type: 4,ENCRYPTED" in text, text[:200]
        key = enc
        want = [r"is encrypted", r"decrypt it first", r"openssl pkey -in"]
    elif case == "wrong-key":
        key = pki.key("rsa-pkcs8")
        want = [r"does not belong to any certificate"]
    elif case == "unrelated-cert":
        other = PKI(tmpdir_short / "other", label="unrelated")
        okey = other.key("ec-pkcs8")
        oleaf, _, _ = other.leaf(okey, ["unrelated.other.test"])
        bundle = pki.bundle("b-unrelated.pem", leaf, pki.inter, oleaf)
        want = [r"certificate 3 of", r"CN=unrelated\.other\.test", r"does not issue"]
    elif case == "expired":
        leaf, _, na = pki.leaf(key, ["expired.import.test"], not_before=now - 60 * DAY,
                               not_after=now - 2 * DAY)
        bundle = pki.bundle("b-expired.pem", leaf, pki.inter)
        want = [rf"expired on {re.escape(shown_time(na))}", r"only a currently valid"]
    elif case == "not-yet-valid":
        leaf, nb, _ = pki.leaf(key, ["future.import.test"], not_before=now + 2 * DAY,
                               not_after=now + 60 * DAY)
        bundle = pki.bundle("b-future.pem", leaf, pki.inter)
        want = [rf"is not valid before {re.escape(shown_time(nb))}", r"only a currently valid"]
    elif case == "garbage-cert":
        bundle = garbage
        want = [rf"{re.escape(str(garbage))} holds no PEM certificate"]
    elif case == "garbage-key":
        key = garbage
        want = [rf"{re.escape(str(garbage))} is not an RSA, ECDSA or Ed25519 private key"]
    else:
        raise AssertionError(case)
    r = run_ctl(db, "cert", "import", "--cert", bundle, "--key", key)
    assert r.rc == 1, r
    for pattern in want:
        assert re.search(pattern, r.stderr), f"{pattern!r} not in the message: {r}"
    assert "Segmentation" not in r.stderr
    # Nothing was stored.
    listing = run_ctl(db, "--json", "cert", "list")
    assert listing.rc == 0 and json.loads(listing.stdout) == [], listing


def test_import_deploy_hook_needs_export_dir(pki, tmpdir_short):
    """Like cert request: a deploy hook deploys the export directory's files."""
    db = new_db(tmpdir_short)
    key = pki.key("ec-pkcs8")
    leaf, _nb, _na = pki.leaf(key, ["hook.import.test"])
    marker = tmpdir_short / "hook-ran"
    r = run_ctl(db, "cert", "import", "--cert", pki.bundle("hook-b.pem", leaf, pki.inter),
                "--key", key, "--deploy-hook", f"touch {marker}")
    assert r.rc != 0, f"--deploy-hook without --export-dir was accepted (and can never run): {r}"
    assert "--export-dir" in r.stderr, r


def test_import_export_dir_writes_files_and_runs_hook(pki, tmpdir_short):
    """cert import --export-dir DIR --deploy-hook CMD: an imported certificate is
    "exported like issued ones" (doc/acme.md); an issued one is written to its
    export directory and deployed when it is issued.  The engine never looks at
    imported certificates, so this must happen at import (by certdnsctl, or by a
    running daemon: one runs here, and the files are awaited for a while)."""
    w = World(tmpdir_short)
    w.make_db()
    w.start_daemon()
    try:
        key = pki.key("ec-sec1")
        names = ["deploy.import.test"]
        leaf, _nb, _na = pki.leaf(key, names)
        out = tmpdir_short / "export"
        hooklog = tmpdir_short / "hook.log"
        sigs = tmpdir_short / "hook.sigs"
        hook = (f'echo "$CERTDNS_CERT_ID|$CERTDNS_NAMES|$CERTDNS_DIR" >> {hooklog}; '
                # builtins only: dash blocks every signal while it waits for a child
                f'while read -r f v; do case $f in SigBlk:|SigIgn:) echo "$f$v";; esac; '
                f'done < /proc/$$/status > {sigs}')
        r = w.ctl("cert", "import", "--cert", pki.bundle("deploy-b.pem", leaf, pki.inter),
                  "--key", key, "--export-dir", out, "--deploy-hook", hook)
        assert r.rc == 0, r
        c = w.show(1)
        assert c.get("export_dir") == str(out), c

        def written():
            return (out / "fullchain.pem").exists() and hooklog.exists()
        deadline = time.monotonic() + 70          # the engine sleeps at most 60 s
        while time.monotonic() < deadline and not written():
            time.sleep(0.5)
        assert (out / "fullchain.pem").exists(), (
            f"cert import --export-dir {out}: no file was ever written there "
            f"(history: {[e['message'] for e in w.show(1)['events']]})")
        assert subject_of((out / "cert.pem").read_text()) == f"CN={names[0]}"
        assert key_pubkey(out / "privkey.pem") == key_pubkey(key)
        assert stat.S_IMODE((out / "privkey.pem").stat().st_mode) == 0o600
        assert hooklog.exists(), "the deploy hook of an imported certificate never ran"
        assert hooklog.read_text().splitlines() == [f"1|{names[0]}|{out}"]
        # The hook starts with no signal blocked and SIGPIPE not ignored, whoever ran it.
        masks = dict(line.split(":") for line in sigs.read_text().split("\n") if line)
        assert int(masks["SigBlk"], 16) == 0, masks
        assert not int(masks["SigIgn"], 16) & (1 << (13 - 1)), masks   # SIGPIPE
    finally:
        rc = w.stop()
        w.daemon.assert_clean_exit(rc)


@need_pebble
def test_imported_certificates_warn_and_are_never_renewed(pki, world_factory):
    w = world_factory()
    w.make_db()
    now = int(time.time())
    # One that expires in 5 days (started 20 days ago: a third of its lifetime is
    # left, so an issued certificate would be due for renewal) and one for 90 days.
    k1 = pki.key("ec-sec1")
    soon, _nb1, na1 = pki.leaf(k1, ["soon.import.test"], not_before=now - 20 * DAY,
                               not_after=now + 5 * DAY)
    k2 = pki.key("rsa-pkcs1")
    later, _nb2, _na2 = pki.leaf(k2, ["later.import.test"])
    for leaf, key in ((soon, k1), (later, k2)):
        r = w.ctl("cert", "import", "--cert", pki.bundle(f"{leaf.stem}-b.pem", leaf, pki.inter),
                  "--key", key)
        assert r.rc == 0, r

    listing = w.ok("cert", "list").stdout
    rows = {int(ln.split()[0]): ln for ln in listing.splitlines()[1:] if ln.strip()}
    m = re.search(r"WARNING: expires in (\d+) days?; import a new one", rows[1])
    assert m and int(m.group(1)) in (4, 5), listing          # 5 days less a few seconds
    assert "WARNING" not in rows[2], listing
    before = {i: w.show(i) for i in (1, 2)}

    # A daemon, a CA and an account: the engine runs, issues one certificate,
    # and orders nothing for the imported ones.
    w.start_daemon()
    _pebble, directory = w.start_pebble(
        proxy=lambda *a: ARIProxy(*a, add_renewal_info=False))     # records, adds nothing
    proxy = w.proxies[0]
    w.create_account(directory)
    r, cid = w.request(ZONE)
    assert r.rc == 0, f"{r}\n{w.diag(cid)}"
    assert cid == 3
    orders = orders_created(proxy)
    assert [order_identifiers(o) for o in orders] == [[ZONE]], \
        [order_identifiers(o) for o in orders]
    w.daemon.stop_and_check()
    for i in (1, 2):
        after = w.show(i)
        assert after == before[i], f"imported certificate {i} changed:\n{before[i]}\n{after}"
    assert "WARNING" in w.ok("cert", "list").stdout


# --------------------------------------------------------------------------
# 2. cert csr
# --------------------------------------------------------------------------

@pytest.mark.parametrize("key_type,want", [
    ("rsa-2048", [r"Private-Key: \(2048 bit"]),
    ("ecdsa-p384", [r"Private-Key: \(384 bit", r"NIST CURVE: P-384"]),
])
def test_csr(tmpdir_short, key_type, want):
    db = new_db(tmpdir_short)
    out = tmpdir_short / "csr"
    names = ["shop.example.test", "*.shop.example.test", "www.example.test"]
    r = run_ctl(db, "cert", "csr", *names, "--key", key_type, "--out", out)
    assert r.rc == 0, r
    assert f"request.csr for {len(names)} names" in r.stdout, r.stdout
    key, csr = out / "privkey.pem", out / "request.csr"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600, oct(key.stat().st_mode)
    assert "PRIVATE KEY" in key.read_text()

    v = openssl("req", "-in", csr, "-verify", "-noout", check=False)
    assert v.returncode == 0 and "verify OK" in v.stdout + v.stderr, v.stdout + v.stderr
    text = openssl("req", "-in", csr, "-noout", "-text").stdout
    assert san_dns_names(text) == sorted(names), text
    assert openssl("req", "-in", csr, "-noout", "-pubkey").stdout == key_pubkey(key)
    key_text = openssl("pkey", "-in", key, "-noout", "-text").stdout
    for pattern in want:
        assert re.search(pattern, key_text), f"{pattern!r} not in:\n{key_text}"

    # Never overwrites a key.
    before_key, before_csr = key.read_bytes(), csr.read_bytes()
    r = run_ctl(db, "cert", "csr", "other.example.test", "--key", key_type, "--out", out)
    assert r.rc == 1, r
    assert "privkey.pem" in r.stderr and "not overwriting" in r.stderr, r
    assert key.read_bytes() == before_key and csr.read_bytes() == before_csr
    assert sorted(p.name for p in out.iterdir()) == ["privkey.pem", "request.csr"]


def test_csr_refuses_bad_input(tmpdir_short):
    db = new_db(tmpdir_short)
    r = run_ctl(db, "cert", "csr", "a.example.test", "--key", "dsa-1024", "--out",
                tmpdir_short / "o1")
    assert r.rc != 0 and "unknown key type" in r.stderr, r
    r = run_ctl(db, "cert", "csr", "not a name!", "--out", tmpdir_short / "o2")
    assert r.rc != 0, r
    assert not (tmpdir_short / "o2" / "privkey.pem").exists()


# --------------------------------------------------------------------------
# 3. check NAME
# --------------------------------------------------------------------------

def checks_by_name(doc):
    return {c["check"]: c for c in doc["checks"]}


@need_knot_unbound
def test_check(world_factory):
    w = world_factory()
    # Ours: example.test (NS ns1.example.test = this daemon), acme.ourzone.test
    # (where customers' CNAMEs point), moved.test (hosted here, but the world
    # sees other name servers).
    w.make_db({ZONE: zone_text(ZONE), ACME_ZONE: zone_text(ACME_ZONE),
               "moved.test": zone_text("moved.test")})
    w.ok("record", "add", ZONE, "www.example.test. A 192.0.2.80")    # serial 2 here
    w.ok("settings", "set", "acme_zone", ACME_ZONE)
    w.start_daemon()
    # Knot: the customer's DNS provider (customer.test), a stale copy of
    # example.test (serial 1: "a secondary that is behind"), and moved.test
    # with other name servers.
    knot = w.start_knot({
        "customer.test": zone_text("customer.test", extra=(
            "www A 192.0.2.1\n"
            f"_acme-challenge.shop CNAME shop-customer-test.{ACME_ZONE}.\n"
            "_acme-challenge.bad CNAME somewhere.customer.test.\n")),
        ZONE: zone_text(ZONE, serial=1),
        "moved.test": ("$ORIGIN moved.test.\n$TTL 300\n"
                       "@ SOA ns.elsewhere.test. hostmaster 7 7200 3600 1209600 300\n"
                       "@ NS ns.elsewhere.test.\n"),
    })
    w.start_unbound({ZONE: w.daemon.port, ACME_ZONE: w.daemon.port,
                     "customer.test": knot, "moved.test": knot})
    serial_here = json.loads(w.ok("--json", "zone", "show", ZONE).stdout).get("serial")

    # All well.
    text, js, doc = w.check(f"www.{ZONE}")
    assert text.rc == 0 and js.rc == 0, f"{text}\n{js}\n{w.diag()}"
    c = checks_by_name(doc)
    assert list(c) == ["delegation", "challenge", "caa", "serials"], doc
    assert doc["ok"] is True and doc["name"] == f"www.{ZONE}", doc
    assert c["delegation"]["ok"] is True, doc
    assert f"delegated to our name servers (ns1.{ZONE}.)" in c["delegation"]["detail"], doc
    assert c["challenge"]["ok"] is True, doc
    assert f"goes to _acme-challenge.www.{ZONE}. in our zone {ZONE}." in c["challenge"]["detail"]
    assert c["caa"]["ok"] is None, doc               # no ACME account: cannot tell
    assert c["serials"]["ok"] is True, doc
    assert re.match(rf"ok\s+delegation\s+{re.escape(ZONE)}\. is hosted here", text.stdout), \
        text.stdout
    assert re.search(r"^\?\s+caa\s", text.stdout, re.M), text.stdout

    # A secondary that is behind (Knot, serial 1): serials WRONG.
    w.ok("secondary", "add", ZONE, f"127.0.0.1:{knot}")
    text, js, doc = w.check(f"www.{ZONE}")
    c = checks_by_name(doc)
    assert text.rc == 1 and js.rc == 1, f"{text}\n{js}"
    assert doc["ok"] is False and c["serials"]["ok"] is False, doc
    if serial_here is not None:
        assert f"serial {serial_here} here" in c["serials"]["detail"], doc
    assert f"127.0.0.1:{knot} has 1" in c["serials"]["detail"], doc
    assert c["serials"].get("fix"), doc
    assert re.search(r"^WRONG\s+serials\s", text.stdout, re.M), text.stdout
    assert re.search(r"^\s+fix: ", text.stdout, re.M), text.stdout
    assert c["delegation"]["ok"] is True and c["challenge"]["ok"] is True, doc
    w.ok("secondary", "delete", ZONE, f"127.0.0.1:{knot}")

    # A secondary where nothing answers.
    silent = dead_port()
    w.ok("secondary", "add", ZONE, f"127.0.0.1:{silent}")
    text, js, doc = w.check(f"www.{ZONE}")
    c = checks_by_name(doc)
    assert text.rc == 1 and js.rc == 1, f"{text}\n{js}"
    assert c["serials"]["ok"] is False, doc
    assert f"127.0.0.1:{silent} does not answer" in c["serials"]["detail"], doc
    w.ok("secondary", "delete", ZONE, f"127.0.0.1:{silent}")

    # A customer's name without the CNAME: WRONG, with the record to create.
    text, js, doc = w.check("www.customer.test")
    c = checks_by_name(doc)
    assert text.rc == 1 and js.rc == 1, f"{text}\n{js}\n{w.diag()}"
    assert doc["ok"] is False, doc
    assert "delegation" not in c and "serials" not in c, doc     # not our zone
    assert c["challenge"]["ok"] is False, doc
    detail = c["challenge"]["detail"]
    m = re.search(r"create the record '(_acme-challenge\.www\.customer\.test\. CNAME (\S+))'",
                  detail)
    assert m, detail
    assert m.group(2) == f"www-customer-test.{ACME_ZONE}.", detail
    assert m.group(2).endswith(f"{ACME_ZONE}."), detail
    assert "at the DNS provider of www.customer.test" in detail, detail
    assert re.search(r"^WRONG\s+challenge\s+_acme-challenge\.www\.customer\.test\.", text.stdout,
                     re.M), text.stdout

    # The same customer with the CNAME in place: fine.
    text, js, doc = w.check("shop.customer.test")
    c = checks_by_name(doc)
    assert text.rc == 0 and js.rc == 0, f"{text}\n{js}\n{w.diag()}"
    assert c["challenge"]["ok"] is True, doc
    assert c["challenge"]["detail"] == (
        f"_acme-challenge.shop.customer.test. is a CNAME to shop-customer-test.{ACME_ZONE}.: "
        f"the TXT record goes to shop-customer-test.{ACME_ZONE}. in our zone {ACME_ZONE}."), doc

    # A CNAME that leads out of our zones: WRONG, with what to make it.
    text, js, doc = w.check("bad.customer.test")
    c = checks_by_name(doc)
    assert text.rc == 1, text
    assert c["challenge"]["ok"] is False, doc
    assert "leads by CNAME to somewhere.customer.test." in c["challenge"]["detail"], doc
    assert (f"make it '_acme-challenge.bad.customer.test. CNAME bad-customer-test.{ACME_ZONE}.'"
            in c["challenge"]["detail"]), doc

    # Hosted here but delegated elsewhere: delegation WRONG with the fix.
    text, js, doc = w.check("moved.test")
    c = checks_by_name(doc)
    assert text.rc == 1, text
    assert c["delegation"]["ok"] is False, doc
    assert "the world sees NS ns.elsewhere.test." in c["delegation"]["detail"], doc
    assert c["delegation"]["fix"] == ("at the registrar of moved.test., set the name servers "
                                      "to: ns1.moved.test."), doc

    # The resolver does not answer: "could not tell" (null), which is not WRONG.
    text = w.ctl("--json", "check", f"www.{ZONE}", "--resolver", f"127.0.0.1:{dead_port()}")
    doc = json.loads(text.stdout)
    c = checks_by_name(doc)
    assert c["delegation"]["ok"] is None, doc
    assert text.rc == 0 and doc["ok"] is True, doc


# --------------------------------------------------------------------------
# 4. CAA
# --------------------------------------------------------------------------

@need_pebble
def test_caa(world_factory):
    w = world_factory()
    w.make_db()
    w.start_daemon()
    if UNBOUND and UNBOUND_CHECKCONF:
        # Only to make `check` quick (delegation ok); CAA of our zone is read from our data.
        w.start_unbound({ZONE: w.daemon.port})
    _pebble, directory = w.start_pebble(proxy=CAAProxy)
    proxy = w.proxies[0]
    acct = w.create_account(directory)
    account_url = json.loads(w.ok("--json", "acme", "account", "show", acct).stdout)["url"]
    assert account_url.startswith(proxy.base_url), account_url

    def set_caa(*rdatas):
        w.ok("record", "replace", ZONE, *[f"{ZONE}. 300 CAA {rd}" for rd in rdatas])

    def refused_before_order(name, fix):
        n_orders = len(proxy.new_orders())
        r, cid = w.request(name)
        assert r.rc == 1, f"{r}\n{w.diag(cid)}"
        c = w.show(cid)
        assert c["state"] == "failed", c
        msgs = [e["message"] for e in c["events"]]
        assert not any("order" in m for m in msgs), msgs
        assert fix in c["error"]["detail"], c["error"]
        assert fix in r.stderr, r
        assert len(proxy.new_orders()) == n_orders, "an order was placed despite CAA"
        return c

    def issued(name):
        n_orders = len(orders_created(proxy))
        r, cid = w.request(name)
        assert r.rc == 0, f"{r}\n{w.diag(cid)}"
        assert w.show(cid)["state"] == "issued"
        assert len(orders_created(proxy)) == n_orders + 1
        return cid

    def caa_check(name, ok, fix=None):
        text, js, doc = w.check(name)
        c = checks_by_name(doc)["caa"]
        assert c["ok"] is ok, f"{doc}\n{text}"
        if ok is False:
            assert text.rc == 1 and js.rc == 1, text
            assert c["fix"] == fix, doc
            assert re.search(r"^WRONG\s+caa\s", text.stdout, re.M), text.stdout
            assert f"fix: {fix}" in text.stdout, text.stdout
        return c

    # Another CA only: refused before any order, with the record to add.
    set_caa('0 issue "other-ca.test"')
    fix = f"add the record '{ZONE}. CAA 0 issue \"{CAA_ID}\"'"
    c = refused_before_order(ZONE, fix)
    assert f"do not allow {CAA_ID} to issue for {ZONE}" in c["error"]["detail"], c["error"]
    caa_check(ZONE, False, fix)
    # A CAA RRset deeper down is the relevant one for names under it.
    w.ok("record", "add", ZONE, f'sub.{ZONE}. 300 CAA 0 issue "{CAA_ID}"')
    caa_check(f"www.sub.{ZONE}", True)
    w.ok("record", "delete", ZONE, f"sub.{ZONE}. CAA")

    # Our CA: issued.
    set_caa(f'0 issue "{CAA_ID}"')
    caa_check(ZONE, True)
    issued(ZONE)

    # issuewild ";": wildcards forbidden, other names still fine.
    set_caa(f'0 issue "{CAA_ID}"', '0 issuewild ";"')
    wfix = f"add the record '{ZONE}. CAA 0 issuewild \"{CAA_ID}\"'"
    c = refused_before_order(f"*.{ZONE}", wfix)
    assert "wildcard certificates" in c["error"]["detail"], c["error"]
    caa_check(f"*.{ZONE}", False, wfix)
    caa_check(f"www.{ZONE}", True)
    issued(f"www.{ZONE}")

    # accounturi (RFC 8657): another account forbids, ours allows.
    other = account_url.rsplit("/", 1)[0] + "/0123456789abcdef"
    assert other != account_url, account_url
    set_caa(f'0 issue "{CAA_ID}; accounturi={other}"')
    refused_before_order(ZONE, fix)
    caa_check(ZONE, False, fix)
    set_caa(f'0 issue "{CAA_ID}; accounturi={account_url}"')
    caa_check(ZONE, True)
    # validationmethods without dns-01 forbids.
    set_caa(f'0 issue "{CAA_ID}; validationmethods=http-01"')
    refused_before_order(ZONE, fix)

    # A critical property nobody understands forbids everything.
    set_caa(f'0 issue "{CAA_ID}"', '128 tbs "x"')
    crit = f"remove the CAA record '{ZONE}. CAA 128 tbs \"x\"'"
    c = refused_before_order(f"www.{ZONE}", crit)
    crit_detail = c["error"]["detail"]
    assert "critical CAA property 'tbs'" in crit_detail, c["error"]
    caa_check(f"www.{ZONE}", False, crit)
    # Non-critical, the same unknown tag is ignored.
    set_caa(f'0 issue "{CAA_ID}"', '0 tbs "x"')
    caa_check(f"www.{ZONE}", True)

    # The refusal must read as an instruction: for a critical property the fix
    # is to remove a record, not "to allow it, add: remove the CAA record ...".
    assert "add: remove" not in crit_detail, \
        f"the engine's CAA refusal says to *add* a removal: {crit_detail!r}"


# --------------------------------------------------------------------------
# 5. External Account Binding
# --------------------------------------------------------------------------

@need_pebble
def test_eab(world_factory):
    w = world_factory()
    w.make_db()
    w.start_daemon()
    hmac_key = base64.urlsafe_b64encode(secrets.token_bytes(48)).rstrip(b"=").decode()
    wrong_key = base64.urlsafe_b64encode(secrets.token_bytes(48)).rstrip(b"=").decode()
    pebble, directory = w.start_pebble(extra_conf={
        "externalAccountBindingRequired": True,
        "externalAccountMACKeys": {"kid-1": hmac_key},
    })
    assert json.loads(pebble.get(directory))["meta"].get("externalAccountRequired") is True

    base = ["acme", "account", "create", "--directory", directory, "--agree-tos",
            "--ca-file", w.tls["ca"]]
    r = w.ctl(*base)
    assert r.rc == 1, r
    assert "requires External Account Binding" in r.stderr and "--eab-kid" in r.stderr, r

    r = w.ctl(*base, "--eab-kid", "kid-1")
    assert r.rc != 0 and "go together" in r.stderr, r

    r = w.ctl(*base, "--eab-kid", "kid-1", "--eab-hmac", wrong_key)
    assert r.rc == 1 and "the CA refused the account" in r.stderr, r
    r = w.ctl(*base, "--eab-kid", "kid-unknown", "--eab-hmac", hmac_key)
    assert r.rc == 1 and "the CA refused the account" in r.stderr, r
    assert json.loads(w.ok("--json", "acme", "account", "list").stdout) == []

    r = w.ctl(*base, "--eab-kid", "kid-1", "--eab-hmac", hmac_key)
    assert r.rc == 0, f"{r}\n{w.diag()}"
    assert re.match(r"account 1: https://127\.0\.0\.1:\d+/\S+ \(created", r.stdout), r.stdout
    r, cid = w.request(ZONE)
    assert r.rc == 0, f"{r}\n{w.diag(cid)}"
    c = w.show(cid)
    assert c["state"] == "issued" and c["account"] == 1, c


# --------------------------------------------------------------------------
# 6. Several CAs, fallback
# --------------------------------------------------------------------------

def fallback_world(world_factory):
    """certdnsd, Pebble A (validation always fails: its DNS server does not answer),
    Pebble B, account 1 at A, account 2 at B."""
    w = world_factory()
    w.make_db()
    w.start_daemon()
    pebble_a, dir_a = w.start_pebble(dns_server=f"127.0.0.1:{dead_port()}")
    pebble_b, dir_b = w.start_pebble()
    assert w.create_account(dir_a) == 1
    assert w.create_account(dir_b) == 2
    return w, pebble_a, pebble_b


def request_with_fallback(w, *names):
    r, cid = w.request(*names, extra=("--account", 1, "--fallback-account", 2))
    assert r.rc == 0, f"{r}\n{w.diag(cid)}"
    return r, cid


@need_pebble
def test_several_cas_and_fallback(world_factory):
    w, pebble_a, pebble_b = fallback_world(world_factory)
    inter_a, inter_b = pebble_a.intermediate(), pebble_b.intermediate()
    cn_a, cn_b = subject_of(inter_a), subject_of(inter_b)
    assert cn_a != cn_b, (cn_a, cn_b)

    r = w.ctl("cert", "request", ZONE)
    assert r.rc == 1, r
    assert "several ACME accounts: choose one with --account ID" in r.stderr, r
    r = w.ctl("cert", "request", ZONE, "--account", 1, "--fallback-account", 1)
    assert r.rc == 1 and "is the account itself" in r.stderr, r
    r = w.ctl("cert", "request", ZONE, "--account", 1, "--fallback-account", 9)
    assert r.rc == 1 and "no such account" in r.stderr, r
    assert json.loads(w.ok("--json", "cert", "list").stdout) == []

    r, cid = request_with_fallback(w, ZONE, f"www.{ZONE}")
    c = w.show(cid)
    assert c["state"] == "issued", c
    msgs = [e["message"] for e in c["events"]]
    assert "switching to the fallback ACME account 2" in msgs, msgs
    switch = msgs.index("switching to the fallback ACME account 2")
    assert any(m.startswith("certificate issued") for m in msgs[switch:]), msgs
    assert "switching to the fallback ACME account 2" in r.stdout, r.stdout
    # The first order went to A and failed validation there; the next one went to B.
    failure = next((m for m in msgs[:switch] if m.startswith("failed:")), None)
    assert failure is not None and "invalid" in failure, msgs
    orders = [(i, m) for i, m in enumerate(msgs) if re.match(r"order https://\S+ created", m)]
    before = [m for i, m in orders if i < switch]
    after = [m for i, m in orders if i > switch]
    assert before and all(f"127.0.0.1:{pebble_a.port}/" in m for m in before), msgs
    assert after and all(f"127.0.0.1:{pebble_b.port}/" in m for m in after), msgs

    # Issued by B: cert show names B's intermediate, and the chain verifies with it.
    show = w.ok("cert", "show", cid).stdout
    m = re.search(r"^\s+issuer:\s+(.*)$", show, re.M)
    assert m, show
    cn_b_value = cn_b.split("CN=", 1)[1].split(",")[0]
    cn_a_value = cn_a.split("CN=", 1)[1].split(",")[0]
    assert cn_b_value in m.group(1) and cn_a_value not in m.group(1), (m.group(1), cn_a, cn_b)
    assert "switching to the fallback ACME account 2" in show, show
    d = w.root / "export"
    w.ok("cert", "export", cid, "--dir", d)
    (w.root / "inter-b.pem").write_text(inter_b)
    (w.root / "inter-a.pem").write_text(inter_a)
    v = openssl("verify", "-partial_chain", "-CAfile", w.root / "inter-b.pem", d / "cert.pem",
                check=False)
    assert v.returncode == 0, v.stdout + v.stderr
    v = openssl("verify", "-partial_chain", "-CAfile", w.root / "inter-a.pem", d / "cert.pem",
                check=False)
    assert v.returncode != 0, "the certificate verifies against A's intermediate too?"
    assert subject_of((d / "chain.pem").read_text()) == cn_b


@need_pebble
def test_revoke_after_fallback_goes_to_the_issuing_ca(world_factory):
    """doc/acme.md: after a success on the fallback, the *next renewal* goes back
    to the first CA; but the certificate in hand is B's, and only B can revoke it."""
    w, _pebble_a, pebble_b = fallback_world(world_factory)
    _r, cid = request_with_fallback(w, ZONE)
    c = w.show(cid)
    assert "switching to the fallback ACME account 2" in [e["message"] for e in c["events"]]
    serial = int(c["serial"], 16)
    status = pebble_b.cert_status(serial)
    assert status["Status"] == "Valid", status
    r = w.ctl("cert", "revoke", cid, "--reason", "superseded")
    assert r.rc == 0, (f"revoking a certificate that account 2 (CA B) issued through the "
                       f"fallback failed; the record's 'account' is {c.get('account')}: {r}")
    status = pebble_b.cert_status(serial)
    assert status["Status"] == "Revoked", status
    assert w.show(cid)["state"] == "revoked"
