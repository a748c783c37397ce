"""
Faults: nothing committed is lost, and every failure says clearly what
happened.  Each test provokes one fault against real processes and checks
what a user would see:

  1. certdnsctl killed (SIGKILL) in the middle of a large `zone import`, at
     several points: the old zone stays whole (zone show, zone export, a
     full AXFR from a running and from a restarted certdnsd), and the next
     import works.  certdnsd killed during heavy record edits: every edit
     certdnsctl reported is there after the restart.
  2. certdnsd killed during an ACME renewal, and while each request of an
     order is on its way to the CA: the current certificate stays (database
     and export directory), and the same order is carried on after the
     restart.
  3. The LMDB map full (small --map-size): the error names the database,
     its map size and how to grow it; nothing committed is lost; growing it
     as doc/hosting.md says works.
  4. The disk full (a small tmpfs; root only): the error names ENOSPC,
     nothing is lost, the daemon keeps answering, writes work again once
     space is freed; an export into a full directory leaves the previous
     files whole.
  5. The CA unreachable, hanging, or answering garbage: the certificate's
     history names the URL and what was wrong, a retry is scheduled (later
     each time), certdnsd keeps answering DNS and stops promptly.
  6. A secondary down (nothing listening, or packets dropped): NOTIFY is
     retried, edits and queries go on, and the secondary (certdnsd or Knot)
     gets the zone once it comes up.

Every test builds its own world in a short directory under /tmp (a control
socket DB/control.sock must fit in 108 bytes), on random loopback ports, and
stops what it started.  Waits are bounded polls; nothing asserts on speed.

Needs: pebble and openssl (2, 5), knot (6, one case), root and tmpfs (4),
python3-dnspython, python3-pytest.
"""

import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import dnstest
from ari_proxy import ARIProxy, _Handler, _Server
from dnstest import Daemon, run_ctl, wait_until
from pebble_ca import (OPENSSL, PEBBLE, Pebble, create_account, make_tls_ca, pick_port,
                       short_tmpdir, show_cert, stop_process)

KNOTD = shutil.which("knotd") or shutil.which("knotd", path="/usr/sbin:/sbin")
KNOTC = shutil.which("knotc") or shutil.which("knotc", path="/usr/sbin:/sbin")

need_pebble = pytest.mark.skipif(PEBBLE is None or not os.path.exists(OPENSSL),
                                 reason="needs Pebble (package pebble) and openssl")

WAIT = 60.0                 # bound for anything the daemon does by itself
QUERY_TIMEOUT = 2.0


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

def ask(port, qname, qtype, addr="127.0.0.1", timeout=QUERY_TIMEOUT):
    q = dns.message.make_query(qname, qtype)
    q.flags &= ~dns.flags.RD
    r = dns.query.udp(q, addr, port=port, timeout=timeout)
    if r.flags & dns.flags.TC:
        r = dns.query.tcp(q, addr, port=port, timeout=timeout)
    return r


def soa_serial(port, zone, addr="127.0.0.1"):
    r = ask(port, zone, "SOA", addr=addr)
    if r.rcode() != dns.rcode.NOERROR or not r.answer:
        return None
    return r.answer[0][0].serial


def txt_of(port, name, addr="127.0.0.1"):
    r = ask(port, name, "TXT", addr=addr)
    return sorted(b"".join(rd.strings).decode() for rr in r.answer for rd in rr)


def axfr_lines(port, zone, addr="127.0.0.1"):
    """The zone as a sorted list of RR lines, from a full AXFR (the SOA once)."""
    replies = dnstest.axfr_messages((addr, port), zone)
    lines = set()
    for r in replies:
        assert r.rcode == dns.rcode.NOERROR, f"AXFR of {zone} refused:\n{r}"
        for rrset in r.msg.answer:
            for rd in rrset:
                lines.add(f"{rrset.name.to_text().lower()} {rrset.ttl} "
                          f"{dns.rdatatype.to_text(rrset.rdtype)} {rd.to_text()}")
    return sorted(lines)


def ok(r):
    assert r.rc == 0, r
    return r


def ctl_json(db, *args):
    return json.loads(ok(run_ctl(db, "--json", *args)).stdout)


def zone_state(db, zone):
    """What certdnsctl says about a zone: zone show (JSON) and zone export (text)."""
    show = ctl_json(db, "zone", "show", zone)
    export = ok(run_ctl(db, "zone", "export", zone)).stdout
    return show, export


def zone_text(origin, serial=1, extra=()):
    return "\n".join([f"$ORIGIN {origin}.", "$TTL 300",
                      f"@ IN SOA ns1 hostmaster {serial} 3600 600 86400 300",
                      "@ IN NS ns1", "ns1 IN A 127.0.0.1", *extra]) + "\n"


class FixedPortDaemon(Daemon):
    """A dnstest.Daemon on a port chosen by the test (a restart, a secondary's address)."""

    def __init__(self, *args, port, **kwargs):
        super().__init__(*args, **kwargs)
        self.fixed_port = port

    def start(self):
        for _attempt in range(20):
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(self.argv(self.fixed_port),
                                             stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT)
            self.port = self.fixed_port
            if self._wait_ready():
                return self
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if "in use" not in self.log():
                break
            time.sleep(0.5)            # the port is still held by the previous process
        raise RuntimeError(f"certdnsd did not start on port {self.fixed_port}:\n"
                           f"{self.log_tail()}")


class Prober:
    """
    Asks a daemon one question over UDP every 50 ms on a thread of its own and
    counts the answers and the questions left unanswered (two tries of 2 s).
    """

    def __init__(self, port, qname, qtype="SOA"):
        self.port = port
        self.qname = qname
        self.qtype = qtype
        self.answered = 0
        self.unanswered = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            for attempt in (1, 2):
                try:
                    r = ask(self.port, self.qname, self.qtype)
                    if r.rcode() == dns.rcode.NOERROR:
                        self.answered += 1
                    else:
                        self.unanswered.append(f"{time.strftime('%X')} rcode "
                                               f"{dns.rcode.to_text(r.rcode())}")
                    break
                except (OSError, dns.exception.DNSException) as e:
                    if attempt == 2:
                        self.unanswered.append(f"{time.strftime('%X')} {e!r}")
            self._stop.wait(0.05)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        return self

    def assert_all_answered(self, during):
        assert self.answered > 0, f"no query was answered during {during}"
        assert not self.unanswered, \
            f"{len(self.unanswered)} of {self.answered + len(self.unanswered)} queries were " \
            f"not answered during {during}: {self.unanswered[:5]}"


