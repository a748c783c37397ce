"""
The certificate lifecycle of certdns against a real ACME CA (Pebble, Debian
package pebble 2.4.0), as doc/acme.md promises it:

  - an issued certificate renews by itself (half the lifetime for lifetimes
    under 10 days), the export directory is rewritten (privkey.pem 0600, a
    new key) and the deploy hook runs once per issuance with its variables;
  - `cert revoke` is confirmed by the CA, and a revoked certificate is never
    renewed;
  - `acme account rollover` leaves a working account, `acme account
    deactivate` one the CA refuses, and the refusal is kept verbatim;
  - with ARI (RFC 9773) the CA's window decides when to renew, the
    certificate ID is AKI.serial, and the renewal order names it in "replaces".
  - a revocation that lands while a renewal is in flight stays a revocation;
  - a refused renewal keeps the current certificate, keeps the CA's problem,
    and is retried about a minute later;
  - ARI windows written with a UTC offset are read as the instants they are,
    and a CA whose renewalInfo failed once is asked again.

Tests 4, 7 and 8 talk to Pebble through ari_proxy.py, a test server standing
in for a CA with ARI (Debian's Pebble 2.4 has none); tests 3, 5 and 6 use the
same proxy without ARI, only to record, hold or refuse requests.

Every test builds its own world under a short /tmp directory (the control
socket DBDIR/control.sock must fit in 108 bytes): a TLS CA for Pebble's HTTPS
listener (openssl), the zone example.test whose only NS is this daemon (so no
propagation wait), certdnsd on a random port, Pebble resolving through it,
an ACME account.  Every process is stopped on teardown; certdnsd must exit 0.

Certificates are inspected with the openssl command line (no Python crypto
package needed).  Waits are bounded polls with generous limits; nothing
asserts on speed.

Needs: pebble, openssl, python3-dnspython, python3-pytest.
"""

import base64
import json
import re
import shlex
import stat
import subprocess
import threading
import time

import pytest

from ari_proxy import ARIProxy
from dnstest import Daemon, import_zone, run_ctl
from pebble_ca import (OPENSSL, PEBBLE, Pebble, create_account, make_tls_ca, request_cert,
                       short_tmpdir, show_cert, stop_worlds)

pytestmark = pytest.mark.skipif(PEBBLE is None, reason="pebble is not installed")

ZONE = "example.test"
SHORT_VALIDITY = 40          # seconds: renewals happen while the test watches
REQUEST_TIMEOUT = 120        # cert request --wait --timeout


# --------------------------------------------------------------------------
# openssl helpers
# --------------------------------------------------------------------------

