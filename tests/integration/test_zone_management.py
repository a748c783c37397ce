"""
Zone management with certdnsctl against a running certdnsd: zone create (name
servers from --ns or the setting default_ns, serial policies), record
add/replace/delete/batch (live on the next query, one serial bump per command,
all or nothing), the rules every change is checked against, exit codes, --json
output, status over the control socket (and file modes), writes while the
daemon is down, and certdnsd as a secondary of certdnsd (AXFR, NOTIFY + IXFR,
a secondary of a secondary, zone unfollow).

Self-contained: every database lives in a short directory under /tmp (the
control socket DBDIR/control.sock must fit in 108 bytes), every daemon runs on
random loopback ports and is stopped (and checked for a clean exit) on
teardown.  Waits are bounded polls; nothing asserts on speed.
"""

import datetime
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import dns.exception
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

import dnstest
from dnstest import Daemon

WAIT = 30.0            # bound for anything asynchronous (transfers, NOTIFY, counters)
QUERY_TIMEOUT = 3.0

ZONE = "zm.test."


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

class Ctl:
    def __init__(self, argv, rc, stdout, stderr):
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr

    def __repr__(self):
        return (f"certdnsctl {' '.join(self.argv[1:])!s}\n  rc={self.rc}\n"
                f"  stdout={self.stdout!r}\n  stderr={self.stderr!r}")

    def json(self):
        return json.loads(self.stdout)


def ctl(db, *args, json_out=False, stdin=None, umask=None):
    """certdnsctl --db DB [--json] ARGS; stdin: text fed to it (else /dev/null)."""
    argv = [dnstest.BIN["certdnsctl"]]
    if db is not None:
        argv += ["--db", str(db)]
    if json_out:
        argv.append("--json")
    argv += [str(a) for a in args]
    kw = {}
    if umask is not None:
        kw["preexec_fn"] = lambda: os.umask(umask)
    p = subprocess.run(argv, input=stdin if stdin is not None else "",
                       capture_output=True, text=True, errors="replace", timeout=120,
                       **kw)
    return Ctl(argv, p.returncode, p.stdout, p.stderr)


def ok(db, *args, **kw):
    r = ctl(db, *args, **kw)
    assert r.rc == 0, r
    return r


def wait_for(what, check, timeout=WAIT, interval=0.1, details=lambda: ""):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = check()
            if value:
                return value
        except (OSError, TimeoutError, dns.exception.DNSException) as e:
            last = e
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}"
                f"{f' (last error: {last!r})' if last else ''}\n{details()}")


def ask(d, qname, qtype="A", tcp=False):
    q = dnstest.make_query(qname, qtype)
    if tcp:
        return dnstest.query_tcp(d.v4, q, timeout=QUERY_TIMEOUT)
    return dnstest.query_udp(d.v4, q, timeout=QUERY_TIMEOUT)


def serial(d, zone=ZONE):
    """The SOA serial d answers authoritatively for zone (None: not authoritative)."""
    r = ask(d, zone, "SOA")
    if r.rcode != dns.rcode.NOERROR or not r.aa:
        return None
    for rrset in r.msg.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def rdatas(d, qname, qtype="A", tcp=False):
    """(rcode, sorted rdata texts of qtype at qname) as d answers, which must be AA."""
    r = ask(d, qname, qtype, tcp=tcp)
    assert r.aa or r.rcode == dns.rcode.REFUSED, r
    got = sorted(rd.to_text() for rrset in r.msg.answer
                 if rrset.rdtype == dns.rdatatype.from_text(qtype) for rd in rrset)
    return r.rcode, got


def answers(d, qname, qtype="A"):
    """The rdata texts served at qname/qtype over UDP and TCP (they must agree)."""
    udp = rdatas(d, qname, qtype)
    tcp = rdatas(d, qname, qtype, tcp=True)
    assert udp == tcp, f"UDP and TCP disagree for {qname} {qtype}: {udp} vs {tcp}"
    return udp


def nx(d, qname, qtype="A"):
    return rdatas(d, qname, qtype)[0] == dns.rcode.NXDOMAIN


def ttl_of(d, qname, qtype):
    r = ask(d, qname, qtype)
    for rrset in r.msg.answer:
        if rrset.rdtype == dns.rdatatype.from_text(qtype):
            return rrset.ttl
    return None


def export(db, zone=ZONE):
    return ok(db, "zone", "export", zone).stdout


def journal(db, zone=ZONE):
    return ok(db, "zone", "show", zone, json_out=True).json()["journal_entries"]


def today_utc():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")