@pytest.fixture
def world(request):
    """A short directory under /tmp and the daemons started in it; stopped and checked after."""
    root = short_tmpdir("cdf-")
    w = World(root)
    failed_before = request.session.testsfailed
    yield w
    problems = w.teardown()
    failed = request.session.testsfailed > failed_before
    if failed or problems or os.environ.get("CERTDNS_KEEP_TMP"):
        print(f"test_faults: files kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    assert not problems, "\n".join(problems)


class World:
    def __init__(self, root):
        self.root = Path(root)
        self.daemons = []
        self.cleanups = []          # callables run at teardown, last first

    def path(self, name):
        return self.root / name

    def new_db(self, name="db", zones=None, map_size=None):
        db = self.root / name
        db.mkdir()
        for origin, text in (zones or {}).items():
            f = self.root / f"{name}-{origin}.zone"
            f.write_text(text)
            args = (["--map-size", map_size] if map_size else []) + ["zone", "import", f]
            ok(run_ctl(db, *args))
        return db

    def start_daemon(self, db, extra_args=(), port=None, name=None, workers=1):
        name = name or f"certdnsd{len(self.daemons)}"
        if port is None:
            d = Daemon(db, self.root, extra_args=list(extra_args), workers=workers, name=name)
        else:
            d = FixedPortDaemon(db, self.root, extra_args=list(extra_args), workers=workers,
                                name=name, port=port)
        self.daemons.append(d)
        return d.start()

    def kill9(self, d):
        d.stop(signal.SIGKILL)
        d.killed = True

    def teardown(self):
        problems = []
        for d in self.daemons:
            if getattr(d, "killed", False) or d.proc is None or d.returncode is not None:
                continue     # killed or stopped (and checked) by the test itself
            was_dead = not d.alive()
            rc = d.stop()
            if was_dead:
                problems.append(f"{d.log_path.name} died during the test (status {rc}):\n"
                                f"{d.log_tail()}")
                continue
            try:
                d.assert_clean_exit(rc)
            except AssertionError as e:
                problems.append(str(e))
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as e:     # noqa: BLE001 - reported
                problems.append(f"cleanup {fn}: {e!r}")
        return problems

    def mount_tmpfs(self, name, size):
        """A tmpfs of the given size (\"2m\") at ROOT/name, unmounted at teardown."""
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root (the CI runs the suite as root)")
        d = self.root / name
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                            str(d)], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {(r.stdout + r.stderr).strip()}")
        self.cleanups.append(lambda: subprocess.run(["umount", "-l", str(d)], check=True,
                                                    capture_output=True, timeout=30))
        return d


# --------------------------------------------------------------------------
# 1. kill -9 during a large import; kill -9 of the daemon during record edits
# --------------------------------------------------------------------------

OLD_NAMES = 3000
BIG_NAMES = 200000


def old_zone_text():
    return zone_text("big.test", 1, [f"old{i} IN A 10.0.{i >> 8 & 255}.{i & 255}"
                                     for i in range(OLD_NAMES)] + ['old0 IN TXT "old zone"'])


