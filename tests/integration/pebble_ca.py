"""
Pebble (Let's Encrypt's test ACME server, Debian package pebble) for the
certdns integration tests: a throw-away TLS CA for its HTTPS listener, its
JSON configuration, starting it on random loopback ports, and reading what it
says (its issuing root, its log).

Facts this relies on (Debian pebble 2.4.0, see /work/shared/PEERS.md):
  - the package ships no TLS certificate: make_tls_ca() makes one with openssl;
  - the issuing root and intermediate change at every start (get them from the
    management port: /roots/0, /intermediates/0);
  - a restart forgets every account;
  - PEBBLE_VA_NOSLEEP=1 removes the random validation delay,
    PEBBLE_WFE_NONCEREJECT=N rejects N % of good nonces (badNonce);
  - its DNS-01 validation queries `-dnsserver` (UDP, RD=1, no TCP fallback).

Also the pieces the Pebble test files (test_acme.py, test_lifecycle.py,
test_cert_tools.py) share around it: short temporary directories (a control
socket DB/control.sock must fit in 108 bytes), stopping a child process by its
own pid, and the certdnsctl wrappers for account creation, `cert request` and
`cert show` (given the caller's ctl function, which runs certdnsctl).

Nothing here starts certdns; every process is started by the caller's code and
stopped with stop().
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

PEBBLE = shutil.which("pebble") or shutil.which("pebble", path="/usr/bin:/usr/local/bin")
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


# --------------------------------------------------------------------------
# Ports
# --------------------------------------------------------------------------

def port_is_free(port, host="127.0.0.1"):
    """Nothing listens on host:port over UDP or TCP (checked by binding both)."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


_handed_out = set()


def pick_port(host="127.0.0.1"):
    """A random loopback port free over UDP and TCP, not handed out before in this run."""
    rng = random.SystemRandom()
    for _ in range(500):
        port = rng.randint(20000, 32000)    # below Linux's ephemeral range (32768-60999)
        if port not in _handed_out and port_is_free(port, host):
            _handed_out.add(port)
            return port
    raise RuntimeError("no free loopback port found")


# --------------------------------------------------------------------------
# Temporary directories, processes
# --------------------------------------------------------------------------

def short_tmpdir(prefix):
    """A new directory directly under /tmp (short: DB/control.sock must fit in 108 bytes)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def stop_process(proc, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
    """
    Stops one child (a subprocess.Popen) by its own pid: sig, then waits up to
    timeout; SIGKILL if it hangs.  Returns its exit status, None if it had to
    be killed (or was never started).
    """
    if proc is None:
        return None
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


# --------------------------------------------------------------------------
# A TLS CA for Pebble's HTTPS listener
# --------------------------------------------------------------------------

def _openssl(*args, cwd=None):
    p = subprocess.run([OPENSSL, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed:\n{p.stdout}{p.stderr}")
    return p.stdout


def make_tls_ca(directory):
    """
    Makes a CA and a certificate for localhost / 127.0.0.1 signed by it, in
    directory.  Returns dict(ca=PATH, cert=PATH, key=PATH): Pebble serves with
    cert/key, clients trust ca.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca_key, ca = d / "tls-ca.key", d / "tls-ca.pem"
    key, csr, cert = d / "tls-srv.key", d / "tls-srv.csr", d / "tls-srv.pem"
    ext = d / "tls-srv.ext"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=certdns test TLS CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                   "basicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
             "-out", cert, "-days", "2", "-extfile", ext)
    return {"ca": ca, "cert": cert, "key": key}


# --------------------------------------------------------------------------
# Pebble
# --------------------------------------------------------------------------