class Lab:
    """Short database directories and daemons, all cleaned up at the end."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="cdzm-", dir="/tmp"))
        self.daemons = []
        self.n = 0

    def db(self, name=None):
        self.n += 1
        d = self.base / (name or f"d{self.n}")
        d.mkdir()
        return d

    def start(self, db, name=None, extra=()):
        d = Daemon(db, self.base, extra_args=["--no-acme", *extra], workers=2,
                   name=name or f"certdnsd-{db.name}")
        self.daemons.append(d)
        return d.start()

    def close(self):
        failures = []
        for d in self.daemons:
            rc = d.stop()
            try:
                d.assert_clean_exit(rc)
            except AssertionError as e:
                failures.append(str(e))
        shutil.rmtree(self.base, ignore_errors=True)
        return failures


@pytest.fixture
def lab():
    lb = Lab()
    yield lb
    failures = lb.close()
    assert not failures, "\n".join(failures)


def make_zone(db, zone=ZONE, policy=None):
    """zone create ZONE with two NS, plus glue and www: serial 2 (increment)."""
    args = ["zone", "create", zone, "--ns", f"ns1.{zone}", "--ns", "ns2.example.net."]
    if policy:
        args += ["--serial-policy", policy]
    ok(db, *args)
    ok(db, "record", "add", zone, "ns1 A 192.0.2.53", "www 300 A 192.0.2.1",
       "www 300 A 192.0.2.2", "www 300 AAAA 2001:db8::1", 'www 300 TXT "web"',
       "deleg NS ns.deleg", "ns.deleg A 192.0.2.99", "alias CNAME www")


@pytest.fixture
def live(lab):
    """A database with zm.test (serial 2) and a certdnsd serving it."""
    db = lab.db()
    make_zone(db)
    d = lab.start(db)
    assert serial(d) == 2
    return d


def assert_one_bump(d, before_serial, r):
    """The command bumped the served serial exactly once (and said so)."""
    assert serial(d) == before_serial + 1, r
    assert f"serial {before_serial} -> {before_serial + 1}" in r.stdout, r


# --------------------------------------------------------------------------
# zone create
# --------------------------------------------------------------------------

def test_zone_create_with_ns_is_served_by_the_running_daemon(lab):
    db = lab.db()
    ok(db, "zone", "create", "other.test", "--ns", "ns.other.test")   # so the daemon has a zone
    d = lab.start(db)
    r = ok(db, "zone", "create", "created.test", "--ns", "ns1.created.test",
           "--ns", "ns2.example.net.")
    assert "created zone created.test, serial 1, 2 name servers" in r.stdout, r
    assert serial(d, "created.test.") == 1
    assert answers(d, "created.test.", "NS") == (dns.rcode.NOERROR,
                                                 ["ns1.created.test.", "ns2.example.net."])
    soa = ask(d, "created.test.", "SOA").msg.answer[0][0]
    assert soa.mname.to_text() == "ns1.created.test."          # MNAME: the first NS
    assert soa.rname.to_text() == "hostmaster.created.test."
    zones = [z["name"] for z in ok(db, "zone", "list", json_out=True).json()]
    assert "created.test." in zones


def test_zone_create_uses_settings_default_ns(lab):
    db = lab.db()
    ok(db, "settings", "set", "default_ns", "a.ns.example.net", "b.ns.example.net.")
    settings = ok(db, "settings", "show", json_out=True).json()
    assert settings["default_ns"] == ["a.ns.example.net.", "b.ns.example.net."], settings
    r = ok(db, "zone", "create", "defaults.test")
    assert "2 name servers" in r.stdout, r
    d = lab.start(db)
    assert answers(d, "defaults.test.", "NS") == (dns.rcode.NOERROR,
                                                  ["a.ns.example.net.", "b.ns.example.net."])
    assert serial(d, "defaults.test.") == 1
    # --ns wins over the setting.
    ok(db, "zone", "create", "explicit.test", "--ns", "ns.explicit.test")
    assert answers(d, "explicit.test.", "NS") == (dns.rcode.NOERROR, ["ns.explicit.test."])


def test_zone_create_soa_from_options_and_settings(lab):
    db = lab.db()
    for key, value in (("soa_refresh", "1000"), ("soa_retry", "200"), ("soa_expire", "90000"),
                       ("soa_minimum", "60"), ("default_ttl", "900")):
        ok(db, "settings", "set", key, value)
    ok(db, "zone", "create", "opts.test", "--ns", "ns1.opts.test", "--soa-mname",
       "primary.opts.test", "--soa-rname", "admin.example.net", "--ttl", "120")
    ok(db, "zone", "create", "dflt.test", "--ns", "ns1.dflt.test")
    d = lab.start(db)
    r = ask(d, "opts.test.", "SOA")
    soa = r.msg.answer[0]
    assert soa.ttl == 120, r
    assert (soa[0].mname.to_text(), soa[0].rname.to_text()) == \
        ("primary.opts.test.", "admin.example.net."), r
    assert (soa[0].serial, soa[0].refresh, soa[0].retry, soa[0].expire, soa[0].minimum) == \
        (1, 1000, 200, 90000, 60), r
    assert ttl_of(d, "opts.test.", "NS") == 120
    r = ask(d, "dflt.test.", "SOA")
    assert r.msg.answer[0].ttl == 900 and r.msg.answer[0][0].mname.to_text() == "ns1.dflt.test.", r
    # New records get default_ttl unless they give one.
    ok(db, "record", "add", "dflt.test", "a A 192.0.2.1", "b 30 A 192.0.2.2")
    assert ttl_of(d, "a.dflt.test.", "A") == 900
    assert ttl_of(d, "b.dflt.test.", "A") == 30


def test_zone_create_without_ns_or_default_fails_naming_the_setting(lab):
    db = lab.db()
    r = ctl(db, "zone", "create", "nons.test")
    assert r.rc == 1, r
    assert "settings set default_ns" in r.stderr, r
    assert r.stdout == "", r
    assert ok(db, "zone", "list", json_out=True).json() == []


def test_zone_create_of_an_existing_zone_fails_and_changes_nothing(live):
    db = live.db_dir
    before = export(db)
    r = ctl(db, "zone", "create", ZONE, "--ns", "ns9.elsewhere.example.")
    assert r.rc == 1, r
    assert "already exists" in r.stderr, r
    assert export(db) == before
    assert serial(live) == 2
    assert answers(live, ZONE, "NS")[1] == ["ns1.zm.test.", "ns2.example.net."]


def test_serial_policy_increment(live):
    db = live.db_dir
    assert ok(db, "zone", "show", ZONE, json_out=True).json()["serial_policy"] == "increment"
    for i in range(3):
        r = ok(db, "record", "add", ZONE, f"inc{i} A 192.0.2.{10 + i}")
        assert_one_bump(live, 2 + i, r)
    assert serial(live) == 5


def test_serial_policy_dateserial(lab):
    db = lab.db()
    day0 = today_utc()
    r = ok(db, "zone", "create", "date.test", "--ns", "ns.date.test",
           "--serial-policy", "dateserial")
    day1 = today_utc()
    d = lab.start(db)
    first = serial(d, "date.test.")
    assert first in {int(day0 + "00"), int(day1 + "00")}, (first, r)
    assert f"serial {first}" in r.stdout, r
    assert ok(db, "zone", "show", "date.test", json_out=True).json()["serial_policy"] == \
        "dateserial"
    r = ok(db, "record", "add", "date.test", "a A 192.0.2.1")
    assert serial(d, "date.test.") == first + 1, r          # same day: YYYYMMDD01
    # An increment zone switched to dateserial jumps to today's first number.
    ok(db, "zone", "create", "switch.test", "--ns", "ns.switch.test")
    assert serial(d, "switch.test.") == 1
    ok(db, "zone", "set", "switch.test", "serial-policy", "dateserial")
    day0 = today_utc()
    ok(db, "record", "add", "switch.test", "a A 192.0.2.1")
    day1 = today_utc()
    assert serial(d, "switch.test.") in {int(day0 + "00"), int(day1 + "00")}
    # The setting serial_policy is the default for new zones.
    ok(db, "settings", "set", "serial_policy", "dateserial")
    day0 = today_utc()
    ok(db, "zone", "create", "bysetting.test", "--ns", "ns.bysetting.test")
    day1 = today_utc()
    assert serial(d, "bysetting.test.") in {int(day0 + "00"), int(day1 + "00")}
    ok(db, "record", "add", "bysetting.test", "a A 192.0.2.1")
    assert serial(d, "bysetting.test.") % 100 == 1


def test_zone_show_names_the_serial_policy(lab):
    # doc/certdnsctl.md: "zone show NAME: Serial and serial policy, ..."
    db = lab.db()
    ok(db, "zone", "create", "date.test", "--ns", "ns.date.test", "--serial-policy", "dateserial")
    ok(db, "zone", "create", "inc.test", "--ns", "ns.inc.test")
    for zone, policy in (("date.test", "dateserial"), ("inc.test", "increment")):
        r = ok(db, "zone", "show", zone)
        line = next(x for x in r.stdout.splitlines() if x.startswith("serial:"))
        assert re.fullmatch(rf"serial:\s+\d+ \({policy}\)", line), \
            f"zone show {zone}: policy line {line!r}, want '({policy})'\n{r}"


# --------------------------------------------------------------------------
# record add / replace / delete: live, one bump per command
# --------------------------------------------------------------------------

def test_record_add_one_rr_is_served_on_the_next_query(live):
    pid = live.proc.pid
    assert nx(live, "new.zm.test.")
    r = ok(live.db_dir, "record", "add", ZONE, "new 120 A 192.0.2.77")
    assert "1 record added, 0 removed" in r.stdout, r
    assert answers(live, "new.zm.test.") == (dns.rcode.NOERROR, ["192.0.2.77"])
    assert ttl_of(live, "new.zm.test.", "A") == 120
    assert_one_bump(live, 2, r)
    assert live.alive() and live.proc.pid == pid       # no restart


def test_record_add_several_rrs_is_one_transaction(live):
    db = live.db_dir
    j = journal(db)
    r = ok(db, "record", "add", ZONE, 'multi 60 TXT "one"', 'multi 60 TXT "two"',
           "multi 60 A 192.0.2.60", "other.zm.test. 60 A 192.0.2.61", json_out=True)
    out = r.json()
    assert out["changed"] is True and out["added"] == 4 and out["removed"] == 0, out
    assert (out["old_serial"], out["serial"]) == (2, 3), out
    assert serial(live) == 3
    assert journal(db) == j + 1          # one change in the journal, not four
    assert answers(live, "multi.zm.test.", "TXT")[1] == ['"one"', '"two"']
    assert answers(live, "multi.zm.test.", "A")[1] == ["192.0.2.60"]
    assert answers(live, "other.zm.test.", "A")[1] == ["192.0.2.61"]


def test_record_owner_forms_relative_absolute_and_apex(live):
    db = live.db_dir
    r = ok(db, "record", "add", ZONE, "rel A 192.0.2.31")
    assert_one_bump(live, 2, r)
    assert answers(live, "rel.zm.test.")[1] == ["192.0.2.31"]
    r = ok(db, "record", "add", ZONE, "abs.zm.test. A 192.0.2.32")
    assert_one_bump(live, 3, r)
    assert answers(live, "abs.zm.test.")[1] == ["192.0.2.32"]
    # Without the final dot a name is relative, even when it spells the zone.
    r = ok(db, "record", "add", ZONE, "twice.zm.test A 192.0.2.33")
    assert_one_bump(live, 4, r)
    assert answers(live, "twice.zm.test.zm.test.")[1] == ["192.0.2.33"]
    assert nx(live, "twice.zm.test.")
    r = ok(db, "record", "add", ZONE, "@ MX 10 mail")
    assert_one_bump(live, 5, r)
    assert answers(live, ZONE, "MX")[1] == ["10 mail.zm.test."]
    r = ok(db, "record", "add", ZONE, "zm.test. 300 IN TXT \"apex\"")
    assert_one_bump(live, 6, r)
    assert answers(live, ZONE, "TXT")[1] == ['"apex"']
    # Deleting with the other spellings of the same owners.
    r = ok(db, "record", "delete", ZONE, "rel.zm.test. A 192.0.2.31", "abs A", "zm.test. MX",
           "@ TXT")
    assert_one_bump(live, 7, r)
    assert nx(live, "rel.zm.test.") and nx(live, "abs.zm.test.")
    assert answers(live, ZONE, "MX") == (dns.rcode.NOERROR, [])
    assert answers(live, ZONE, "TXT") == (dns.rcode.NOERROR, [])


def test_record_replace_rrset(live):
    db = live.db_dir
    assert answers(live, "www.zm.test.")[1] == ["192.0.2.1", "192.0.2.2"]
    r = ok(db, "record", "replace", ZONE, "www 600 A 192.0.2.7")
    assert "1 record added, 2 removed" in r.stdout, r
    assert_one_bump(live, 2, r)
    assert answers(live, "www.zm.test.")[1] == ["192.0.2.7"]
    assert ttl_of(live, "www.zm.test.", "A") == 600
    # Other RRsets at the name are not touched.
    assert answers(live, "www.zm.test.", "AAAA")[1] == ["2001:db8::1"]
    assert answers(live, "www.zm.test.", "TXT")[1] == ['"web"']
    # Several lines for one RRset form the new RRset; a new name is fine too.
    r = ok(db, "record", "replace", ZONE, "www A 192.0.2.8", "www A 192.0.2.9",
           "fresh AAAA 2001:db8::99")
    assert_one_bump(live, 3, r)
    assert answers(live, "www.zm.test.")[1] == ["192.0.2.8", "192.0.2.9"]
    assert answers(live, "fresh.zm.test.", "AAAA")[1] == ["2001:db8::99"]


def test_record_delete_one_rr(live):
    r = ok(live.db_dir, "record", "delete", ZONE, "www A 192.0.2.1")
    assert "0 records added, 1 removed" in r.stdout, r
    assert_one_bump(live, 2, r)
    assert answers(live, "www.zm.test.")[1] == ["192.0.2.2"]
    assert answers(live, "www.zm.test.", "AAAA")[1] == ["2001:db8::1"]


def test_record_delete_rrset(live):
    r = ok(live.db_dir, "record", "delete", ZONE, "www A")
    assert "0 records added, 2 removed" in r.stdout, r
    assert_one_bump(live, 2, r)
    assert answers(live, "www.zm.test.") == (dns.rcode.NOERROR, [])     # NODATA
    assert answers(live, "www.zm.test.", "AAAA")[1] == ["2001:db8::1"]


def test_record_delete_whole_name(live):
    # alias is a CNAME to www: remove it first, then everything at www.
    ok(live.db_dir, "record", "delete", ZONE, "alias")
    r = ok(live.db_dir, "record", "delete", ZONE, "www")
    assert "0 records added, 4 removed" in r.stdout, r
    assert_one_bump(live, 3, r)
    for qtype in ("A", "AAAA", "TXT"):
        assert nx(live, "www.zm.test.", qtype)
    assert nx(live, "alias.zm.test.")


def test_adding_a_record_that_is_there_changes_nothing(live):
    r = ok(live.db_dir, "record", "add", ZONE, "www 300 A 192.0.2.1")
    assert "nothing to change" in r.stdout, r
    assert serial(live) == 2


# --------------------------------------------------------------------------
# record batch: all or nothing
# --------------------------------------------------------------------------

BATCH_OK = """# a comment
add batch1 A 192.0.2.101
; another comment