def write_big_zone(path):
    lines = [zone_text("big.test", 2).rstrip("\n")]
    for i in range(BIG_NAMES):
        lines.append(f"new{i} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
        if i % 4 == 0:
            lines.append(f'new{i} IN TXT "new zone {i}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def written_bytes(pid):
    """Bytes the process has written so far (/proc/PID/io wchar), None once it is gone."""
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def measure_import(db, zone_file):
    """
    Imports into a scratch database that holds what the real one holds:
    (seconds until the first write, bytes written).  Opening an existing
    database writes nothing, so the first write is the commit.
    """
    argv = [dnstest.BIN["certdnsctl"], "--db", str(db), "zone", "import", str(zone_file)]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    first_write = None
    most = 0
    while p.poll() is None:
        w = written_bytes(p.pid)
        if w is not None:
            most = max(most, w)
            if first_write is None and w > 0:
                first_write = time.monotonic() - t0
        time.sleep(0.002)
    out, err = p.communicate()
    assert p.returncode == 0, f"scratch import failed: {out}{err}"
    assert first_write is not None and most > 0, "the import wrote nothing"
    return first_write, most


def kill_import_at(db, zone_file, after_seconds=None, after_bytes=None):
    """
    Starts `zone import` and kills it (SIGKILL) once after_seconds have passed
    or once it has written after_bytes.  Returns what it had written.  Fails the
    test when the import finished first (the kill point was too late).
    """
    argv = [dnstest.BIN["certdnsctl"], "--db", str(db), "zone", "import", str(zone_file)]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    written = 0
    try:
        while p.poll() is None:
            w = written_bytes(p.pid)
            if w is not None:
                written = w
            if after_seconds is not None and time.monotonic() - t0 >= after_seconds:
                break
            if after_bytes is not None and written >= after_bytes:
                break
            time.sleep(0.001)
        p.send_signal(signal.SIGKILL)
    finally:
        out, err = p.communicate(timeout=30)
    assert p.returncode == -signal.SIGKILL, \
        f"the import ended by itself before the kill point (status {p.returncode}): {out}{err}"
    return written


def test_import_killed_midway_leaves_the_old_zone_whole(world):
    db = world.new_db(zones={"big.test": old_zone_text()})
    ok(run_ctl(db, "zone", "transfer-acl", "big.test", "127.0.0.0/8", "::1/128"))
    big = write_big_zone(world.path("big.zone"))
    scratch = world.new_db("scratch", zones={"big.test": old_zone_text()})
    to_first_write, total_bytes = measure_import(scratch, big)
    shutil.rmtree(world.path("scratch"))

    d = world.start_daemon(db)
    show0, export0 = zone_state(db, "big.test")
    axfr0 = axfr_lines(d.port, "big.test")
    assert show0["serial"] == 1 and show0["names"] == OLD_NAMES + 2, show0
    assert len(axfr0) == OLD_NAMES + 4, len(axfr0)

    def assert_old_zone(port, who):
        show, export = zone_state(db, "big.test")
        assert show == show0, f"zone show after the killed import ({who}): {show}"
        assert export == export0, f"zone export changed after the killed import ({who})"
        assert soa_serial(port, "big.test.") == 1, who
        assert txt_of(port, "old0.big.test.") == ["old zone"], who
        assert ask(port, "new1.big.test.", "A").rcode() == dns.rcode.NXDOMAIN, who
        assert axfr_lines(port, "big.test") == axfr0, f"AXFR differs after the kill ({who})"
        zones = ctl_json(db, "zone", "list")
        assert [z["name"] for z in zones] == ["big.test."], zones

    # While parsing (nothing written yet), as the commit starts, half-way through
    # writing the pages, and near the end of it.
    kill_points = [("while parsing", dict(after_seconds=to_first_write * 0.4)),
                   ("at the first write", dict(after_bytes=1)),
                   ("half-way through the commit", dict(after_bytes=total_bytes // 2)),
                   ("late in the commit", dict(after_bytes=total_bytes * 85 // 100))]
    for where, point in kill_points:
        written = kill_import_at(db, big, **point)
        if "after_seconds" in point:
            assert written == 0, f"the import had written {written} bytes {where}"
        else:
            assert 0 < written < total_bytes, (where, written, total_bytes)
        assert d.alive(), f"certdnsd died when the import was killed {where}:\n{d.log_tail()}"
        assert_old_zone(d.port, f"running daemon, import killed {where}")

    # A restarted daemon serves the old zone too.
    d.stop_and_check()
    d2 = world.start_daemon(db, name="restarted")
    assert_old_zone(d2.port, "restarted daemon")

    # And the next import goes through, live for the running daemon.
    r = ok(run_ctl(db, "zone", "import", big))
    assert f"{BIG_NAMES * 5 // 4 + 3} records" in r.stdout, r.stdout
    show = ctl_json(db, "zone", "show", "big.test")
    assert show["serial"] == 2 and show["names"] == BIG_NAMES + 2, show
    assert soa_serial(d2.port, "big.test.") == 2
    assert txt_of(d2.port, "new0.big.test.") == ["new zone 0"]
    assert ask(d2.port, "old1.big.test.", "A").rcode() == dns.rcode.NXDOMAIN


EDITS_PER_WRITER = 40


def test_daemon_killed_during_record_edits_loses_no_reported_edit(world):
    db = world.new_db(zones={"edits.test": zone_text("edits.test", 100)})
    d = world.start_daemon(db, workers=2)
    results = {}              # owner -> (rc, stdout, stderr)
    progress = threading.Semaphore(0)

    def writer(w):
        for i in range(EDITS_PER_WRITER):
            owner = f"w{w}-{i}"
            r = run_ctl(db, "record", "add", "edits.test", f'{owner} 300 TXT "edit {w} {i}"',
                        timeout=60)
            results[owner] = (r.rc, r.stdout, r.stderr)
            progress.release()

    threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(3)]
    for t in threads:
        t.start()
    total = 3 * EDITS_PER_WRITER
    for _ in range(total // 3):
        assert progress.acquire(timeout=60), "the edits stopped making progress"
    world.kill9(d)                                   # in the middle of the edits
    for _ in range(total // 3):
        assert progress.acquire(timeout=60), "the edits stopped while certdnsd was down"
    d2 = world.start_daemon(db, port=d.port, name="restarted", workers=2)
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a writer hung"

    failed = {o: r for o, r in results.items() if r[0] != 0}
    assert not failed, f"edits failed while certdnsd was killed and restarted: {failed}"
    reported = [o for o, r in results.items() if r[0] == 0 and "1 record added" in r[1]]
    assert len(reported) == total, [r for r in results.values() if "1 record added" not in r[1]]
    listing = ok(run_ctl(db, "record", "list", "edits.test")).stdout
    missing = [o for o in reported if f"{o}.edits.test." not in listing]
    assert not missing, f"reported edits missing from the database: {missing}"
    # Every edit bumped the serial once; the restarted daemon serves the last one.
    assert ctl_json(db, "zone", "show", "edits.test")["serial"] == 100 + total
    assert wait_until("the restarted certdnsd to serve the last serial",
                      lambda: soa_serial(d2.port, "edits.test.") == 100 + total,
                      timeout=10)
    for o in reported:
        w, i = o[1:].split("-")
        assert txt_of(d2.port, f"{o}.edits.test.") == [f"edit {w} {i}"], o


# --------------------------------------------------------------------------
# 3. The LMDB map full
# --------------------------------------------------------------------------

def fill_batch(n, records=40):
    return [f'b{n}-{j} 300 TXT "{"x" * 200}"' for j in range(records)]


def assert_map_full_message(r, size_text):
    """What a full map must say: that it is full, how big the map is, how to grow it."""
    text = r.stdout + r.stderr
    assert r.rc == 1, r
    assert re.search(r"\bis full\b", text), f"the error does not say the database is full:\n{text}"
    assert re.search(rf"map (size )?of {size_text}\b", text), \
        f"the error does not give the current map size ({size_text}):\n{text}"
    assert "--map-size" in text, f"the error does not say how to grow the map:\n{text}"
    assert "When the database is full" in text and "hosting.md" in text, \
        f"the error does not point to the documentation:\n{text}"


def test_map_full_is_reported_and_growing_the_map_keeps_the_data(world):
    db = world.new_db(zones={"full.test": zone_text("full.test", 1)}, map_size="1M")
    ok(run_ctl(db, "zone", "transfer-acl", "full.test", "127.0.0.0/8"))
    d = world.start_daemon(db, extra_args=["--map-size", "1M"])
    committed = 0
    for n in range(300):
        r = run_ctl(db, "record", "add", "full.test", *fill_batch(n))
        if r.rc != 0:
            break
        committed += 1
    else:
        pytest.fail("a 1 MiB map never filled up")
    assert committed > 0, r
    assert_map_full_message(r, "1 MiB")
    assert "nothing changed" in r.stderr, r

    # Nothing committed is lost: everything before the failure is there and served.
    show, export = zone_state(db, "full.test")
    assert show["serial"] == 1 + committed, show
    assert show["records"] == 3 + 40 * committed, show
    assert f"b{committed}-0" not in export and f"b{committed - 1}-39" in export
    assert soa_serial(d.port, "full.test.") == 1 + committed
    assert len(axfr_lines(d.port, "full.test")) == 3 + 40 * committed
    # An import that does not fit says the same and leaves the zone as it was.
    big = world.path("full-big.zone")
    big.write_text(zone_text("full.test", 5000, [f"h{i} IN A 10.0.{i >> 8 & 255}.{i & 255}"
                                                 for i in range(20000)]))
    r = run_ctl(db, "zone", "import", big)
    assert_map_full_message(r, "1 MiB")
    assert zone_state(db, "full.test") == (show, export)
    assert d.alive() and soa_serial(d.port, "full.test.") == 1 + committed

    # Growing it while certdnsd runs with the smaller map would leave it unable
    # to read the database: certdnsctl refuses and says what to do instead.
    r = run_ctl(db, "--map-size", "8M", "record", "add", "full.test", *fill_batch(committed))
    assert r.rc == 1, r
    assert "certdnsd is running" in r.stderr, r
    assert re.search(r"restart certdnsd with --map-size", r.stderr, re.I), r
    assert zone_state(db, "full.test") == (show, export)
    assert soa_serial(d.port, "full.test.") == 1 + committed

    # doc/hosting.md: restart certdnsd with a larger --map-size; the database
    # keeps the new size, so certdnsctl needs no option.
    d.stop_and_check()
    d2 = world.start_daemon(db, extra_args=["--map-size", "8M"], port=d.port, name="grown")
    assert zone_state(db, "full.test") == (show, export), "growing the map changed the data"
    ok(run_ctl(db, "record", "add", "full.test", *fill_batch(committed)))
    assert wait_until("the grown daemon to serve the new record",
                      lambda: txt_of(d2.port, f"b{committed}-39.full.test.") == ["x" * 200],
                      timeout=10)
    r = ok(run_ctl(db, "zone", "import", big))
    assert soa_serial(d2.port, "full.test.") == 5000
    assert ask(d2.port, "h19999.full.test.", "A").answer, "the import is not served"

    # Without the daemon, certdnsctl --map-size grows it too (kept for later runs).
    d2.stop_and_check()
    for n in range(400):
        r = run_ctl(db, "record", "add", "full.test", *fill_batch(2000 + n, records=250))
        if r.rc != 0:
            break
    else:
        pytest.fail("an 8 MiB map never filled up")
    assert_map_full_message(r, "8 MiB")
    before = zone_state(db, "full.test")
    ok(run_ctl(db, "--map-size", "16M", "record", "add", "full.test", 'grown 300 TXT "16M"'))
    ok(run_ctl(db, "record", "add", "full.test", *fill_batch(1000)))
    after_show, after_export = zone_state(db, "full.test")
    assert after_show["serial"] == before[0]["serial"] + 2
    lost = {line for line in before[1].splitlines() if "\tSOA\t" not in line} - \
        set(after_export.splitlines())
    assert not lost, f"growing the map lost {len(lost)} records, e.g. {sorted(lost)[:3]}"
    d3 = world.start_daemon(db, port=d.port, name="after-ctl-grew")
    assert txt_of(d3.port, "grown.full.test.") == ["16M"]
    assert soa_serial(d3.port, "full.test.") == after_show["serial"]


# --------------------------------------------------------------------------
# 4. The disk full
# --------------------------------------------------------------------------

PAGE = 4096


def fill_up(directory, leave_pages=0):
    """Writes directory/filler until the file system has only leave_pages pages free."""
    filler = Path(directory) / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        st = os.statvfs(directory)
        want = st.f_bavail * st.f_frsize - leave_pages * PAGE
        while want > 0:
            want -= os.write(fd, b"\0" * min(want, 1 << 16))
        while leave_pages == 0:           # whatever the accounting left over
            os.write(fd, b"\0" * PAGE)
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return filler


def assert_enospc_message(r, what):
    text = r.stdout + r.stderr
    assert r.rc == 1, f"{what} did not fail on a full disk: {r}"
    assert "ENOSPC" in text and re.search(r"no space left", text, re.I), \
        f"{what}: the error does not say the disk is full (ENOSPC):\n{text}"


def test_disk_full_is_reported_and_nothing_is_lost(world):
    fs = world.mount_tmpfs("fs", "2m")
    db = fs / "db"
    db.mkdir()
    zf = world.path("disk.zone")
    zf.write_text(zone_text("disk.test", 1))
    ok(run_ctl(db, "zone", "import", zf))
    ok(run_ctl(db, "zone", "transfer-acl", "disk.test", "127.0.0.0/8"))
    d = world.start_daemon(db)
    prober = Prober(d.port, "disk.test.").start()
    filler = fill_up(fs)

    # LMDB first reuses the pages it freed itself; sooner or later a commit needs more.
    committed = 0
    for n in range(200):
        r = run_ctl(db, "record", "add", "disk.test", *fill_batch(n)[:10])
        if r.rc != 0:
            break
        committed += 1
    else:
        pytest.fail("record edits kept succeeding on a full file system")
    assert_enospc_message(r, "record add")
    assert "nothing changed" in r.stderr, r
    show, export = zone_state(db, "disk.test")
    assert show["serial"] == 1 + committed and show["records"] == 3 + 10 * committed, show
    r = run_ctl(db, "zone", "import", zf)
    assert_enospc_message(r, "zone import")
    assert zone_state(db, "disk.test") == (show, export), "a failed write changed the zone"

    # The daemon kept answering, with everything committed before the disk filled.
    assert d.alive(), d.log_tail()
    assert soa_serial(d.port, "disk.test.") == 1 + committed
    assert len(axfr_lines(d.port, "disk.test")) == 3 + 10 * committed
    prober.stop().assert_all_answered("the writes on a full disk")

    # Space again: writes work, and are live.
    filler.unlink()
    ok(run_ctl(db, "record", "add", "disk.test", 'after 300 TXT "space again"'))
    assert wait_until("the daemon to serve the write made after space was freed",
                      lambda: txt_of(d.port, "after.disk.test.") == ["space again"], timeout=10)
    assert ctl_json(db, "zone", "show", "disk.test")["serial"] == 2 + committed


def self_signed(world, name, sans):
    """A self-signed ECDSA certificate and its key, made by openssl: (cert path, key path)."""
    key, cert = world.path(f"{name}.key"), world.path(f"{name}.pem")
    san = ",".join(f"DNS:{s}" for s in sans)
    p = subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out",
                        str(cert), "-days", "30", "-subj", f"/CN={sans[0]}", "-addext",
                        f"subjectAltName={san}"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return cert, key


def export_files(directory):
    return {p.name: p.read_bytes() for p in sorted(Path(directory).iterdir())
            if p.name != "filler"}


def pubkey(args):
    p = subprocess.run([OPENSSL, *args], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.mark.skipif(not os.path.exists(OPENSSL), reason="needs openssl")
def test_export_to_a_full_disk_leaves_the_previous_files_whole(world):
    db = world.new_db()
    small = self_signed(world, "small", ["small.test"])
    # Bigger than a page: its cert.pem and fullchain.pem need two pages each.
    big = self_signed(world, "big", [f"host{i:03d}.a-rather-long-name.test" for i in range(200)])
    assert big[0].stat().st_size > 2 * PAGE
    for cert, key in (small, big):
        ok(run_ctl(db, "cert", "import", "--cert", cert, "--key", key))
    fs = world.mount_tmpfs("out", "1m")
    out = fs / "tls"
    ok(run_ctl(db, "cert", "export", 1, "--dir", out))
    first = export_files(out)
    assert set(first) == {"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"}

    # However little room is left, certificate 2 lands whole or not at all.
    for pages in range(0, 12):
        filler = fill_up(fs, leave_pages=pages)
        r = run_ctl(db, "cert", "export", 2, "--dir", out)
        filler.unlink()
        now = export_files(out)
        if r.rc == 0:
            assert now["cert.pem"] == big[0].read_bytes(), f"{pages} pages free"
            break
        assert "No space left on device" in r.stderr and str(out) in r.stderr, r
        assert now == first, f"a failed export ({pages} pages free) changed the files: " \
                             f"{sorted(k for k in now if now.get(k) != first.get(k))}"
    else:
        pytest.fail("the export never fitted")
    assert pubkey(["pkey", "-in", str(out / "privkey.pem"), "-pubout"]) == \
        pubkey(["x509", "-in", str(out / "fullchain.pem"), "-noout", "-pubkey"])


# --------------------------------------------------------------------------
# 6. A secondary down
# --------------------------------------------------------------------------

class Sink:
    """A UDP port that takes every packet and answers none (a secondary dropping packets)."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)
        self.notifies = []          # (time, zone, serial)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                data, _peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                m = dns.message.from_wire(data)
            except dns.exception.DNSException:
                continue
            if m.opcode() == dns.opcode.NOTIFY and m.question:
                serial = m.answer[0][0].serial if m.answer else None
                self.notifies.append((time.monotonic(), m.question[0].name.to_text(), serial))

    def count(self, zone):
        return sum(1 for _t, z, _s in self.notifies if z == zone)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def start_knot_secondary(world, zone, port, primary_port):
    """knotd on 127.0.0.1@port, a secondary of zone from certdnsd on primary_port (no TSIG)."""
    d = world.path("knot")
    (d / "storage").mkdir(parents=True)
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
remote:
  - id: primary
    address: 127.0.0.1@{primary_port}
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "{d}/storage"
    zonefile-load: none
    journal-content: changes
zone:
  - domain: {zone}
    master: primary
    acl: notify_from_primary
""")
    chk = subprocess.run([KNOTC, "-c", conf, "conf-check"], capture_output=True, text=True,
                         timeout=60)
    assert chk.returncode == 0, f"knotc conf-check:\n{chk.stdout}{chk.stderr}"
    log = open(d / "knotd.log", "ab")
    p = subprocess.Popen([KNOTD, "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=log,
                         stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    world.cleanups.append(lambda: stop_process(p))
    return p, d / "knotd.log"


def daemon_status(db):
    r = run_ctl(db, "--json", "status")
    assert r.rc == 0, r
    return json.loads(r.stdout)


@pytest.mark.parametrize("down, follower", [("drops-packets", "certdnsd"),
                                            ("nothing-listens", "knot")])
def test_secondary_down_blocks_nothing_and_gets_the_zone_when_up(world, down, follower):
    if follower == "knot" and not (KNOTD and KNOTC):
        pytest.skip("needs Knot DNS (package knot)")
    zone = "sec.test."
    sec_port = pick_port()
    db = world.new_db(zones={"sec.test": zone_text("sec.test", 10, ["www IN A 192.0.2.80"])})
    ok(run_ctl(db, "secondary", "add", "sec.test", f"127.0.0.1:{sec_port}"))
    sink = Sink(sec_port).start() if down == "drops-packets" else None
    if sink is not None:
        world.cleanups.append(sink.stop)
    d = world.start_daemon(db)
    prober = Prober(d.port, zone).start()

    # NOTIFY is sent at start and retried while nobody answers.
    if sink is not None:
        wait_until("the NOTIFY for sec.test and two retries", lambda: sink.count(zone) >= 3,
                   timeout=20, details=d.log_tail)
    assert wait_until("status to show a NOTIFY waiting for an answer",
                      lambda: daemon_status(db).get("notify_pending", 0) >= 1, timeout=10)

    # Edits go on, each live at once, while the secondary stays unreachable.
    for i in range(5):
        ok(run_ctl(db, "record", "add", "sec.test", f'edit{i} 300 TXT "while down {i}"'))
        assert soa_serial(d.port, zone) == 11 + i
        assert txt_of(d.port, f"edit{i}.{zone}") == [f"while down {i}"]
    if sink is not None:
        wait_until("a NOTIFY with the last serial (15) at the dropping secondary",
                   lambda: 15 in [s for _t, z, s in sink.notifies if z == zone], timeout=10)
        sink.stop()

    # The secondary comes up on its configured address and gets the zone.
    if follower == "certdnsd":
        fdb = world.new_db("follower-db")
        ok(run_ctl(fdb, "zone", "follow", "sec.test", f"127.0.0.1:{d.port}"))
        world.start_daemon(fdb, port=sec_port, name="follower")
    else:
        start_knot_secondary(world, zone, sec_port, d.port)
    wait_until(f"the {follower} secondary to serve serial 15",
               lambda: soa_serial(sec_port, zone) == 15, timeout=30, details=d.log_tail)
    assert txt_of(sec_port, f"edit4.{zone}") == ["while down 4"]
    assert ask(sec_port, f"www.{zone}", "A").answer[0][0].address == "192.0.2.80"

    # From now on NOTIFY reaches it: the next edit arrives without waiting for a refresh.
    ok(run_ctl(db, "record", "add", "sec.test", 'after 300 TXT "secondary up"'))
    wait_until(f"the {follower} secondary to serve serial 16 after NOTIFY",
               lambda: soa_serial(sec_port, zone) == 16, timeout=20, details=d.log_tail)
    assert txt_of(sec_port, f"after.{zone}") == ["secondary up"]
    wait_until("the NOTIFY of serial 16 to be acknowledged",
               lambda: re.search(rf"NOTIFY for {re.escape(zone)} serial 16 acknowledged",
                                 d.log()), timeout=10, details=d.log_tail)
    prober.stop().assert_all_answered("the secondary's outage")
    assert d.alive()


# --------------------------------------------------------------------------
# ACME: Pebble behind a proxy that can fail on purpose
# --------------------------------------------------------------------------

class FaultyCA(ARIProxy):
    """
    A TEST SERVER STANDING IN FOR A CA IN TROUBLE: ari_proxy.ARIProxy (no ARI
    added) in front of Pebble, whose answers can be replaced.  fault(method,
    route) returns None (Pebble answers), ("answer", status, content_type,
    body) (this answer instead, Pebble never sees the request), "hang" (the
    connection stays open and silent until release()) or "drop" (the
    connection is closed without an answer).  Every fault served is recorded.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("add_renewal_info", False)
        super().__init__(*args, **kwargs)
        self.fault = None
        self.served = []
        self._released = threading.Event()

    def release(self):
        self._released.set()

    def start(self):
        proxy = self

        class Handler(_Handler):
            def _handle(self):
                route = urllib.parse.urlsplit(self.path).path
                f = proxy.fault(self.command, route) if proxy.fault is not None else None
                if f is None:
                    return _Handler._handle(self)
                self._body()
                self.close_connection = True
                with proxy._lock:
                    proxy.served.append((time.time(), self.command, route, f if isinstance(f, str)
                                         else f[1]))
                if f == "hang":
                    proxy._released.wait(timeout=120)
                    return None
                if f == "drop":
                    return None
                _kind, status, ctype, body = f
                self._send(status, [("Content-Type", ctype)], body)
                return None
            do_GET = do_POST = do_HEAD = _handle

        Handler.proxy = proxy
        self._httpd = _Server((self.host, self.port), Handler, bind_and_activate=False)
        self._httpd.socket = self.server_ctx.wrap_socket(self._httpd.socket, server_side=True,
                                                         do_handshake_on_connect=False)
        self._httpd.server_bind()
        self._httpd.server_activate()
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._released.set()
        super().stop()


class Laggard:
    """A secondary that answers every query at once, without the challenge TXT: holds an
    ACME order in "published" while it is one of the zone's servers."""

    def __init__(self):
        self.port = pick_port()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
                r = dns.message.make_response(dns.message.from_wire(data))
                r.flags |= dns.flags.AA
                self.sock.sendto(r.to_wire(), peer)
            except socket.timeout:
                continue
            except (OSError, dns.exception.DNSException):
                if self._stop.is_set():
                    return

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture(scope="module")
def tls():
    d = short_tmpdir("cdf-tls-")
    yield make_tls_ca(d)
    shutil.rmtree(d, ignore_errors=True)


ACME_ZONE = "example.test"


class AcmeLab:
    """certdnsd serving example.test, Pebble validating against it, a FaultyCA in
    front of Pebble, and an ACME account created through the FaultyCA."""

    def __init__(self, world, tls, validity=None):
        self.world = world
        self.tls = tls
        self.db = world.new_db(zones={ACME_ZONE: zone_text(ACME_ZONE, 1)})
        # Look-ups of the engine go to a loopback port where nothing answers: our own
        # zones are read directly, nothing leaves the machine.
        self.resolver = f"127.0.0.1:{pick_port()}"
        self.daemon = self.start_daemon()
        self.pebble = Pebble(world.root, tls, f"127.0.0.1:{self.daemon.port}",
                             validity=validity, env={"PEBBLE_AUTHZREUSE": "0"}).start()
        world.cleanups.append(self.pebble.stop)
        self.ca = self.start_ca()
        self.directory = self.ca.directory_url
        create_account(self.ctl, self.directory, tls["ca"], diag=self.diag)

    def start_daemon(self, port=None, name=None):
        return self.world.start_daemon(self.db, ["--acme-resolver", self.resolver], port=port,
                                       name=name)

    def restart_daemon(self, name):
        self.daemon = self.start_daemon(port=self.daemon.port, name=name)
        return self.daemon

    def start_ca(self, port=0):
        ca = FaultyCA(("127.0.0.1", self.pebble.port), self.tls["ca"], self.tls["cert"],
                      self.tls["key"], port=port).start()
        self.world.cleanups.append(ca.stop)
        return ca

    def ctl(self, *args, timeout=180):
        return run_ctl(self.db, *args, timeout=timeout)

    def request(self, *args, wait=True):
        r = self.ctl("cert", "request", *args, *(["--wait", "--timeout", 120] if wait else []))
        m = re.search(r"certificate (\d+) requested", r.stdout + r.stderr)
        assert m, f"no certificate id in {r}\n{self.diag()}"
        return r, int(m.group(1))

    def show(self, cert_id):
        return show_cert(self.ctl, cert_id)

    def events(self, cert_id):
        return [e["message"] for e in self.show(cert_id).get("events", [])]

    def wait_event(self, cert_id, pattern, timeout=WAIT, after=0):
        """The first event (from index after on) matching pattern: (index, event)."""
        def find():
            evs = self.show(cert_id).get("events", [])
            for i, e in enumerate(evs[after:], after):
                if re.search(pattern, e["message"]):
                    return (i, e)
            return None
        return wait_until(f"certificate {cert_id}: an event matching {pattern!r}", find,
                          timeout=timeout, interval=0.2, details=lambda: self.diag(cert_id))

    def diag(self, cert_id=None):
        parts = []
        if cert_id is not None:
            r = self.ctl("cert", "show", cert_id)
            parts.append(f"--- cert show {cert_id}:\n{r.stdout}{r.stderr}")
        parts.append(f"--- certdnsd:\n{self.daemon.log_tail(30)}")
        parts.append("--- pebble:\n" + "\n".join(self.pebble.log().splitlines()[-20:]))
        return "\n".join(parts)


def cert_serial_of(pem):
    p = subprocess.run([OPENSSL, "x509", "-noout", "-serial"], input=pem, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return int(p.stdout.strip().split("=", 1)[1], 16)


def assert_key_matches(cert_path, key_path):
    assert pubkey(["pkey", "-in", str(key_path), "-pubout"]) == \
        pubkey(["x509", "-in", str(cert_path), "-noout", "-pubkey"]), \
        f"{key_path} does not belong to {cert_path}"


def orders_created(events):
    return [m.split()[1] for m in events if re.match(r"order \S+ created$", m)]


# --------------------------------------------------------------------------
# 2. kill -9 during a renewal, and while finalize is in flight
# --------------------------------------------------------------------------

@need_pebble
def test_renewal_killed_midway_keeps_the_old_certificate_and_completes_after_restart(world,
                                                                                      tls):
    lab = AcmeLab(world, tls, validity=40)
    export = world.path("export")
    r, cid = lab.request(ACME_ZONE, "--export-dir", export)
    assert r.rc == 0, f"{r}\n{lab.diag(1)}"
    first = lab.show(cid)

    # A renewal is held in "published" by a secondary that lags (a renewal whose
    # authorization the CA reused goes through: then the next one is held).
    laggard = Laggard().start()
    world.cleanups.append(laggard.stop)
    ok(lab.ctl("secondary", "add", ACME_ZONE, f"127.0.0.1:{laggard.port}"))
    held = wait_until("a renewal to wait for propagation",
                      lambda: (lambda c: c if c["status"] == "renewing" and
                               c["state"] == "published" else None)(lab.show(cid)),
                      timeout=first["not_after"] - time.time() + 90, details=lambda: lab.diag(cid))
    renewal_order = held["order_url"]
    s1 = int(held["serial"], 16)
    exported = export_files(export)
    assert cert_serial_of(exported["cert.pem"].decode()) == s1
    world.kill9(lab.daemon)

    # What the killed daemon left: the old certificate, in the record and on disk.
    dead = lab.show(cid)
    assert dead["state"] == "published" and dead["status"] == "renewing", dead
    assert int(dead["serial"], 16) == s1 and dead["chain"] == held["chain"], dead
    assert export_files(export) == exported, "the export directory changed during the renewal"
    assert_key_matches(export / "cert.pem", export / "privkey.pem")
    ok(lab.ctl("cert", "export", cid, "--dir", world.path("again")))
    assert cert_serial_of((world.path("again") / "fullchain.pem").read_text()) == s1
    assert_key_matches(world.path("again") / "cert.pem", world.path("again") / "privkey.pem")

    # Restarted (same port: Pebble validates against it), it finishes the same order.
    ok(lab.ctl("secondary", "delete", ACME_ZONE, f"127.0.0.1:{laggard.port}"))
    lab.restart_daemon("restarted")
    renewed = wait_until("the renewal to complete after the restart",
                         lambda: (lambda c: c if int(c["serial"], 16) != s1 else None)(
                             lab.show(cid)), timeout=90, details=lambda: lab.diag(cid))
    lab.daemon.stop_and_check()        # 40 s certificates: nothing moves while we look
    final = lab.show(cid)
    s2 = int(renewed["serial"], 16)
    orders = orders_created([e["message"] for e in final["events"]])
    assert orders.count(renewal_order) == 1, orders
    issued = {int(s, 16): o for s, o in lab.pebble.issued()}
    assert renewal_order.endswith("/" + issued[s2]), (renewal_order, issued)
    assert len(lab.pebble.orders_added()) == len(orders), (lab.pebble.orders_added(), orders)
    assert cert_serial_of((export / "cert.pem").read_text()) == int(final["serial"], 16)
    assert_key_matches(export / "cert.pem", export / "privkey.pem")
    assert "_acme-challenge" not in ok(lab.ctl("record", "list", ACME_ZONE)).stdout


# (step, the request held while certdnsd is killed, which one of its kind)
ORDER_STEPS = [
    ("newOrder", "/order-plz", 1),
    ("authorization", "/authZ/", 1),
    ("challenge", "/chalZ/", 2),          # the first reads it, the second answers it
    ("validation", "/authZ/", 2),
    ("finalize", "/finalize-order/", 1),
    ("order", "/my-order/", 1),
    ("certificate", "/certZ/", 1),
]


@need_pebble
@pytest.mark.parametrize("step, prefix, nth", ORDER_STEPS, ids=[s[0] for s in ORDER_STEPS])
def test_killed_at_each_step_of_an_order_resumes_it(world, tls, step, prefix, nth):
    """
    The request of one step is held on its way to the CA; certdnsd is killed
    meanwhile; the CA then gets the request (the daemon never sees the
    answer).  After a restart the same order is carried to the end -- except
    when newOrder itself was in flight: its order, unknown to certdnsd, stays
    unused at the CA (doc/acme.md).
    """
    lab = AcmeLab(world, tls)
    seen = []
    arrived = threading.Event()

    def delay_for(method, route, payload):
        if method == "POST" and route.startswith(prefix):
            seen.append(route)
            if len(seen) == nth:
                arrived.set()
                return 3
        return 0
    lab.ca.delay_for = delay_for
    _r, cid = lab.request(f"www.{ACME_ZONE}", wait=False)
    assert arrived.wait(timeout=60), f"no {step} request came:\n{lab.diag(cid)}"
    before = lab.show(cid)
    world.kill9(lab.daemon)
    # Its DNS is back at once (without the engine), as the CA may validate meanwhile.
    dns_only = world.start_daemon(lab.db, ["--no-acme"], port=lab.daemon.port, name="dns-only")
    udp_before = daemon_status(lab.db)["queries"]["udp"]
    wait_until(f"the held {step} request to reach Pebble",
               lambda: len([e for e in lab.ca.exchanges()
                            if e["method"] == "POST" and e["path"].startswith(prefix)]) >= nth,
               timeout=30)
    lab.ca.delay_for = None
    if step == "challenge":              # the answer makes Pebble look up the TXT record
        wait_until("Pebble's validation query",
                   lambda: daemon_status(lab.db)["queries"]["udp"] > udp_before, timeout=30)
    dns_only.stop_and_check()

    lab.restart_daemon("restarted")
    done = wait_until("the certificate to be issued after the restart",
                      lambda: (lambda c: c if c["state"] in ("issued", "failed") else None)(
                          lab.show(cid)), timeout=90, details=lambda: lab.diag(cid))
    assert done["state"] == "issued", f"{json.dumps(done.get('error'))}\n{lab.diag(cid)}"
    orders = orders_created([e["message"] for e in done["events"]])
    at_ca = lab.pebble.orders_added()
    if step == "newOrder":
        assert "order_url" not in before and len(orders) == 1 and len(at_ca) == 2, \
            (before, orders, at_ca)
    else:
        assert orders == [before["order_url"]] and len(at_ca) == 1, (orders, at_ca)
    issued = {int(s, 16): o for s, o in lab.pebble.issued()}
    assert orders[-1].endswith("/" + issued[int(done["serial"], 16)]), (orders, issued)
    assert "_acme-challenge" not in ok(lab.ctl("record", "list", ACME_ZONE)).stdout
    out = world.path("out")
    ok(lab.ctl("cert", "export", cid, "--dir", out))
    assert_key_matches(out / "cert.pem", out / "privkey.pem")


@need_pebble
def test_killed_while_finalize_is_lost_sends_it_again(world, tls):
    """The finalize request never reaches the CA: after the restart it is sent again."""
    lab = AcmeLab(world, tls)
    arrived = threading.Event()

    def fault(method, route):
        if method == "POST" and route.startswith("/finalize-order/") and not arrived.is_set():
            arrived.set()
            return "hang"
        return None
    lab.ca.fault = fault
    _r, cid = lab.request(f"www.{ACME_ZONE}", wait=False)
    assert arrived.wait(timeout=60), f"finalize never came:\n{lab.diag(cid)}"
    c = lab.show(cid)
    assert c["state"] == "authorized", c
    world.kill9(lab.daemon)
    lab.ca.release()
    lab.restart_daemon("restarted")
    done = wait_until("the certificate to be issued after the restart",
                      lambda: (lambda c: c if c["state"] in ("issued", "failed") else None)(
                          lab.show(cid)), timeout=90, details=lambda: lab.diag(cid))
    assert done["state"] == "issued", f"{json.dumps(done.get('error'))}\n{lab.diag(cid)}"
    assert orders_created([e["message"] for e in done["events"]]) == [c["order_url"]]
    assert len(lab.pebble.orders_added()) == 1, lab.pebble.orders_added()
    finalizes = [e for e in lab.ca.exchanges() if e["path"].startswith("/finalize-order/")]
    assert len(finalizes) == 1, "finalize was not sent again after the restart"


# --------------------------------------------------------------------------
# 5. The CA unreachable, hanging, or answering garbage
# --------------------------------------------------------------------------

def answer(status, ctype, body):
    return ("answer", status, ctype, body.encode() if isinstance(body, str) else body)


# (case, the request that goes wrong, the answer it gets, what the history must say)
GARBAGE = [
    ("directory-not-json", ("GET", "/dir"),
     answer(200, "text/html", "<html><body>Service temporarily unavailable</body></html>"),
     r"not (a )?JSON"),
    ("directory-truncated", ("GET", "/dir"),
     answer(200, "application/json", '{"newNonce": "https://127.0.0.1/nonce-plz", "newAcc'),
     r"not (a )?JSON"),
    ("directory-not-an-object", ("GET", "/dir"),
     answer(200, "application/json", '["newNonce", "newAccount", "newOrder"]'),
     r"not (a )?JSON object"),
    ("directory-missing-newOrder", ("GET", "/dir"),
     answer(200, "application/json", json.dumps({"newNonce": "https://127.0.0.1:1/nonce",
                                                 "newAccount": "https://127.0.0.1:1/acct"})),
     r"newOrder"),
    ("order-500-without-problem", ("POST", "/order-plz"),
     answer(500, "text/plain", "Internal Server Error\n"),
     r"HTTP 500 without a problem document"),
    ("order-wrong-content-type", ("POST", "/order-plz"),
     answer(201, "text/html", "<html>Created</html>"),
     r"not (a )?JSON"),
    ("certificate-not-pem", ("POST", "/certZ/"),
     answer(200, "application/json", '{"certificate": "here it is"}'),
     r"not a PEM certificate"),
]


@need_pebble
@pytest.mark.parametrize("case, request_, bad, says", GARBAGE, ids=[g[0] for g in GARBAGE])
def test_ca_answering_garbage_is_retried_and_dns_keeps_answering(world, tls, case, request_,
                                                                  bad, says):
    lab = AcmeLab(world, tls)
    method, prefix = request_
    lab.ca.fault = lambda m, route: bad if m == method and route.startswith(prefix) else None
    prober = Prober(lab.daemon.port, f"{ACME_ZONE}.").start()
    _r, cid = lab.request(f"www.{ACME_ZONE}", wait=False)
    i, ev = lab.wait_event(cid, r"retrying in \d+ s")
    c = lab.show(cid)
    url = f"{lab.ca.base_url}{prefix}"
    msg = ev["message"]
    assert url in msg, f"the history does not name the URL {url}: {msg}"
    assert re.search(says, msg, re.I), f"the history does not say what was wrong ({says}): {msg}"
    assert c["state"] not in ("failed", "issued"), c
    assert "error" not in c or c["error"].get("type") != "urn:certdns:error", c
    # A retry is scheduled: a minute later (the first time), shown by cert show.
    assert 50 <= c["retry_at"] - ev["time"] <= 70, (c["retry_at"], ev)
    assert "retrying in 60 s" in msg, msg
    text = ok(lab.ctl("cert", "show", cid)).stdout
    assert "next step:" in text and msg in text, text
    assert lab.ca.served, "the fault was never served"
    assert lab.daemon.alive()
    prober.stop().assert_all_answered(f"the CA's garbage ({case})")
    if case != "certificate-not-pem":
        return
    # The order is valid at the CA: the retry downloads the certificate of that same order.
    order_url = c["order_url"]
    lab.ca.fault = None
    done = wait_until("the retry to download the certificate",
                      lambda: (lambda c: c if c["state"] in ("issued", "failed") else None)(
                          lab.show(cid)), timeout=c["retry_at"] - time.time() + 60,
                      details=lambda: lab.diag(cid))
    assert done["state"] == "issued", f"{done.get('error')}\n{lab.diag(cid)}"
    assert orders_created([e["message"] for e in done["events"]]) == [order_url]
    assert "transient_failures" not in done, done
    out = world.path("out")
    ok(lab.ctl("cert", "export", cid, "--dir", out))
    assert_key_matches(out / "cert.pem", out / "privkey.pem")


@need_pebble
def test_unreachable_ca_is_retried_later_each_time(world, tls):
    lab = AcmeLab(world, tls)
    port = lab.ca.port
    lab.ca.stop()                                # nothing listens there any more
    prober = Prober(lab.daemon.port, f"{ACME_ZONE}.").start()
    _r, cid = lab.request(f"www.{ACME_ZONE}", wait=False)
    i1, ev1 = lab.wait_event(cid, r"retrying in \d+ s")
    url = f"https://127.0.0.1:{port}/dir"
    assert url in ev1["message"], ev1
    assert re.search(r"connect|refused", ev1["message"], re.I), ev1
    c = lab.show(cid)
    assert c["state"] == "requested" and c["retry_at"] - ev1["time"] in range(55, 66), c
    # The second try, at the time given, fails too and waits longer.
    _i2, ev2 = lab.wait_event(cid, r"retrying in \d+ s", after=i1 + 1,
                              timeout=c["retry_at"] - time.time() + 30)
    assert ev2["time"] >= c["retry_at"] - 1, (ev2, c["retry_at"])
    d1 = int(re.search(r"retrying in (\d+) s", ev1["message"]).group(1))
    d2 = int(re.search(r"retrying in (\d+) s", ev2["message"]).group(1))
    assert d2 > d1, f"no backoff: {ev1['message']} / {ev2['message']}"
    assert lab.show(cid)["retry_at"] - ev2["time"] in range(d2 - 5, d2 + 6)
    assert "2 failures in a row" in ev2["message"], ev2
    prober.stop().assert_all_answered("the CA's outage")

    # The CA is back: the engine is not stuck (a new request goes through at once).
    lab.ca = lab.start_ca(port=port)
    r, cid2 = lab.request(f"api.{ACME_ZONE}")
    assert r.rc == 0, f"{r}\n{lab.diag(cid2)}"
    assert lab.show(cid)["state"] == "requested"      # still waiting for its own retry


@need_pebble
def test_hanging_ca_blocks_neither_dns_nor_shutdown(world, tls):
    lab = AcmeLab(world, tls)
    lab.ca.fault = lambda m, route: "hang" if m == "POST" and route == "/order-plz" else None
    prober = Prober(lab.daemon.port, f"{ACME_ZONE}.").start()
    _r, cid = lab.request(f"www.{ACME_ZONE}", wait=False)
    wait_until("the engine to be stuck in newOrder", lambda: lab.ca.served, timeout=30)
    time.sleep(3)                                # the engine waits for an answer meanwhile
    prober.stop().assert_all_answered("a CA that does not answer")
    # SIGTERM while the engine waits: certdnsd still stops cleanly, within the
    # STOP_TIMEOUT of dnstest (the CA would keep it waiting for a minute).
    assert lab.show(cid).get("events", []) == [], "the engine is not waiting for the CA"
    rc = lab.daemon.stop()
    lab.daemon.assert_clean_exit(rc)
    c = lab.show(cid)
    assert c["state"] == "requested" and "order_url" not in c, c
    assert not any("retrying" in e["message"] for e in c.get("events", [])), \
        "stopping the daemon was recorded as a failure of the CA"