class Pebble:
    """
    One Pebble process on random loopback ports.

        p = Pebble(workdir, tls, dns_server="127.0.0.1:5353").start()
        p.directory_url, p.ca_file, p.root_pem(), p.log(), p.stop()

    dns_server: ADDR:PORT of the DNS server Pebble validates dns-01 with.
    env: extra environment (PEBBLE_VA_NOSLEEP=1 is always set unless given, and
         PEBBLE_WFE_NONCEREJECT=0: Pebble's default 5% of rejected nonces makes the
         client re-send requests, which tests that count the CA's requests cannot
         tell from real repeats; the badNonce test asks for rejections itself).
    config: extra keys for the "pebble" object of the JSON configuration.
    validity: certificateValidityPeriod in seconds (None: Pebble's default).
    """

    def __init__(self, workdir, tls, dns_server, env=None, config=None, name="pebble",
                 validity=None):
        self.dir = Path(workdir)
        self.tls = tls
        self.dns_server = dns_server
        self.env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", **(env or {})}
        self.extra_config = dict(config or {})
        if validity is not None:
            self.extra_config["certificateValidityPeriod"] = validity
        self.name = name
        self.proc = None
        self.port = self.mgmt_port = None
        self.log_path = self.dir / f"{name}.log"
        self.returncode = None

    @property
    def ca_file(self):
        return str(self.tls["ca"])

    @property
    def directory_url(self):
        return f"https://127.0.0.1:{self.port}/dir"

    def _write_config(self):
        conf = {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
            "certificate": str(self.tls["cert"]),
            "privateKey": str(self.tls["key"]),
            # Ports Pebble would use for http-01 / tls-alpn-01 (never used here).
            "httpPort": pick_port(),
            "tlsPort": pick_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
        conf.update(self.extra_config)
        path = self.dir / f"{self.name}.json"
        path.write_text(json.dumps({"pebble": conf}, indent=2))
        return path

    def start(self):
        if PEBBLE is None:
            raise RuntimeError("pebble is not installed (Debian package pebble)")
        self.dir.mkdir(parents=True, exist_ok=True)
        last = ""
        for _attempt in range(5):
            self.port, self.mgmt_port = pick_port(), pick_port()
            conf = self._write_config()
            env = dict(os.environ)
            env.update(self.env)
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen([PEBBLE, "-config", str(conf),
                                              "-dnsserver", self.dns_server],
                                             stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, env=env,
                                             start_new_session=True)
            if self._wait_ready():
                return self
            self.stop()
            last = self.log()
            if "address already in use" not in last:
                break
        raise RuntimeError(f"pebble did not start; log:\n{last[-4000:]}")

    def _wait_ready(self):
        """Both listeners answer over TLS with our certificate (so it is this Pebble)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                self.get(self.directory_url, timeout=2)
                self.root_pem()
                if self.proc.poll() is None:
                    return True
            except (OSError, urllib.error.URLError, ssl.SSLError):
                pass
            time.sleep(0.1)
        return False

    def get(self, url, timeout=10):
        """GET over HTTPS trusting only our TLS CA; returns the body as text."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        with urllib.request.urlopen(url, context=ctx, timeout=timeout) as r:
            return r.read().decode()

    def directory(self):
        return json.loads(self.get(self.directory_url))

    def mgmt(self, path):
        """GET path (starting with /) from the management API; the body as text."""
        return self.get(f"https://127.0.0.1:{self.mgmt_port}{path}")

    def root_pem(self, index=0):
        """The root that issues this run's certificates (management API)."""
        return self.mgmt(f"/roots/{index}")

    def intermediate_pem(self, index=0):
        return self.mgmt(f"/intermediates/{index}")

    def intermediate(self):
        """The first certificate of the issuing intermediate (management API)."""
        m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?",
                      self.intermediate_pem(), re.S)
        if not m:
            raise RuntimeError("pebble's management API returned no intermediate certificate")
        return m.group(0)

    def cert_status(self, serial):
        """Management API: GET /cert-status-by-serial/<hex> of serial (an int) -> dict."""
        return json.loads(self.mgmt(f"/cert-status-by-serial/{serial:x}"))

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def new_order_requests(self):
        """How many newOrder requests (POST /order-plz) Pebble has received."""
        return sum(1 for line in self.log().splitlines() if "POST /order-plz" in line)

    def orders_added(self):
        """The IDs of the orders Pebble created, in order."""
        out = []
        for line in self.log().splitlines():
            if "Added order " in line:
                out.append(line.split("Added order ", 1)[1].split()[0].strip('"'))
        return out

    def issued(self):
        """[(serial in lower-case hex, order ID)] of the certificates Pebble issued."""
        out = []
        for line in self.log().splitlines():
            m = re.search(r"Issued certificate serial ([0-9a-fA-F]+) for order (\S+)", line)
            if m:
                out.append((m.group(1).lower(), m.group(2).strip('"')))
        return out

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return self.returncode
        stop_process(self.proc)
        self.returncode = self.proc.returncode
        return self.returncode


def stop_worlds(worlds, dirs):
    """
    Teardown of a test's worlds (objects with stop() -> certdnsd's exit status
    and daemon, a dnstest.Daemon or None): stops each, removes dirs, then
    fails if a certdnsd did not exit cleanly.
    """
    failures = []
    for w in worlds:
        rc = w.stop()
        if w.daemon is not None:
            try:
                w.daemon.assert_clean_exit(rc)
            except AssertionError as e:
                failures.append(str(e))
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------
# certdnsctl wrappers (ctl: the caller's function running certdnsctl and
# returning an object with rc, stdout, stderr, like dnstest.run_ctl)
# --------------------------------------------------------------------------

def create_account(ctl, directory, ca_file, *extra, contact=None, diag=lambda: ""):
    """certdnsctl --json acme account create ...; asserts success; returns the account ID."""
    args = ["--json", "acme", "account", "create", "--directory", directory, "--agree-tos"]
    if contact is not None:
        args += ["--contact", contact]
    r = ctl(*args, "--ca-file", ca_file, *extra)
    assert r.rc == 0, f"account create failed: {r}\n{diag()}"
    return json.loads(r.stdout)["id"]


def request_cert(ctl, names, timeout, extra=()):
    """certdnsctl cert request NAMES --wait --timeout T [extra]; the result, unchecked."""
    return ctl("cert", "request", *names, "--wait", "--timeout", timeout, *extra)


def show_cert(ctl, cert_id):
    """certdnsctl --json cert show ID, asserted to succeed; the parsed record."""
    r = ctl("--json", "cert", "show", cert_id)
    assert r.rc == 0, r
    return json.loads(r.stdout)