add batch2 300 TXT "b2"
replace www A 192.0.2.102
delete www AAAA 2001:db8::1
delete ns.deleg A
"""


def check_batch_applied(d):
    assert answers(d, "batch1.zm.test.")[1] == ["192.0.2.101"]
    assert answers(d, "batch2.zm.test.", "TXT")[1] == ['"b2"']
    assert answers(d, "www.zm.test.")[1] == ["192.0.2.102"]
    assert answers(d, "www.zm.test.", "AAAA") == (dns.rcode.NOERROR, [])


def test_record_batch_from_file(live, tmp_path):
    path = tmp_path / "changes.txt"
    path.write_text(BATCH_OK.replace("delete ns.deleg A\n", ""))
    j = journal(live.db_dir)
    r = ok(live.db_dir, "record", "batch", ZONE, path)
    assert_one_bump(live, 2, r)
    assert journal(live.db_dir) == j + 1
    check_batch_applied(live)


def test_record_batch_from_stdin(live):
    text = BATCH_OK.replace("delete ns.deleg A\n", "")
    r = ok(live.db_dir, "record", "batch", ZONE, "-", stdin=text)
    assert_one_bump(live, 2, r)
    check_batch_applied(live)
    # Without FILE, stdin too.
    r = ok(live.db_dir, "record", "batch", ZONE, stdin="add batch3 A 192.0.2.103\n")
    assert_one_bump(live, 3, r)
    assert answers(live, "batch3.zm.test.")[1] == ["192.0.2.103"]


@pytest.mark.parametrize("third", [
    "add bad A 1.2.3",                     # bad rdata
    "frobnicate x A 192.0.2.1",            # no such operation
    "add out.of.zone.example. A 192.0.2.1",  # outside the zone
    "delete nothing.here A 192.0.2.1",     # deleting what is not there
    "add ns1 CNAME elsewhere.example.",    # CNAME beside other data (ns1 A)
], ids=["bad-rdata", "bad-op", "out-of-zone", "missing", "cname-conflict"])
@pytest.mark.parametrize("source", ["file", "stdin"])
def test_record_batch_with_invalid_third_line_changes_nothing(live, tmp_path, source, third):
    db = live.db_dir
    text = "add batch1 A 192.0.2.101\nreplace www A 192.0.2.102\n" + third + \
        "\nadd batch4 A 192.0.2.104\n"
    before = export(db)
    if source == "file":
        path = tmp_path / "bad-batch.txt"
        path.write_text(text)
        r = ctl(db, "record", "batch", ZONE, path)
        where = f"{path}:3:"
    else:
        r = ctl(db, "record", "batch", ZONE, "-", stdin=text)
        where = "stdin:3:"
    assert r.rc == 1, r
    assert where in r.stderr, r
    assert ":1:" not in r.stderr and ":2:" not in r.stderr and ":4:" not in r.stderr, r
    assert r.stdout == "", r
    assert serial(live) == 2
    assert export(db) == before
    assert nx(live, "batch1.zm.test.") and nx(live, "batch4.zm.test.")
    assert answers(live, "www.zm.test.")[1] == ["192.0.2.1", "192.0.2.2"]


def test_record_batch_line_numbers_count_comments_and_blank_lines(live, tmp_path):
    path = tmp_path / "commented.txt"
    path.write_text("# first a comment\n\nadd ok1 A 192.0.2.1\n; and another\n"
                    "add bad A 1.2.3\n")
    r = ctl(live.db_dir, "record", "batch", ZONE, path)
    assert r.rc == 1 and f"{path}:5:" in r.stderr, r
    assert serial(live) == 2 and nx(live, "ok1.zm.test.")


def test_record_batch_commit_lines_stream_one_transaction_each(live):
    """A long-running certdnsctl: each group is live when its "commit" is read."""
    argv = [dnstest.BIN["certdnsctl"], "--db", str(live.db_dir), "record", "batch", ZONE, "-"]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        for i, serial_now in ((1, 3), (2, 4), (3, 5)):
            p.stdin.write(f"replace stream A 192.0.2.{i}\nadd stream{i} TXT \"g{i}\"\ncommit\n")
            p.stdin.flush()
            line = p.stdout.readline()          # printed once the group is committed
            assert f"serial {serial_now - 1} -> {serial_now}" in line, line
            # Served before the next group is even written.
            assert answers(live, "stream.zm.test.")[1] == [f"192.0.2.{i}"]
            assert serial(live) == serial_now
        p.stdin.write("commit\n")             # an empty group changes nothing
        p.stdin.write("add tail A 192.0.2.9\n")  # the end of input commits the rest
        p.stdin.close()
        rest = p.stdout.read()
        assert p.wait(timeout=60) == 0, p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
    assert "serial 5 -> 6" in rest, rest
    assert answers(live, "tail.zm.test.")[1] == ["192.0.2.9"]
    assert answers(live, "stream2.zm.test.", "TXT")[1] == ['"g2"']


def test_record_batch_failed_group_changes_nothing_and_later_groups_go_on(live):
    text = ("add good1 A 192.0.2.1\ncommit\n"
            "add bad1 A 192.0.2.2\nadd bad A 1.2.3\ncommit\n"
            "add good2 A 192.0.2.3\ncommit\n")
    r = ctl(live.db_dir, "record", "batch", ZONE, "-", stdin=text)
    assert r.rc == 1, r                       # a group failed: the exit status says so
    assert "stdin:4:" in r.stderr, r
    assert answers(live, "good1.zm.test.")[1] == ["192.0.2.1"]
    assert answers(live, "good2.zm.test.")[1] == ["192.0.2.3"]
    assert nx(live, "bad1.zm.test.")          # its group was all or nothing
    assert serial(live) == 4


@pytest.mark.parametrize("rr", ["www line", "www 300 IN frob"])
def test_record_with_unknown_type_is_refused(live, rr):
    r = ctl(live.db_dir, "record", "add", ZONE, rr)
    assert r.rc == 1 and "unknown or missing record type" in r.stderr, r
    assert serial(live) == 2


def test_zone_import_with_unknown_type_is_refused_with_its_line(lab, tmp_path):
    db = lab.db()
    path = tmp_path / "typo.zone"
    path.write_text("$ORIGIN typo.test.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
                    "ns A 192.0.2.1\nwww line\n")
    r = ctl(db, "zone", "import", path)
    assert r.rc == 1, r
    assert f"{path}:6: error: unknown or missing record type" in r.stderr, r


# --------------------------------------------------------------------------
# What every change is checked against
# --------------------------------------------------------------------------

REJECTED = [
    # (id, command, RRs, words that must be in the message)
    ("out-of-zone-owner", "add", ["www.other.test. A 192.0.2.1"],
     ["www.other.test.", "outside the zone"]),
    ("out-of-zone-parent", "add", ["test. TXT \"x\""], ["outside the zone"]),
    ("cname-beside-data", "add", ["www CNAME elsewhere.example."], ["www.zm.test.", "CNAME"]),
    ("data-beside-cname", "add", ["alias TXT \"x\""], ["alias.zm.test.", "CNAME"]),
    ("second-cname", "add", ["alias CNAME other.example."], ["alias.zm.test.", "CNAME"]),
    ("two-cnames-in-one-command", "add", ["two CNAME a.example.", "two CNAME b.example."],
     ["two.zm.test.", "CNAME"]),
    ("bad-rdata-a", "add", ["www A 1.2.3"], ["www A 1.2.3"]),
    ("bad-rdata-aaaa", "add", ["www AAAA 2001:db8::zz"], ["2001:db8::zz"]),
    ("bad-type", "add", ["www NOSUCHTYPE 1"], ["NOSUCHTYPE"]),
    ("txt-below-delegation", "add", ["x.deleg TXT \"not glue\""],
     ["x.deleg.zm.test.", "delegation"]),
    ("mx-at-delegation", "add", ["deleg MX 10 mail.example."], ["deleg.zm.test."]),
    ("soa-off-apex", "add", ["sub SOA ns1 hostmaster 1 3600 600 86400 60"], ["SOA"]),
    ("ns-occludes-data", "add", ["www NS ns.elsewhere.example."],
     ["www.zm.test.", "delegation"]),
    ("delete-soa-rrset", "delete", ["@ SOA"], ["SOA"]),
    ("delete-soa-record", "delete",
     ["@ SOA ns1.zm.test. hostmaster.zm.test. 2 7200 3600 1209600 300"], ["SOA"]),
    ("delete-missing-record", "delete", ["www A 192.0.2.200"], ["www.zm.test.", "no such"]),
    ("delete-missing-rrset", "delete", ["www MX"], ["www.zm.test.", "no such"]),
    ("delete-missing-name", "delete", ["nothing.here"], ["nothing.here.zm.test."]),
    ("replace-out-of-zone", "replace", ["www.other.test. A 192.0.2.1"], ["outside the zone"]),
    ("replace-cname-beside-data", "replace", ["www CNAME elsewhere.example."], ["CNAME"]),
    # One bad change among good ones: the good ones are not applied either.
    ("good-then-bad", "add", ["good A 192.0.2.50", "www.other.test. A 192.0.2.1"],
     ["outside the zone"]),
]


@pytest.mark.parametrize("op,rrs,words", [r[1:] for r in REJECTED],
                         ids=[r[0] for r in REJECTED])
def test_invalid_change_is_refused_and_the_zone_stays(live, op, rrs, words):
    db = live.db_dir
    before = export(db)
    r = ctl(db, "record", op, ZONE, *rrs)
    assert r.rc == 1, r
    assert r.stdout == "", r
    assert "nothing changed" in r.stderr, r
    for w in words:
        assert w in r.stderr, f"message does not mention {w!r}:\n{r}"
    assert export(db) == before
    assert serial(live) == 2
    assert answers(live, "www.zm.test.")[1] == ["192.0.2.1", "192.0.2.2"]
    assert nx(live, "good.zm.test.")


@pytest.mark.parametrize("rr", ['chaos CH TXT "x"', 'www HS A 192.0.2.9',
                                'www 60 CH A 192.0.2.1'])
def test_record_of_another_class_is_refused(live, rr):
    # An IN zone holds IN data ("one class", as zone import checks); the class of a
    # record may be left out, or given as IN.
    db = live.db_dir
    before = export(db)
    r = ctl(db, "record", "add", ZONE, rr)
    assert r.rc == 1, f"a record of another class was accepted into an IN zone:\n{r}"
    assert "class" in r.stderr.lower(), r
    assert export(db) == before
    assert serial(live) == 2
    owner = rr.split()[0] + ".zm.test."
    reply = ask(live, owner, rr.split()[-2])
    assert all(rs.rdclass == dns.rdataclass.IN for rs in reply.msg.answer), \
        f"an IN query answered with another class:\n{reply}"


def test_record_with_class_in_is_accepted(live):
    r = ok(live.db_dir, "record", "add", ZONE, "cls 60 IN A 192.0.2.44")
    assert_one_bump(live, 2, r)
    assert answers(live, "cls.zm.test.")[1] == ["192.0.2.44"]


def test_ns_that_would_occlude_data_lists_the_occluded_names(live):
    db = live.db_dir
    r = ok(db, "record", "add", ZONE, 'host.occ TXT "x"', "mail.occ MX 10 mail.example.",
           "glue.occ A 192.0.2.70")
    assert_one_bump(live, 2, r)
    before = export(db)
    r = ctl(db, "record", "add", ZONE, "occ NS ns.elsewhere.example.")
    assert r.rc == 1, r
    assert "host.occ.zm.test." in r.stderr and "mail.occ.zm.test." in r.stderr, r
    assert "glue.occ.zm.test." not in r.stderr, r          # A below a cut is glue
    assert "occ.zm.test." in r.stderr, r
    assert export(db) == before
    assert serial(live) == 3
    assert answers(live, "host.occ.zm.test.", "TXT")[1] == ['"x"']   # no referral
    # With only glue below, the same NS record is fine.
    ok(db, "record", "delete", ZONE, "host.occ", "mail.occ")
    r = ok(db, "record", "add", ZONE, "occ NS ns.elsewhere.example.")
    assert_one_bump(live, 4, r)
    ref = ask(live, "glue.occ.zm.test.", "A")
    assert not ref.aa and [rs.rdtype for rs in ref.msg.authority] == [dns.rdatatype.NS], ref


def test_record_change_to_unknown_zone_fails(live):
    r = ctl(live.db_dir, "record", "add", "nosuch.test", "www A 192.0.2.1")
    assert r.rc == 1 and "no such zone" in r.stderr, r


# --------------------------------------------------------------------------
# Exit codes
# --------------------------------------------------------------------------

@pytest.fixture
def plain_db(lab):
    db = lab.db()
    make_zone(db)
    return db


@pytest.mark.parametrize("argv", [
    ["zone", "list"],
    ["zone", "show", ZONE],
    ["record", "list", ZONE],
    ["record", "list", ZONE, "www", "A"],
    ["settings", "show"],
    ["tsig", "list"],
    ["record", "add", ZONE, "ok A 192.0.2.1"],
], ids=lambda a: " ".join(a))
def test_exit_0_on_success(plain_db, argv):
    r = ctl(plain_db, *argv)
    assert r.rc == 0, r
    assert r.stderr == "", r


@pytest.mark.parametrize("argv", [
    ["zone", "show", "nosuch.test"],
    ["zone", "create", ZONE, "--ns", "ns.example."],
    ["record", "add", "nosuch.test", "www A 192.0.2.1"],
    ["record", "add", ZONE, "www A 1.2.3"],
    ["record", "delete", ZONE, "nothing.here"],
    ["record", "batch", ZONE, "/nonexistent/changes.txt"],
    ["record", "list", "nosuch.test"],
    ["secondary", "list", "nosuch.test"],
    ["secondary", "add", ZONE, "127.0.0.1", "--tsig", "nosuch-key"],
    ["tsig", "show", "nosuch-key", "--secret"],
    ["status"],                                   # no daemon
], ids=lambda a: " ".join(a))
def test_exit_1_on_error(plain_db, argv):
    before = export(plain_db)
    r = ctl(plain_db, *argv)
    assert r.rc == 1, r
    assert r.stderr.strip() or argv == ["status"], r
    assert export(plain_db) == before


@pytest.mark.parametrize("argv", [
    [],
    ["frobnicate"],
    ["zone", "frobnicate"],
    ["record", "frobnicate", ZONE],
    ["zone", "create"],
    ["zone", "create", "a.test", "b.test"],
    ["zone", "create", "a.test", "--bogus"],
    ["zone", "create", "a.test", "--serial-policy", "weekly"],
    ["zone", "show"],
    ["zone", "set", ZONE, "serial-policy", "sometimes"],
    ["record"],
    ["record", "add"],
    ["record", "add", ZONE],
    ["record", "delete", ZONE],
    ["record", "replace", ZONE],
    ["record", "batch"],
    ["record", "list"],
    ["settings", "set"],
    ["settings", "set", "no_such_setting", "1"],
    ["settings", "set", "default_ttl", "soon"],
    ["tsig", "add"],
    ["tsig", "import", "k"],
    ["tsig", "add", "k", "hmac-md4"],
    ["secondary", "add", ZONE],
    ["secondary", "add", ZONE, "not-an-address"],
    ["zone", "follow", ZONE],
    ["zone", "follow", ZONE, "127.0.0.1:99999"],
    ["zone", "unfollow"],
    ["status", "extra"],
    ["--bogus-option", "zone", "list"],
    ["--json"],
], ids=lambda a: " ".join(a) or "no-arguments")
def test_exit_2_on_usage_error(plain_db, argv):
    before = export(plain_db)
    r = ctl(plain_db, *argv)
    assert r.rc == 2, r
    assert r.stderr.strip(), r
    assert r.stdout == "", r
    assert export(plain_db) == before


# --------------------------------------------------------------------------
# --json
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def json_env():
    lb = Lab()
    try:
        db = lb.db()
        make_zone(db)
        ok(db, "tsig", "add", "json-key")
        ok(db, "secondary", "add", ZONE, "127.0.0.1:5399", "--tsig", "json-key")
        ok(db, "settings", "set", "default_ns", "ns1.example.net")
        d = lb.start(db)
        yield d
    finally:
        failures = lb.close()
    assert not failures, "\n".join(failures)


JSON_COMMANDS = [
    ("zone list", ["zone", "list"],
     lambda o: isinstance(o, list) and o[0]["name"] == ZONE and o[0]["serial"] == 2),
    ("zone show", ["zone", "show", ZONE],
     lambda o: o["zone"] == ZONE and o["serial"] == 2 and o["serial_policy"] == "increment"
     and o["secondaries"][0]["port"] == 5399),
    ("record list", ["record", "list", ZONE],
     lambda o: {"name": "www.zm.test.", "ttl": 300, "type": "A", "data": "192.0.2.1"} in o),
    ("record list name type", ["record", "list", ZONE, "www", "AAAA"],
     lambda o: o == [{"name": "www.zm.test.", "ttl": 300, "type": "AAAA",
                      "data": "2001:db8::1"}]),
    ("settings show", ["settings", "show"],
     lambda o: o["default_ns"] == ["ns1.example.net."]),
    ("tsig list", ["tsig", "list"],
     lambda o: o == [{"name": "json-key.", "algorithm": "hmac-sha256"}]),
    ("secondary list", ["secondary", "list", ZONE],
     lambda o: o == [{"address": "127.0.0.1", "port": 5399, "tsig": "json-key."}]),
    ("status", ["status"],
     lambda o: o["running"] is True and o["zones"] == 1 and "NXDOMAIN" in o["rcodes"]),
    ("acme account list", ["acme", "account", "list"], lambda o: o == []),
    ("cert list", ["cert", "list"], lambda o: o == []),
]


@pytest.mark.parametrize("argv,check", [c[1:] for c in JSON_COMMANDS],
                         ids=[c[0] for c in JSON_COMMANDS])
def test_json_output_is_valid_json(json_env, argv, check):
    r = ctl(json_env.db_dir, *argv, json_out=True)
    assert r.rc == 0, r
    try:
        out = json.loads(r.stdout)
    except json.JSONDecodeError as e:
        pytest.fail(f"not JSON ({e}):\n{r}")
    assert check(out), f"unexpected JSON content: {out!r}"


# --------------------------------------------------------------------------
# status, the control socket, file modes
# --------------------------------------------------------------------------

def rcode_count(db, name):
    r = ctl(db, "status", json_out=True)
    assert r.rc == 0, r
    return r.json()["rcodes"][name]


def test_status_of_a_running_daemon_counts_answers_per_rcode(live):
    db = live.db_dir
    r = ok(db, "status")
    first = r.stdout.splitlines()[0]
    assert re.match(r"certdnsd \S+ running for \d+d \d\d:\d\d:\d\d, 2 workers, 1 zones?$",
                    first), r
    assert f"127.0.0.1:{live.port}" in r.stdout, r
    st = ok(db, "status", json_out=True).json()
    assert st["running"] is True and st["zones"] == 1 and st["workers"] == 2, st
    assert isinstance(st["uptime_seconds"], int) and st["uptime_seconds"] >= 0, st
    nx_before = st["rcodes"]["NXDOMAIN"]
    udp_before = st["queries"]["udp"]
    for i in range(5):
        assert nx(live, f"nx{i}.zm.test.")
    wait_for("the NXDOMAIN count to grow by 5",
             lambda: rcode_count(db, "NXDOMAIN") >= nx_before + 5,
             details=lambda: ctl(db, "status").stdout)
    st = ok(db, "status", json_out=True).json()
    assert st["queries"]["udp"] >= udp_before + 5, st
    # REFUSED is counted too (a zone we do not have).
    ref_before = st["rcodes"]["REFUSED"]
    for i in range(3):
        assert ask(live, f"x{i}.not-ours.example.", "A").rcode == dns.rcode.REFUSED
    wait_for("the REFUSED count to grow by 3",
             lambda: rcode_count(db, "REFUSED") >= ref_before + 3)
    text = ok(db, "status").stdout
    m = re.search(r"answers:.*NXDOMAIN (\d+)", text)
    assert m and int(m.group(1)) >= nx_before + 5, text


def test_status_of_a_stopped_daemon_exits_1(lab):
    db = lab.db()
    make_zone(db)
    d = lab.start(db)
    assert ok(db, "status", json_out=True).json()["running"] is True
    d.stop_and_check()
    r = ctl(db, "status")
    assert r.rc == 1, r
    assert "not running" in r.stdout + r.stderr, r
    r = ctl(db, "status", json_out=True)
    assert r.rc == 1, r
    assert json.loads(r.stdout) == {"running": False}, r
    # A database where no daemon ever ran, too.
    r = ctl(lab.db(), "status", json_out=True)
    assert r.rc == 1 and json.loads(r.stdout) == {"running": False}, r


def test_control_socket_is_mode_0600(lab):
    db = lab.db()
    make_zone(db)
    old = os.umask(0)           # the daemon must not rely on the caller's umask
    try:
        d = lab.start(db)
    finally:
        os.umask(old)
    sock = db / "control.sock"
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode), oct(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, f"control.sock mode {oct(stat.S_IMODE(st.st_mode))}"
    assert ok(db, "status", json_out=True).json()["running"] is True
    d.stop_and_check()


def test_database_files_are_private(lab):
    # doc/certdnsctl.md: the directory and database are created on first write (0700/0600).
    db = lab.base / "fresh"
    r = ctl(db, "zone", "create", "fresh.test", "--ns", "ns.fresh.test", umask=0)
    assert r.rc == 0, r
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o700, oct(os.stat(db).st_mode)
    data = db / "data.mdb"
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o600, oct(os.stat(data).st_mode)


def test_master_key_is_mode_0600_when_created(lab):
    db = lab.db()
    make_zone(db)
    port = dnstest.pick_free_port()          # nothing listens there: the CA is unreachable
    r = ctl(db, "acme", "account", "create", "--directory",
            f"https://127.0.0.1:{port}/directory", umask=0)
    key = db / "master.key"
    if not key.exists():
        pytest.skip(f"no master.key made by a failed account creation: {r}")
    assert r.rc == 1, r
    st = os.stat(key)
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, f"master.key mode {oct(stat.S_IMODE(st.st_mode))}"
    assert st.st_size == 32, st.st_size
    assert not list(db.glob("master.key.*")), "temporary key files left behind"


# --------------------------------------------------------------------------
# Writes while the daemon is down
# --------------------------------------------------------------------------

def test_writes_while_the_daemon_is_down_are_served_when_it_starts(lab):
    db = lab.db()
    make_zone(db)
    d = lab.start(db)
    assert serial(d) == 2
    d.stop_and_check()
    r = ok(db, "record", "add", ZONE, "offline A 192.0.2.201")
    assert "serial 2 -> 3" in r.stdout, r
    ok(db, "record", "delete", ZONE, "www A 192.0.2.1")
    ok(db, "zone", "create", "later.test", "--ns", "ns.later.test")
    assert ctl(db, "status").rc == 1
    d2 = lab.start(db, name="certdnsd-restarted")
    assert serial(d2) == 4
    assert answers(d2, "offline.zm.test.")[1] == ["192.0.2.201"]
    assert answers(d2, "www.zm.test.")[1] == ["192.0.2.2"]
    assert serial(d2, "later.test.") == 1
    # And live again from then on.
    ok(db, "record", "add", ZONE, "online A 192.0.2.202")
    assert answers(d2, "online.zm.test.")[1] == ["192.0.2.202"]
    assert serial(d2) == 5


# --------------------------------------------------------------------------
# certdnsd as a secondary of certdnsd
# --------------------------------------------------------------------------

SEC = "sec.test."        # A -> B -> C
UNF = "unf.test."        # A -> B, unfollowed by B
KEY = "chain-key"


def transfer_lines(d, zone, primary_port):
    """(old, new, kind) of every 'serial X -> Y from the primary ... (KIND' line in d's log."""
    pat = re.compile(rf"zone {re.escape(zone.rstrip('.'))}\.?: serial (\d+) -> (\d+) from the "
                     rf"primary 127\.0\.0\.1:{primary_port} \((AXFR|IXFR)")
    return [(int(a), int(b), k) for a, b, k in pat.findall(d.log())]