def openssl(*args, input=None):
    p = subprocess.run([OPENSSL, *map(str, args)], input=input, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, f"openssl {' '.join(map(str, args))}:\n{p.stdout}{p.stderr}"
    return p.stdout


def first_pem_cert(pem):
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", pem, re.S)
    assert m, f"no certificate in {pem[:200]!r}"
    return m.group(0)


def cert_serial(pem):
    """The serial of the first certificate in pem, as an int."""
    out = openssl("x509", "-noout", "-serial", input=first_pem_cert(pem))
    return int(out.strip().split("=", 1)[1], 16)


def cert_pubkey(pem):
    return openssl("x509", "-noout", "-pubkey", input=first_pem_cert(pem))


def key_pubkey(path):
    return openssl("pkey", "-in", path, "-pubout")


def cert_aki(pem):
    """The keyIdentifier of the Authority Key Identifier, as bytes."""
    out = openssl("x509", "-noout", "-ext", "authorityKeyIdentifier", input=first_pem_cert(pem))
    hexes = re.findall(r"(?:keyid:)?((?:[0-9A-Fa-f]{2}:)+[0-9A-Fa-f]{2})", out)
    assert hexes, f"no AKI keyid in {out!r}"
    return bytes.fromhex(hexes[0].replace(":", ""))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ari_cert_id(pem):
    """RFC 9773 4.1: base64url(AKI keyIdentifier) '.' base64url(serial DER content octets)."""
    serial = cert_serial(pem)
    length = serial.bit_length() // 8 + 1          # room for a sign bit: positive INTEGER
    octets = serial.to_bytes(length, "big")
    while len(octets) > 1 and octets[0] == 0 and octets[1] < 0x80:
        octets = octets[1:]                         # minimal encoding
    return f"{b64url(cert_aki(pem))}.{b64url(octets)}"


# --------------------------------------------------------------------------
# The world of one test
# --------------------------------------------------------------------------

class Lab:
    """certdnsd + Pebble (+ optionally the ARI proxy) + one ACME account."""

    def __init__(self, root, tls):
        self.root = root
        self.tls = tls
        self.db = root / "db"
        self.daemon = self.pebble = self.proxy = None
        self.account_id = None

    def start(self, validity=None, proxy=None):
        """proxy: None, or kwargs for ARIProxy (window_for, add_renewal_info, ...)."""
        self.db.mkdir()
        zone = self.root / f"{ZONE}.zone"
        zone.write_text(f"$ORIGIN {ZONE}.\n$TTL 300\n"
                        "@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
                        "@ NS ns1\n"
                        "ns1 A 127.0.0.1\n")
        import_zone(self.db, zone)
        self.daemon = Daemon(self.db, self.root, workers=1, name="certdnsd").start()
        self.pebble = Pebble(self.root, self.tls, f"127.0.0.1:{self.daemon.port}",
                             validity=validity).start()
        directory = self.pebble.directory_url
        if proxy is not None:
            self.proxy = ARIProxy(("127.0.0.1", self.pebble.port), self.tls["ca"],
                                  self.tls["cert"], self.tls["key"], **proxy).start()
            directory = self.proxy.directory_url
        self.account_id = create_account(self.ctl, directory, self.tls["ca"], diag=self.diag)
        return self

    def stop(self):
        if self.proxy is not None:
            self.proxy.stop()
        if self.pebble is not None:
            self.pebble.stop()
        rc = self.daemon.stop() if self.daemon is not None else 0
        return rc

    def stop_daemon_checked(self):
        rc = self.daemon.stop()
        self.daemon.assert_clean_exit(rc)

    def ctl(self, *args, timeout=REQUEST_TIMEOUT + 60):
        return run_ctl(self.db, *args, timeout=timeout)

    def request(self, *names, extra=()):
        return request_cert(self.ctl, names, REQUEST_TIMEOUT, extra)

    def show(self, cert_id):
        return show_cert(self.ctl, cert_id)

    def account(self, account_id):
        r = self.ctl("--json", "acme", "account", "show", account_id)
        assert r.rc == 0, r
        return json.loads(r.stdout)

    def diag(self, cert_id=None):
        """What to print when something fails: daemon log, cert history, Pebble's log."""
        parts = []
        if cert_id is not None:
            r = self.ctl("cert", "show", cert_id)
            parts.append(f"--- cert show {cert_id}:\n{r.stdout}{r.stderr}")
        if self.daemon is not None:
            parts.append(f"--- certdnsd log:\n{self.daemon.log_tail(30)}")
        if self.pebble is not None:
            parts.append("--- pebble log:\n" + "\n".join(self.pebble.log().splitlines()[-30:]))
        if self.proxy is not None and self.proxy.errors():
            parts.append("--- proxy errors:\n" + "\n".join(self.proxy.errors()))
        return "\n".join(parts)

    def wait_for_serial_change(self, cert_id, old_serial, deadline_s):
        """Polls cert show until the serial differs from old_serial; returns the record."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            c = self.show(cert_id)
            if c.get("serial") and int(c["serial"], 16) != old_serial:
                return c
            assert self.daemon.alive(), f"certdnsd died:\n{self.diag(cert_id)}"
            time.sleep(0.5)
        pytest.fail(f"certificate {cert_id} was not renewed within {deadline_s} s "
                    f"(serial still {old_serial:x}):\n{self.diag(cert_id)}")


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_ca(tmp_path_factory.mktemp("lifecycle-tls"))


@pytest.fixture
def lab_factory(tls):
    labs = []
    roots = []

    def make(**kwargs):
        root = short_tmpdir("cdl-")
        roots.append(root)
        lab = Lab(root, tls)
        labs.append(lab)
        return lab.start(**kwargs)

    yield make
    stop_worlds(labs, roots)


def issued_serials(cert):
    """The serials of the 'certificate issued/renewed (serial X)' events, in order."""
    out = []
    for e in cert.get("events", []):
        m = re.match(r"certificate (issued|renewed) \(serial ([0-9A-Fa-f]+)\)", e["message"])
        if m:
            out.append(int(m.group(2), 16))
    return out


# --------------------------------------------------------------------------
# 1. Renewal by itself, export, deploy hook
# --------------------------------------------------------------------------

def test_certificate_renews_by_itself(lab_factory):
    lab = lab_factory(validity=SHORT_VALIDITY)
    export = lab.root / "export"
    hooklog = lab.root / "hook.log"
    # One line per run: the variables certdnsd promises, and the serial of
    # $CERTDNS_CERT as the hook sees it (the new file must be in place already).
    hook = ('printf "%s|%s|%s|%s|%s|%s|%s|%s\\n" "$CERTDNS_CERT_ID" "$CERTDNS_NAMES" '
            '"$CERTDNS_DIR" "$CERTDNS_FULLCHAIN" "$CERTDNS_PRIVKEY" "$CERTDNS_CHAIN" '
            f'"$CERTDNS_CERT" "$({shlex.quote(OPENSSL)} x509 -in "$CERTDNS_CERT" -noout -serial)" '
            f'>> {shlex.quote(str(hooklog))}')
    # And its signal state: the daemon blocks SIGINT/SIGTERM in its threads and
    # ignores SIGPIPE; the hook must start clean of both.
    # Read with shell builtins only: while the shell waits for a child (grep),
    # dash blocks every signal for a moment, which /proc would show.
    sigs = lab.root / "hook.sigs"
    hook += ('; while read -r f v; do case $f in SigBlk:|SigIgn:) echo "$f$v";; esac; '
             f'done < /proc/$$/status >> {shlex.quote(str(sigs))}')
    r = lab.request(ZONE, extra=("--export-dir", export, "--deploy-hook", hook))
    assert r.rc == 0, f"{r}\n{lab.diag(1)}"

    first = lab.show(1)
    assert first["state"] == "issued" and first["status"] == "issued", first
    s1 = int(first["serial"], 16)
    nb, na, renew_at = first["not_before"], first["not_after"], first["renew_at"]
    lifetime = na - nb
    assert 0 < lifetime <= SHORT_VALIDITY + 5, \
        f"Pebble did not apply certificateValidityPeriod={SHORT_VALIDITY}: {first}"
    # doc/acme.md: lifetime under 10 days -> renew when half of it is left, minus a
    # jitter of up to 2 % of the lifetime (at most 6 h).
    jitter = min(lifetime // 50, 6 * 3600)
    assert nb < renew_at < na, first
    assert na - lifetime // 2 - jitter <= renew_at <= na - lifetime // 2, \
        f"renew_at {renew_at} is not half the lifetime before not_after {na} " \
        f"(not_before {nb}, jitter up to {jitter})"
    assert "ari_window" not in first, "Pebble 2.4 has no ARI; no window can have been used"

    # The first issuance was exported and deployed.
    assert export.is_dir()
    assert cert_serial((export / "cert.pem").read_text()) == s1
    first_key = (export / "privkey.pem").read_text()
    lines = hooklog.read_text().splitlines()
    assert len(lines) == 1, lines

    # Now nobody does anything: the daemon renews by itself.
    second = lab.wait_for_serial_change(1, s1, deadline_s=max(90, na - time.time() + 60))
    # Stop the daemon so that nothing changes while we look (40 s certificates
    # keep renewing every ~20 s); it must exit cleanly.
    lab.stop_daemon_checked()
    final = lab.show(1)
    s_final = int(final["serial"], 16)
    assert s_final != s1
    assert final["state"] == "issued" and final["status"] == "issued", final
    assert "error" not in final, final
    messages = [e["message"] for e in final["events"]]
    assert any(m.startswith("renewing:") for m in messages), messages
    assert any(m.startswith("certificate renewed (serial") for m in messages), messages

    # The export directory holds the newest pair.
    cert_pem = (export / "cert.pem").read_text()
    fullchain = (export / "fullchain.pem").read_text()
    chain = (export / "chain.pem").read_text()
    key_path = export / "privkey.pem"
    assert cert_serial(cert_pem) == s_final
    assert cert_serial(fullchain) == s_final
    assert fullchain.startswith(cert_pem) and fullchain == cert_pem + chain
    assert "BEGIN CERTIFICATE" in chain
    new_key = key_path.read_text()
    assert new_key != first_key, "the renewal must use a new key (doc/acme.md)"
    assert key_pubkey(key_path) == cert_pubkey(cert_pem), "privkey.pem does not match cert.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600, oct(key_path.stat().st_mode)
    assert not [p.name for p in export.iterdir() if p.name.startswith(".")], \
        "temporary files left in the export directory"

    # The deploy hook ran exactly once per issued certificate, after its files were in place.
    serials = issued_serials(final)
    assert serials[0] == s1 and serials[-1] == s_final and len(serials) >= 2, serials
    assert len(set(serials)) == len(serials), serials
    deploy_events = [m for m in messages if m.startswith("deploy hook")]
    assert deploy_events and all(m == "deploy hook ran: exit 0" for m in deploy_events), messages
    lines = hooklog.read_text().splitlines()
    assert len(lines) == len(serials), f"hook ran {len(lines)} times for {len(serials)} " \
                                       f"certificates:\n{lines}\n{serials}"
    sig_lines = sigs.read_text().splitlines()
    assert len(sig_lines) == 2 * len(serials), sig_lines
    for line in sig_lines:
        what, mask = line.split(":")
        bits = int(mask, 16)
        assert (bits == 0) if what == "SigBlk" else not bits & (1 << (13 - 1)), line   # SIGPIPE

    d = str(export)
    for line, serial in zip(lines, serials):
        fields = line.split("|")
        assert fields[:7] == ["1", ZONE, d, f"{d}/fullchain.pem", f"{d}/privkey.pem",
                              f"{d}/chain.pem", f"{d}/cert.pem"], line
        assert int(fields[7].split("=", 1)[1], 16) == serial, \
            f"the hook saw serial {fields[7]} while certificate {serial:x} was deployed"


# --------------------------------------------------------------------------
# 2. Revocation
# --------------------------------------------------------------------------

def test_revoke_is_confirmed_by_the_ca(lab_factory):
    lab = lab_factory(validity=SHORT_VALIDITY)
    r = lab.request(ZONE)
    assert r.rc == 0, f"{r}\n{lab.diag(1)}"
    c = lab.show(1)
    serial = int(c["serial"], 16)
    renew_at = c["renew_at"]
    status = lab.pebble.cert_status(serial)
    assert status["Status"] == "Valid", status

    r = lab.ctl("cert", "revoke", 1, "--reason", "keyCompromise")
    assert r.rc == 0, f"{r}\n{lab.diag(1)}"

    # The CA says so (Pebble's management API).
    status = lab.pebble.cert_status(serial)
    assert status["Status"] == "Revoked", status
    assert status["Reason"] == 1, status          # RFC 5280 keyCompromise
    assert int(status["Serial"], 16) == serial, status

    # certdns says so.
    r = lab.ctl("--json", "cert", "list")
    assert r.rc == 0, r
    rows = {row["id"]: row for row in json.loads(r.stdout)}
    assert rows[1]["status"] == "revoked", rows
    r = lab.ctl("cert", "list")
    assert re.search(r"^1\s+revoked\s", r.stdout, re.M), r.stdout
    c = lab.show(1)
    assert c["state"] == "revoked" and c["status"] == "revoked", c

    # ... and never renews it: wait past the time it would have renewed.
    until = renew_at + 15
    while time.time() < until:
        assert lab.daemon.alive(), lab.diag(1)
        c = lab.show(1)
        assert int(c["serial"], 16) == serial, f"a revoked certificate was renewed:\n{lab.diag(1)}"
        assert c["state"] == "revoked", c
        time.sleep(1)
    messages = [e["message"] for e in c["events"]]
    assert not any(m.startswith("renewing") for m in messages), messages
    assert issued_serials(c) == [serial], messages
    assert lab.pebble.log().count("Issued certificate serial") == 1, lab.pebble.log()[-3000:]


# --------------------------------------------------------------------------
# 3. Account key rollover and deactivation
# --------------------------------------------------------------------------

def test_account_rollover_and_deactivate(lab_factory):
    # The proxy here adds no ARI: it only records what the CA answered, so the
    # problem document can be compared with what certdns kept.
    lab = lab_factory(proxy={"add_renewal_info": False})
    acct = lab.account_id
    r = lab.request(f"a.{ZONE}")
    assert r.rc == 0, f"{r}\n{lab.diag(1)}"
    key_before = lab.account(acct)
    assert key_before["key_type"] == "ecdsa-p256", key_before

    # Rollover with the same key type; the CA accepted the key change.
    r = lab.ctl("acme", "account", "rollover", acct)
    assert r.rc == 0, f"{r}\n{lab.diag()}"
    changes = [e for e in lab.proxy.exchanges() if e["method"] == "POST" and
               e["path"].rstrip("/").endswith(("rollover-account-key", "key-change"))]
    assert len(changes) == 1 and changes[0]["status"] == 200, \
        [(e["method"], e["path"], e["status"]) for e in lab.proxy.exchanges()]
    inner = changes[0]["payload"]                       # RFC 8555 7.3.5: the inner JWS
    inner_header = json.loads(base64.urlsafe_b64decode(inner["protected"] + "=="))
    inner_payload = json.loads(base64.urlsafe_b64decode(inner["payload"] + "=="))
    assert inner_payload["account"] == key_before["url"], inner_payload
    assert inner_payload["oldKey"] != inner_header["jwk"], "the new key is the old key"

    # The new key works: a new certificate.
    r = lab.request(f"b.{ZONE}")
    assert r.rc == 0, f"the account does not work after its key rollover: {r}\n{lab.diag(2)}"
    assert lab.show(2)["state"] == "issued"

    # Rollover to another key type, and it still works.
    r = lab.ctl("acme", "account", "rollover", acct, "--key", "ecdsa-p384")
    assert r.rc == 0, f"{r}\n{lab.diag()}"
    assert lab.account(acct)["key_type"] == "ecdsa-p384", lab.account(acct)
    r = lab.request(f"c.{ZONE}")
    assert r.rc == 0, f"the account does not work after a rollover to P-384: {r}\n{lab.diag(3)}"

    # Deactivation: the CA agrees, and then refuses the account's requests.
    r = lab.ctl("acme", "account", "deactivate", acct)
    assert r.rc == 0, f"{r}\n{lab.diag()}"
    a = lab.account(acct)
    assert a["status"] == "deactivated", a
    deact = [e for e in lab.proxy.exchanges() if e["method"] == "POST" and
             e["payload"] == {"status": "deactivated"}]
    assert len(deact) == 1 and deact[0]["status"] == 200, deact
    assert json.loads(deact[0]["response_body"])["status"] == "deactivated", deact

    orders_before = len(lab.proxy.new_orders())
    r = lab.request(f"d.{ZONE}")
    assert r.rc == 1, f"a deactivated account still got a certificate: {r}\n{lab.diag(4)}"
    c = lab.show(4)
    assert c["state"] == "failed" and c["status"] == "failed", c
    assert "serial" not in c and "chain" not in c, c
    refused = lab.proxy.new_orders()[orders_before:]
    assert refused, "certdns did not even ask the CA"
    answer = refused[-1]
    assert answer["status"] in (401, 403), answer
    problem = json.loads(answer["response_body"])
    assert problem["type"] == "urn:ietf:params:acme:error:unauthorized", problem
    # doc/acme.md: "cert show keeps the CA's problem document verbatim".
    assert c["error"] == problem, f"certdns kept {c['error']!r}, the CA said {problem!r}"
    assert problem["detail"] in r.stderr + r.stdout, r


# --------------------------------------------------------------------------
# 4. ARI decides the renewal time
# --------------------------------------------------------------------------

ARI_START, ARI_END = 20, 30        # the window of the first certificate, seconds after the ask
ARI_RETRY_AFTER = 3600


def test_ari_window_decides_renewal_time(lab_factory):
    # A TEST SERVER STANDING IN FOR A CA WITH ARI: Debian's Pebble 2.4 has no
    # renewalInfo, so ari_proxy.py adds it in front of Pebble, with windows we
    # choose.  The certificates themselves are Pebble's (1 day: without ARI the
    # renewal would come after 12 hours).
    first_asked = []

    def window_for(cert_id, now):
        if not first_asked or first_asked[0] == cert_id:
            first_asked[:1] = [cert_id]
            return (now + ARI_START, now + ARI_END)
        return (now + 30 * 86400, now + 31 * 86400)   # later certificates: not during the test

    lab = lab_factory(validity=86400, proxy={"window_for": window_for,
                                             "retry_after": ARI_RETRY_AFTER})
    directory = json.loads(lab.pebble.get(lab.proxy.directory_url))
    assert directory["renewalInfo"] == lab.proxy.renewal_info_url

    r = lab.request(ZONE)
    assert r.rc == 0, f"{r}\n{lab.diag(1)}"
    first = lab.show(1)
    assert first["state"] == "issued", first
    s1 = int(first["serial"], 16)
    id1 = ari_cert_id(first["chain"])

    # certdns asked for the window of exactly this certificate (AKI.serial).
    asks = lab.proxy.renewal_info_asks()
    assert asks, f"certdns never asked for renewalInfo:\n{lab.diag(1)}"
    assert asks[0][1] == id1, f"asked {asks[0][1]!r}, the certificate's ID is {id1!r}"
    ws, we = lab.proxy.windows()[id1]

    # The window is in cert show, and renew_at lies inside it.
    assert first["ari_window"] == {"start": ws, "end": we}, first
    assert ws <= first["renew_at"] <= we, first
    lifetime = first["not_after"] - first["not_before"]
    assert first["renew_at"] < first["not_before"] + lifetime // 3, \
        "renew_at is where the lifetime rule would put it, not in the ARI window"
    # Retry-After: 3600 -> asked again in an hour (never later than 12 h).
    assert asks[0][0] + ARI_RETRY_AFTER - 5 <= first["ari_check_at"] <= \
        asks[0][0] + ARI_RETRY_AFTER + 5, first
    assert any("(ARI)" in e["message"] for e in first["events"]), first["events"]
    r = lab.ctl("cert", "show", 1)
    assert "(ARI window)" in r.stdout, r.stdout

    # The first order named nothing; the renewal comes in the window and names id1.
    orders = lab.proxy.new_orders()
    assert len(orders) == 1, [o["payload"] for o in orders]
    assert "replaces" not in orders[0]["payload"], orders[0]["payload"]

    second = lab.wait_for_serial_change(1, s1, deadline_s=we - time.time() + 90)
    assert second["state"] == "issued", second
    orders = lab.proxy.new_orders()
    assert len(orders) == 2, [o["payload"] for o in orders]
    renewal = orders[1]
    assert renewal["payload"].get("replaces") == id1, renewal["payload"]
    assert renewal["payload"]["identifiers"] == [{"type": "dns", "value": ZONE}], \
        renewal["payload"]
    assert renewal["status"] == 201, renewal
    # Not before the window opened (renew_at is inside it; 1 s of clock rounding).
    assert renewal["time"] >= ws - 1, (renewal["time"], ws)

    # The new certificate has its own ID and window.
    id2 = ari_cert_id(second["chain"])
    assert id2 != id1
    assert id2 in [cid for _t, cid in lab.proxy.renewal_info_asks()], lab.proxy.renewal_info_asks()
    ws2, we2 = lab.proxy.windows()[id2]
    assert second["ari_window"] == {"start": ws2, "end": we2}, second
    assert ws2 <= second["renew_at"] <= we2, second
    assert not lab.proxy.errors(), lab.proxy.errors()


# --------------------------------------------------------------------------
# 5. A revocation that lands while a renewal is in flight
# --------------------------------------------------------------------------

FINALIZE_HOLD = 6          # seconds the proxy holds the renewal's finalize request


def test_revoke_during_a_renewal_is_not_undone(lab_factory):
    # The proxy (no ARI here) holds the renewal's finalize request, so the
    # revocation certainly arrives while the engine is working on the
    # certificate.  doc/acme.md: "A revoked certificate is never renewed."
    held = threading.Event()
    finalizes = []

    def delay_for(method, path, payload):
        if method == "POST" and "finalize" in path:
            finalizes.append(time.time())
            if len(finalizes) == 2:          # the renewal's
                held.set()
                return FINALIZE_HOLD
        return 0

    lab = lab_factory(validity=SHORT_VALIDITY,
                      proxy={"add_renewal_info": False, "delay_for": delay_for})
    r = lab.request(ZONE)
    assert r.rc == 0, f"{r}\n{lab.diag(1)}"
    first = lab.show(1)
    s1 = int(first["serial"], 16)
    assert held.wait(timeout=max(90, first["not_after"] - time.time() + 60)), \
        f"the renewal never reached finalize:\n{lab.diag(1)}"
    assert lab.show(1)["status"] == "renewing"

    r = lab.ctl("cert", "revoke", 1, "--reason", "superseded")
    assert r.rc == 0, f"{r}\n{lab.diag(1)}"
    status = lab.pebble.cert_status(s1)
    assert status["Status"] == "Revoked" and status["Reason"] == 4, status

    # Let the held request go and the engine finish whatever it does with it.
    until = finalizes[1] + FINALIZE_HOLD + 15
    while time.time() < until:
        c = lab.show(1)
        assert c["state"] == "revoked" and int(c["serial"], 16) == s1, \
            f"the revocation was undone by the renewal in flight (state {c['state']}, " \
            f"serial {c['serial']}, revoked_at {c.get('revoked_at')}):\n{lab.diag(1)}"
        time.sleep(0.5)
    assert "revoked_at" in c, c
    # Whatever happened to the renewal's order, its challenge records are gone.
    r = lab.ctl("record", "list", ZONE)
    assert r.rc == 0, r
    assert "_acme-challenge" not in r.stdout, f"challenge records left behind:\n{r.stdout}"


# --------------------------------------------------------------------------
# 6. A failed renewal keeps the certificate and is retried
# --------------------------------------------------------------------------

REFUSAL = {"type": "urn:ietf:params:acme:error:rejectedIdentifier",
           "detail": "test CA: no new order for example.test right now", "status": 403}


def test_failed_renewal_keeps_the_certificate_and_is_retried(lab_factory):
    # The proxy (no ARI here) refuses the first renewal's newOrder with a
    # problem document, as a CA would; the retry goes through to Pebble.
    new_orders = []

    def answer_for(method, path, payload):
        if method == "POST" and isinstance(payload, dict) and "identifiers" in payload:
            new_orders.append(time.time())
            if len(new_orders) == 2:
                return (403, REFUSAL)
        return None

    lab = lab_factory(validity=SHORT_VALIDITY,
                      proxy={"add_renewal_info": False, "answer_for": answer_for})
    export = lab.root / "export"
    hooklog = lab.root / "hook.log"
    hook = f'echo "$CERTDNS_CERT_ID" >> {shlex.quote(str(hooklog))}'
    r = lab.request(ZONE, extra=("--export-dir", export, "--deploy-hook", hook))
    assert r.rc == 0, f"{r}\n{lab.diag(1)}"
    first = lab.show(1)
    s1 = int(first["serial"], 16)
    key1 = (export / "privkey.pem").read_text()

    # The renewal is refused.
    deadline = time.monotonic() + max(90, first["not_after"] - time.time() + 60)
    while True:
        c = lab.show(1)
        if c["status"] != "issued" and c["state"] in ("failed", "issued"):
            break
        assert time.monotonic() < deadline, f"no renewal attempt:\n{lab.diag(1)}"
        assert int(c["serial"], 16) == s1, f"the refused renewal got a certificate:\n{lab.diag(1)}"
        time.sleep(0.3)
    assert c["state"] == "failed" and c["status"] == "renewal-failed", f"{c}\n{lab.diag(1)}"
    assert c["error"] == REFUSAL, f"certdns kept {c['error']!r}, the CA said {REFUSAL!r}"
    assert c["failures"] == 1, c
    # The current certificate stays: in the record and in the export directory.
    assert int(c["serial"], 16) == s1 and "chain" in c, c
    assert cert_serial((export / "cert.pem").read_text()) == s1
    assert (export / "privkey.pem").read_text() == key1
    assert hooklog.read_text().splitlines() == ["1"], "the hook ran for a failed renewal"
    # "retried after about 1 min"
    failed_at = max(e["time"] for e in c["events"] if e["message"].startswith("failed:"))
    assert 50 <= c["retry_at"] - failed_at <= 70, (c["retry_at"], failed_at)
    r = lab.ctl("cert", "list")
    assert re.search(r"^1\s+renewal-failed\s", r.stdout, re.M), r.stdout

    # The retry, by itself, a minute later, succeeds.
    second = lab.wait_for_serial_change(1, s1, deadline_s=c["retry_at"] - time.time() + 90)
    assert second["state"] == "issued" and second["status"] == "issued", second
    assert "error" not in second and "failures" not in second, second
    messages = [e["message"] for e in second["events"]]
    assert "retrying the renewal" in messages, messages
    assert len(new_orders) == 3, new_orders
    assert new_orders[2] >= c["retry_at"] - 1, (new_orders, c["retry_at"])
    lab.stop_daemon_checked()
    final = lab.show(1)
    assert cert_serial((export / "cert.pem").read_text()) == int(final["serial"], 16)
    assert (export / "privkey.pem").read_text() != key1
    assert len(hooklog.read_text().splitlines()) == len(issued_serials(final))


# --------------------------------------------------------------------------
# 7. ARI windows written with a UTC offset
# --------------------------------------------------------------------------

def test_ari_window_with_a_utc_offset(lab_factory):
    # RFC 9773 4.2: start and end are RFC 3339 date-times, which may carry an
    # offset ("+02:00") instead of "Z".  The same proxy as above (a test
    # server standing in for a CA with ARI) writes the window as local time
    # at UTC+2; the instants are what matter.
    lab = lab_factory(validity=86400, proxy={
        "window_for": lambda cid, now: (now + 3 * 3600, now + 4 * 3600),
        "utc_offset_minutes": 120})
    r = lab.request(ZONE)
    assert r.rc == 0, f"{r}\n{lab.diag(1)}"
    c = lab.show(1)
    cid = ari_cert_id(c["chain"])
    ws, we = lab.proxy.windows()[cid]
    assert c.get("ari_window") == {"start": ws, "end": we}, \
        f"the CA's window {ws}..{we} (written with +02:00) was read as {c.get('ari_window')}"
    assert ws <= c["renew_at"] <= we, c


# --------------------------------------------------------------------------
# 8. ARI unavailable at issuance: asked again later
# --------------------------------------------------------------------------

def test_ari_asked_again_after_the_ca_failed_to_answer(lab_factory):
    # The same test server standing in for a CA with ARI; its renewalInfo
    # answers 503 the first time.  certdns falls back to the lifetime rule
    # for now, but doc/acme.md promises it "asks again at least twice a day":
    # a CA may shorten the window later (RFC 9773 4.3.3, e.g. before a mass
    # revocation), and a client that stops asking after one failure misses it.
    asks = []

    def window_for(cert_id, now):
        asks.append(now)
        return 503 if len(asks) == 1 else (now + 3 * 3600, now + 4 * 3600)

    lab = lab_factory(validity=86400, proxy={"window_for": window_for, "retry_after": 60})
    r = lab.request(ZONE)
    assert r.rc == 0, f"{r}\n{lab.diag(1)}"
    c = lab.show(1)
    assert len(asks) == 1, asks
    assert "ari_window" not in c, c
    lifetime = c["not_after"] - c["not_before"]
    assert c["not_after"] - lifetime // 2 - lifetime // 50 <= c["renew_at"] <= \
        c["not_after"] - lifetime // 2, c          # the fallback, for now
    assert c.get("ari_check_at") is not None, \
        "after a failed renewalInfo request certdns never asks again: " \
        f"{ {k: v for k, v in c.items() if k not in ('chain', 'events')} }"
    assert c["ari_check_at"] <= time.time() + 12 * 3600, c
