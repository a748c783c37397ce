"""
Privileges, file permissions and secrets.

  1. certdnsd --user: started as root, it binds a port below 1024, then every
     thread runs as the service user (real, effective, saved and filesystem
     ids; no root group, no capabilities, no_new_privs) and it still answers.
     Files it creates, and files root's certdnsctl creates in the user's
     database, belong to the user with modes 0700 / 0600.
  2. Who may start it: --user needs root; --user root and unknown users are
     refused; a database owned by someone else than the --user is refused
     with the chown to run; root without --user is warned about, and refused
     on a database that belongs to a service user.
  3. Unsafe modes (group/world-writable directory, data.mdb or lock.mdb;
     a master key open to group or others) are refused by certdnsd and
     certdnsctl alike, naming the path, its mode and the chmod that fixes it
     (and that chmod does fix it).
  4. Secrets (TSIG secrets, the EAB HMAC key, the master key, the certificate
     key) never show in the daemon's log nor in any certdnsctl listing, text
     or --json, nor in the errors of commands given a bad secret.

Needs root (the CI runs as root): binding port < 1024 and switching users
cannot be done otherwise.  The service user is made with useradd for this
module and removed after (nobody when useradd is missing).  Part 4's ACME
half needs Pebble.
"""

import base64
import json
import os
import pwd
import random
import re
import secrets
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import pytest

from dnstest import BIN, CtlResult, Daemon, pick_free_port, run_ctl, stop_all_and_check
from pebble_ca import PEBBLE, Pebble, make_tls_ca, port_is_free, short_tmpdir

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="needs root: certdnsd --user binds a port below 1024 and switches users "
           "(the CI runs as root)")

USERADD = shutil.which("useradd") or shutil.which("useradd", path="/usr/sbin:/sbin")
USERDEL = shutil.which("userdel") or shutil.which("userdel", path="/usr/sbin:/sbin")
ZONE = "example.test"
REQUEST_TIMEOUT = 240
RUN_TIMEOUT = 30


class User:
    def __init__(self, name):
        pw = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, pw.pw_uid, pw.pw_gid