def logs(*daemons):
    return lambda: "\n\n".join(f"--- {d.log_path.name}:\n{d.log_tail(30)}" for d in daemons)


class Chain:
    pass


@pytest.fixture(scope="module")
def chain():
    lb = Lab()
    ch = Chain()
    try:
        a_db, b_db, c_db = lb.db("a"), lb.db("b"), lb.db("c")
        for zone in (SEC, UNF):
            ok(a_db, "zone", "create", zone, "--ns", f"ns1.{zone}", "--ns", "ns2.example.net.")
            ok(a_db, "record", "add", zone, "ns1 A 192.0.2.53", "www A 192.0.2.80",
               'txt TXT "initial"')
        key = ok(a_db, "tsig", "add", KEY, json_out=True).json()
        assert key["algorithm"] == "hmac-sha256"
        ch.secret = key["secret"]
        ch.a = lb.start(a_db, name="A")
        for db in (b_db, c_db):
            ok(db, "tsig", "import", KEY, "hmac-sha256", ch.secret)
        ch.b = lb.start(b_db, name="B")
        ch.c = lb.start(c_db, name="C")
        for zone in (SEC, UNF):
            ok(a_db, "secondary", "add", zone, f"127.0.0.1:{ch.b.port}", "--tsig", KEY)
            ok(b_db, "zone", "follow", zone, f"127.0.0.1:{ch.a.port}", "--tsig", KEY)
        # B can only list a secondary for a zone it has: after its first transfer.
        wait_serial(ch.b, SEC, serial(ch.a, SEC), ch.a, ch.b)
        ok(b_db, "secondary", "add", SEC, f"127.0.0.1:{ch.c.port}", "--tsig", KEY)
        ok(c_db, "zone", "follow", SEC, f"127.0.0.1:{ch.b.port}", "--tsig", KEY)
        ch.lab = lb
        yield ch
    finally:
        failures = lb.close()
    assert not failures, "\n".join(failures)


def wait_serial(d, zone, want, *show):
    wait_for(f"{d.log_path.stem} to serve {zone} with serial {want}",
             lambda: serial(d, zone) == want, details=logs(*show))


def test_secondary_pulls_the_zone_by_axfr(chain):
    a, b, c = chain.a, chain.b, chain.c
    for zone in (SEC, UNF):
        want = serial(a, zone)
        assert want == 2
        wait_serial(b, zone, want, a, b)
        assert answers(b, f"www.{zone}")[1] == ["192.0.2.80"]
        assert answers(b, f"txt.{zone}", "TXT")[1] == ['"initial"']
        assert answers(b, zone, "NS")[1] == [f"ns1.{zone}", "ns2.example.net."]
        assert any(k == "AXFR" for _, _, k in transfer_lines(b, zone, a.port)), b.log_tail()
    zones = {z["name"] for z in ok(b.db_dir, "zone", "list", json_out=True).json()}
    assert zones == {SEC, UNF}
    # C follows B.
    wait_serial(c, SEC, serial(a, SEC), b, c)
    assert answers(c, f"www.{SEC}")[1] == ["192.0.2.80"]
    assert any(k == "AXFR" for _, _, k in transfer_lines(c, SEC, b.port)), c.log_tail()


def test_record_add_on_the_primary_reaches_the_secondary_by_notify_and_ixfr(chain):
    a, b = chain.a, chain.b
    wait_serial(b, SEC, serial(a, SEC), a, b)
    old = serial(a, SEC)
    r = ok(a.db_dir, "record", "add", SEC, "pushed A 192.0.2.81", 'txt TXT "second"')
    assert f"serial {old} -> {old + 1}" in r.stdout, r
    # Nothing polls within the test (SOA refresh is 7200 s): only NOTIFY brings it.
    wait_serial(b, SEC, old + 1, a, b)
    assert answers(b, f"pushed.{SEC}")[1] == ["192.0.2.81"]
    assert answers(b, f"txt.{SEC}", "TXT")[1] == ['"initial"', '"second"']
    wait_for("B's log to show the IXFR",
             lambda: (old, old + 1, "IXFR") in transfer_lines(b, SEC, a.port),
             details=logs(b))
    # A delete and a replace travel the same way.
    ok(a.db_dir, "record", "batch", SEC, "-",
       stdin="delete pushed\nreplace www A 192.0.2.82\n")
    wait_serial(b, SEC, old + 2, a, b)
    assert nx(b, f"pushed.{SEC}")
    assert answers(b, f"www.{SEC}")[1] == ["192.0.2.82"]
    wait_for("B's log to show the second IXFR",
             lambda: (old + 1, old + 2, "IXFR") in transfer_lines(b, SEC, a.port),
             details=logs(b))
    # B's copy is exactly A's.
    assert export(b.db_dir, SEC) == export(a.db_dir, SEC)