@pytest.fixture(scope="module")
def service_user():
    """A system user and group of its own for this module; removed afterwards."""
    if USERADD is None or USERDEL is None:
        yield User("nobody")
        return
    name = f"cdpriv{os.getpid() % 100000}"
    p = subprocess.run([USERADD, "--system", "--user-group", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"useradd {name}: {p.stderr}"
    try:
        yield User(name)
    finally:
        subprocess.run([USERDEL, name], capture_output=True, timeout=60)


@pytest.fixture
def workspace():
    """A short directory under /tmp that the service user can traverse (mode 0755)."""
    d = short_tmpdir("cdp-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def pick_privileged_port():
    rng = random.SystemRandom()
    for _ in range(400):
        port = rng.randint(600, 1023)
        if port_is_free(port):
            return port
    raise RuntimeError("no free loopback port below 1024")


class PrivDaemon(Daemon):
    """certdnsd on 127.0.0.1, on a port below 1024, optionally with --user."""

    families = (4,)

    def __init__(self, db_dir, log_dir, user=None, extra_args=(), name="certdnsd"):
        super().__init__(db_dir, log_dir, extra_args=extra_args, workers=2, name=name)
        self.user = user

    def argv(self, port):
        argv = [BIN["certdnsd"], "--db", str(self.db_dir), "--listen", f"127.0.0.1:{port}",
                "--workers", str(self.workers),
                "--acme-resolver", f"127.0.0.1:{pick_free_port()}"]   # nothing answers there
        if self.user is not None:
            argv += ["--user", self.user]
        return argv + self.extra_args

    def pick_port(self):
        return pick_privileged_port()


@pytest.fixture
def daemons():
    """start(db, log_dir, user=..., ...) -> a running PrivDaemon; all stopped and checked after."""
    started = []

    def start(*args, **kwargs):
        d = PrivDaemon(*args, name=f"certdnsd{len(started)}", **kwargs)
        started.append(d)
        return d.start()

    yield start
    stop_all_and_check(started)


def run_daemon_expecting_failure(db, *extra, user=None):
    """certdnsd that must refuse to start: (exit status, its output)."""
    argv = [BIN["certdnsd"], "--db", str(db), "--listen", f"127.0.0.1:{pick_privileged_port()}",
            "--workers", "1", *extra]
    if user is not None:
        argv += ["--user", user]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=RUN_TIMEOUT)
    return p.returncode, p.stdout + p.stderr


def zone_file(directory, origin=ZONE):
    path = Path(directory) / f"{origin}.zone"
    path.write_text(f"$ORIGIN {origin}.\n$TTL 300\n"
                    "@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
                    "@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.80\n")
    return path


def ok(db, *args, input=None):
    """certdnsctl --db DB ARGS (input: its standard input), asserted to succeed."""
    if input is None:
        r = run_ctl(db, *args)
    else:
        argv = [BIN["certdnsctl"], "--db", str(db), *map(str, args)]
        p = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=120)
        r = CtlResult(argv, p.returncode, p.stdout, p.stderr)
    assert r.rc == 0, r
    return r


def user_db(workspace, user):
    """A database holding ZONE, made by root's certdnsctl, then given to the user."""
    db = workspace / "db"
    ok(db, "zone", "import", zone_file(workspace))
    chown_tree(db, user.uid, user.gid)
    return db


def chown_tree(path, uid, gid):
    os.chown(path, uid, gid)
    for p in Path(path).iterdir():
        os.chown(p, uid, gid, follow_symlinks=False)


def soa(daemon, name=ZONE):
    q = dns.message.make_query(name, "SOA")
    return dns.query.udp(q, "127.0.0.1", port=daemon.port, timeout=5)


def proc_status(path):
    fields = {}
    for line in Path(path).read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def runnable_by_user(workspace, program):
    """A copy of certdnsd or certdnsctl the service user can execute (the suite's private
    copies sit in a directory closed to other users)."""
    dst = workspace / program
    shutil.copy2(BIN[program], dst)
    os.chmod(dst, 0o755)
    return str(dst)


def as_user(u):
    def switch():
        os.setgroups([])
        os.setgid(u.gid)
        os.setuid(u.uid)
    return switch


# --------------------------------------------------------------------------
# 1. --user
# --------------------------------------------------------------------------

def test_user_binds_a_privileged_port_then_every_thread_runs_as_the_user(
        service_user, workspace, daemons):
    u = service_user
    db = workspace / "db"                       # missing: certdnsd makes it for the user
    d = daemons(db, workspace, user=u.name)
    assert d.port < 1024
    assert f"dropped root: running as user {u.name} (uid {u.uid})" in d.log(), d.log()

    tasks = sorted(Path(f"/proc/{d.proc.pid}/task").iterdir())
    assert len(tasks) >= 4, f"expected main, 2 workers and the control thread: {tasks}"
    for task in tasks:
        st = proc_status(task / "status")
        where = f"thread {task.name} ({' '.join(st['Name'])})"
        assert st["Uid"] == [str(u.uid)] * 4, f"{where}: Uid {st['Uid']}"
        assert st["Gid"] == [str(u.gid)] * 4, f"{where}: Gid {st['Gid']}"
        assert "0" not in st.get("Groups", []), f"{where}: Groups {st['Groups']}"
        assert int(st["CapEff"][0], 16) == 0 and int(st["CapPrm"][0], 16) == 0, \
            f"{where}: CapEff {st['CapEff']} CapPrm {st['CapPrm']}"
        assert st["NoNewPrivs"] == ["1"], f"{where}: NoNewPrivs {st['NoNewPrivs']}"

    # Fresh files: the daemon's own, then what root's certdnsctl adds to the user's database.
    created = {db: 0o700, db / "data.mdb": 0o600, db / "lock.mdb": 0o600,
               db / "control.sock": 0o600}
    for path, mode in created.items():
        st = os.lstat(path)
        assert (st.st_uid, st.st_gid) == (u.uid, u.gid), f"{path}: owner {st.st_uid}:{st.st_gid}"
        assert stat.S_IMODE(st.st_mode) == mode, f"{path}: mode {oct(st.st_mode)}"
    assert stat.S_ISSOCK(os.lstat(db / "control.sock").st_mode)

    ok(db, "zone", "import", zone_file(workspace))
    r = soa(d)
    assert r.rcode() == dns.rcode.NOERROR and r.answer, r
    www = dns.query.tcp(dns.message.make_query(f"www.{ZONE}", "A"), "127.0.0.1", port=d.port,
                        timeout=5)
    assert [rr.address for rr in www.answer[0]] == ["192.0.2.80"], www
    for p in db.iterdir():
        st = os.lstat(p)
        assert st.st_uid == u.uid, f"{p} belongs to uid {st.st_uid} after root's certdnsctl"


def test_files_root_creates_in_a_users_database_belong_to_the_user(service_user, workspace):
    """certdnsctl run by root on the service user's database acts as that user."""
    u = service_user
    db = workspace / "db"
    db.mkdir(mode=0o700)
    os.chown(db, u.uid, u.gid)
    ok(db, "zone", "import", zone_file(workspace))
    key = db / "master.key"
    # cert csr needs no vault; an imported certificate seals its key: makes master.key.
    tls = make_tls_ca(workspace / "pki")
    ok(db, "cert", "import", "--cert", tls["cert"], "--key", tls["key"])
    for name, mode in (("data.mdb", 0o600), ("lock.mdb", 0o600), ("master.key", 0o600)):
        st = os.lstat(db / name)
        assert (st.st_uid, st.st_gid) == (u.uid, u.gid), f"{name}: {st.st_uid}:{st.st_gid}"
        assert stat.S_IMODE(st.st_mode) == mode, f"{name}: {oct(st.st_mode)}"
    assert key.stat().st_size == 32


# --------------------------------------------------------------------------
# 2. Who may start it, on which database
# --------------------------------------------------------------------------

def test_user_needs_root_and_an_unprivileged_existing_user(service_user, workspace):
    u = service_user
    db = user_db(workspace, u)
    argv = [runnable_by_user(workspace, "certdnsd"), "--db", str(db),
            "--listen", "127.0.0.1:5399", "--user", u.name]
    p = subprocess.run(argv, preexec_fn=as_user(u), capture_output=True, text=True,
                       timeout=RUN_TIMEOUT)
    assert p.returncode == 2, p
    assert "--user needs root" in p.stderr and f"uid {u.uid}" in p.stderr, p.stderr

    rc, out = run_daemon_expecting_failure(db, user="root")
    assert rc == 2 and "keeps root's user id" in out, out
    rc, out = run_daemon_expecting_failure(db, user=f"{u.name}:root")
    assert rc == 2 and "keeps root's group id" in out, out
    rc, out = run_daemon_expecting_failure(db, user="no-such-user-here")
    assert rc == 2 and "no user 'no-such-user-here'" in out and "useradd" in out, out


def test_database_owned_by_root_is_refused_with_the_chown_to_run(service_user, workspace,
                                                                 daemons):
    u = service_user
    db = workspace / "db"
    ok(db, "zone", "import", zone_file(workspace))          # root's: the usual first mistake
    fix = f"chown -R {u.name}: {db}"
    rc, out = run_daemon_expecting_failure(db, user=u.name)
    assert rc == 1, out
    assert f"database directory {db} is owned by root" in out and fix in out, out

    # The directory is the user's, one file is still root's: that file is named.
    os.chown(db, u.uid, u.gid)
    os.chown(db / "lock.mdb", u.uid, u.gid)
    rc, out = run_daemon_expecting_failure(db, user=u.name)
    assert rc == 1, out
    assert f"{db}/data.mdb is owned by root" in out and fix in out, out

    # The command it gives is the whole fix.
    subprocess.run(shlex.split(fix), check=True, timeout=RUN_TIMEOUT)
    d = daemons(db, workspace, user=u.name)
    assert soa(d).answer


def test_root_without_user_is_warned_and_kept_off_a_service_users_database(
        service_user, workspace, daemons):
    u = service_user
    root_db = workspace / "rootdb"
    ok(root_db, "zone", "import", zone_file(workspace))
    d = daemons(root_db, workspace)
    assert "running as root" in d.log() and "--user" in d.log(), d.log()

    db = user_db(workspace, u)
    rc, out = run_daemon_expecting_failure(db)
    assert rc == 1, out
    assert f"{db} belongs to {u.name}" in out and f"--user {u.name}" in out, out


def test_a_user_cannot_use_another_users_database(service_user, workspace):
    """certdnsctl run by a user who neither owns the database nor is root is refused."""
    u = service_user
    db = workspace / "db"
    db.mkdir(mode=0o755)
    os.chown(db, 4242, 4242)       # some other user's; readable, but not ours
    p = subprocess.run([runnable_by_user(workspace, "certdnsctl"), "--db", str(db), "zone", "list"],
                       preexec_fn=as_user(u), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert p.returncode == 1, p
    assert f"database directory {db} belongs to uid 4242, not to {u.name}" in p.stderr, p.stderr


# --------------------------------------------------------------------------
# 3. Unsafe modes
# --------------------------------------------------------------------------

UNSAFE = [
    # (file in the database directory, "" for the directory itself; bits added)
    ("", 0o020),
    ("", 0o002),
    ("data.mdb", 0o020),
    ("data.mdb", 0o002),
    ("lock.mdb", 0o002),
    ("master.key", 0o040),
    ("master.key", 0o002),
]


@pytest.mark.parametrize("name,bits", UNSAFE,
                         ids=[f"{n or 'dir'}+{b:03o}" for n, b in UNSAFE])
def test_unsafe_mode_is_refused_by_both_programs_with_the_chmod(service_user, workspace,
                                                                 daemons, name, bits):
    u = service_user
    db = user_db(workspace, u)
    key = db / "master.key"
    key.write_bytes(secrets.token_bytes(32))
    os.chmod(key, 0o600)
    os.chown(key, u.uid, u.gid)
    target = db / name if name else db
    os.chmod(target, mode_of(target) | bits)
    shown = f"{target} " if name else f"database directory {target} "
    want_mode = f"mode {mode_of(target):04o}"

    r = run_ctl(db, "zone", "list")
    assert r.rc == 1, r
    rc, out = run_daemon_expecting_failure(db, user=u.name)
    assert rc == 1, out
    for who, text in (("certdnsctl", r.stderr), ("certdnsd", out)):
        assert str(target) in text and want_mode in text, f"{who}: {text}"
        assert shown in text or f"{target}: the master key" in text, f"{who}: {text}"
        m = re.search(r"run: (chmod [^;\n]*)", text)
        assert m and m.group(1).endswith(str(target)), f"{who} gives no chmod: {text}"

    subprocess.run(shlex.split(m.group(1)), check=True, timeout=RUN_TIMEOUT)
    assert ZONE in ok(db, "zone", "list").stdout
    d = daemons(db, workspace, user=u.name)
    assert soa(d).answer


# --------------------------------------------------------------------------
# 4. Secrets stay out of logs and listings
# --------------------------------------------------------------------------

def secret_forms(raw, text=None):
    """Every way a secret of bytes raw could be printed: base64, base64url, hex."""
    forms = {base64.b64encode(raw).decode(), base64.b64encode(raw).decode().rstrip("="),
             base64.urlsafe_b64encode(raw).decode().rstrip("="), raw.hex(), raw.hex().upper()}
    if text:
        forms.add(text)
    return {f for f in forms if len(f) >= 16}


def pem_body_lines(pem_text):
    return [line for line in pem_text.splitlines()
            if line and not line.startswith("-----") and len(line) >= 32]


LISTINGS = [
    ("tsig", "list"),
    ("settings", "show"),
    ("zone", "list"),
    ("zone", "show", ZONE),
    ("zone", "export", ZONE),
    ("record", "list", ZONE),
    ("secondary", "list", ZONE),
    ("status",),
]
ACME_LISTINGS = [
    ("acme", "account", "list"),
    ("acme", "account", "show", "1"),
    ("cert", "list"),
    ("cert", "show", "1"),
]


def assert_no_secret(secret_set, outputs):
    leaks = [f"{where}: {label} ({form[:12]}...)"
             for where, text in outputs.items()
             for label, forms in secret_set.items() for form in forms if form in text]
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)


def test_secrets_stay_out_of_the_log_listings_and_errors(service_user, workspace, daemons):
    u = service_user
    db = user_db(workspace, u)
    d = daemons(db, workspace, user=u.name)
    outputs = {}

    # TSIG: one key imported through stdin, one on the command line, one generated.
    piped_raw, argv_raw = secrets.token_bytes(32), secrets.token_bytes(32)
    piped, argv_secret = base64.b64encode(piped_raw).decode(), base64.b64encode(argv_raw).decode()
    ok(db, "tsig", "import", "xfr-key", "hmac-sha256", "-", input=piped + "\n")
    ok(db, "tsig", "import", "argv-key", "hmac-sha256", argv_secret)
    made = json.loads(ok(db, "--json", "tsig", "add", "made-key").stdout)["secret"]
    shown = ok(db, "tsig", "show", "xfr-key", "--secret").stdout
    assert piped in shown, "tsig show --secret must print the secret (else this test proves nothing)"
    found = {"TSIG secret (stdin)": secret_forms(piped_raw, piped),
             "TSIG secret (argv)": secret_forms(argv_raw, argv_secret),
             "TSIG secret (generated)": secret_forms(base64.b64decode(made), made)}

    # A bad secret and arguments in the wrong order: the errors must not echo them.
    bad_raw = secrets.token_bytes(32)
    bad = base64.b64encode(bad_raw).decode()
    for args in (("tsig", "import", "k2", bad, "hmac-sha256"),
                 ("tsig", "import", "k2", "hmac-sha256", bad[:-2] + "!!"),
                 ("tsig", "import", bad, "hmac-sha256")):
        r = run_ctl(db, *args)
        assert r.rc != 0, r
        outputs[" ".join(args[:2]) + " (refused)"] = r.stdout + r.stderr
    found["bad TSIG secret"] = secret_forms(bad_raw, bad) | {bad[:-2] + "!!"}

    # Before any secondary: the engine would wait for it to serve the challenge.
    if PEBBLE is not None:
        acme_session(workspace, db, d, u, outputs, found)

    # Changes, NOTIFY signed with the key, transfers with the right and a wrong key.
    ok(db, "secondary", "add", ZONE, f"127.0.0.1:{pick_free_port()}", "--tsig", "xfr-key")
    ok(db, "record", "add", ZONE, "mail 300 A 192.0.2.25", 'txt 300 TXT "hello"')
    good = dns.tsigkeyring.from_text({"xfr-key.": ("hmac-sha256", piped)})
    msgs = list(dns.query.xfr("127.0.0.1", ZONE, port=d.port, keyring=good,
                              keyname="xfr-key.", timeout=10))
    assert any(rr.rdtype == dns.rdatatype.SOA for m in msgs for rr in m.answer), msgs
    wrong = dns.tsigkeyring.from_text({"xfr-key.": ("hmac-sha256", bad)})
    with pytest.raises(Exception):
        list(dns.query.xfr("127.0.0.1", ZONE, port=d.port, keyring=wrong, keyname="xfr-key.",
                           timeout=10))

    listings = LISTINGS + (ACME_LISTINGS if PEBBLE is not None else [])
    for args in listings:
        for json_flag in ((), ("--json",)):
            r = run_ctl(db, *json_flag, *args)
            assert r.rc == 0, r
            outputs["certdnsctl " + " ".join(json_flag + args)] = r.stdout + r.stderr
    d.stop_and_check()
    outputs["certdnsd log"] = d.log()
    assert "refused: TSIG key 'xfr-key.'" in d.log(), \
        f"the refused transfer is logged, by key name:\n{d.log()}"
    key = db / "master.key"
    if key.exists():
        found["master key"] = secret_forms(key.read_bytes())
    assert_no_secret(found, outputs)
    sealed = [where for where, text in outputs.items() if re.search(r"v1:[A-Za-z0-9+/]{40}", text)]
    assert not sealed, f"sealed keys (master-key encrypted) printed by: {sealed}"


def acme_session(workspace, db, daemon, u, outputs, found):
    """An account with External Account Binding at Pebble, and a certificate exported by
    the unprivileged daemon."""
    tls = make_tls_ca(workspace / "tls")
    hmac_raw, wrong_raw = secrets.token_bytes(32), secrets.token_bytes(32)
    hmac_key = base64.urlsafe_b64encode(hmac_raw).rstrip(b"=").decode()
    wrong = base64.urlsafe_b64encode(wrong_raw).rstrip(b"=").decode()
    found["EAB HMAC key"] = secret_forms(hmac_raw, hmac_key)
    found["wrong EAB HMAC key"] = secret_forms(wrong_raw, wrong)
    pebble = Pebble(workspace, tls, f"127.0.0.1:{daemon.port}", config={
        "externalAccountBindingRequired": True,
        "externalAccountMACKeys": {"kid-1": hmac_key},
    }).start()
    try:
        base = ["acme", "account", "create", "--directory", pebble.directory_url,
                "--agree-tos", "--ca-file", tls["ca"], "--eab-kid", "kid-1"]
        r = run_ctl(db, *base, "--eab-hmac", wrong)
        assert r.rc == 1 and "refused the account" in r.stderr, r
        outputs["acme account create (wrong EAB key)"] = r.stdout + r.stderr
        r = ok(db, *base, "--eab-hmac", "-", input=hmac_key + "\n")
        outputs["acme account create"] = r.stdout + r.stderr
        key = db / "master.key"
        st = key.stat()
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (u.uid, 0o600), oct(st.st_mode)

        export = workspace / "export"
        export.mkdir()
        os.chown(export, u.uid, u.gid)
        r = run_ctl(db, "cert", "request", ZONE, "--wait", "--timeout", REQUEST_TIMEOUT,
                    "--export-dir", export, timeout=REQUEST_TIMEOUT + 60)
        assert r.rc == 0, f"{r}\n{daemon.log_tail()}"
        outputs["cert request"] = r.stdout + r.stderr
        privkey = export / "privkey.pem"
        st = privkey.stat()
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (u.uid, 0o600), \
            f"privkey.pem exported by the daemon: uid {st.st_uid} mode {oct(st.st_mode)}"
        found["certificate private key"] = set(pem_body_lines(privkey.read_text()))
    finally:
        pebble.stop()