def test_secondary_of_a_secondary_gets_the_change(chain):
    a, b, c = chain.a, chain.b, chain.c
    wait_serial(c, SEC, serial(a, SEC), a, b, c)
    old = serial(a, SEC)
    ok(a.db_dir, "record", "add", SEC, "chained AAAA 2001:db8::c")
    wait_serial(b, SEC, old + 1, a, b)
    wait_serial(c, SEC, old + 1, b, c)
    assert answers(c, f"chained.{SEC}", "AAAA")[1] == ["2001:db8::c"]
    wait_for("C's log to show an IXFR from B",
             lambda: (old, old + 1, "IXFR") in transfer_lines(c, SEC, b.port),
             details=logs(c))
    assert export(c.db_dir, SEC) == export(a.db_dir, SEC)
    # C only ever talked to B.
    assert transfer_lines(c, SEC, a.port) == []


def test_zone_unfollow_stops_pulling(chain):
    a, b = chain.a, chain.b
    wait_serial(b, UNF, serial(a, UNF), a, b)
    kept = serial(b, UNF)
    r = ok(b.db_dir, "zone", "unfollow", UNF)
    # While B follows, a NOTIFY from A is accepted; after unfollow it is not ours to pull.
    r = ok(a.db_dir, "record", "add", UNF, "after A 192.0.2.90")
    new = kept + 1
    assert f"serial {kept} -> {new}" in r.stdout, r
    refused = re.compile(rf"NOTIFY for {re.escape(UNF.rstrip('.'))}\.? serial {new}: "
                         rf"127\.0\.0\.1:{b.port} answered rcode")
    wait_for("A's log to show B turning down the NOTIFY",
             lambda: refused.search(a.log()), details=logs(a, b))
    # Give a (wrongly) triggered pull the watch interval and more to happen.
    time.sleep(5)
    assert serial(b, UNF) == kept, logs(b)()
    assert nx(b, f"after.{UNF}")
    assert not any(new_ == new for _, new_, _ in transfer_lines(b, UNF, a.port)), b.log_tail()
    # The data stays and is B's own now: served, and editable on B.
    assert answers(b, f"www.{UNF}")[1] == ["192.0.2.80"]
    r = ok(b.db_dir, "record", "add", UNF, "local A 192.0.2.91")
    assert answers(b, f"local.{UNF}")[1] == ["192.0.2.91"]
    assert serial(b, UNF) == kept + 1
    # Unfollowing twice: there is nothing to stop.
    r = ctl(b.db_dir, "zone", "unfollow", UNF)
    assert r.rc == 1, r
    # SEC is still followed.
    old = serial(a, SEC)
    ok(a.db_dir, "record", "add", SEC, "still A 192.0.2.92")
    wait_serial(b, SEC, old + 1, a, b)
