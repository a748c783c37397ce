"""
certdnsctl against a running certdnsd: imports are atomic and live, broken
files are rejected with FILE:LINE and leave the served zone alone, export
round-trips, delete, exit codes.
"""

import json

import dns.rcode
import dns.zone
import pytest

from dnstest import (ZONES_DIR, Daemon, Transport, import_zone, make_query, norm, query_udp,
                     rr_line, run_ctl)

UDP = Transport("udp", True, 4)
TCP = Transport("tcp", False, 6)


def ctl_zone(serial=1, www="192.0.2.1", extra=()):
    """ctl.test as master-file lines (line N of the file is element N-1)."""
    return [
        "$ORIGIN ctl.test.",                                                      # 1
        "$TTL 300",                                                               # 2
        f"@ IN SOA ns1.ctl.test. hostmaster.ctl.test. {serial} 3600 600 86400 60",  # 3
        "@ IN NS ns1",                                                            # 4
        "ns1 IN A 192.0.2.53",                                                    # 5
        f"www IN A {www}",                                                        # 6
    ] + list(extra)                                                               # 7...


def write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def ctl_env(tmp_path_factory):
    """A database with ctl.test and a daemon serving it."""
    base = tmp_path_factory.mktemp("ctl")
    db = base / "db"
    db.mkdir()
    import_zone(db, write(base / "ctl.test.zone", ctl_zone()))
    d = Daemon(db, base, name="ctl").start()
    yield d
    d.stop_and_check()


@pytest.fixture
def served(ctl_env, tmp_path):
    """Resets ctl.test to its baseline (serial 1, www 192.0.2.1) before the test."""
    r = run_ctl(ctl_env.db_dir, "zone", "import", write(tmp_path / "base.zone",
                                                        ctl_zone(extra=['old IN TXT "kept"'])))
    assert r.rc == 0, r
    assert_www(ctl_env, "192.0.2.1", serial=1)
    return ctl_env


def soa_serial(d):
    r = UDP.ask(d, "ctl.test.", "SOA")
    assert r.rcode == dns.rcode.NOERROR and r.aa, r
    return r.msg.answer[0][0].serial


def assert_www(d, address, serial):
    for t in (UDP, TCP):
        r = t.ask(d, "www.ctl.test.", "A")
        assert r.rcode == dns.rcode.NOERROR and r.aa, r
        assert r.answer == norm([f"www.ctl.test. 300 IN A {address}"]), r
    assert soa_serial(d) == serial


def ctl(d, *args):
    return run_ctl(d.db_dir, *args)


# ---------------------------------------------------------------------------
# import


def test_broken_import_fails_with_file_line_and_served_zone_is_unchanged(served, tmp_path):
    before = ctl(served, "zone", "export", "ctl.test")
    assert before.rc == 0, before
    path = write(tmp_path / "broken.zone",
                 ctl_zone(serial=2, www="192.0.2.2",
                          extra=["new IN A 192.0.2.7",         # 7
                                 "bad IN A 192.0.2.999",       # 8: syntax error
                                 'old IN TXT "changed"']))     # 9
    r = ctl(served, "zone", "import", path)
    assert r.rc == 1, r
    assert f"{path}:8:" in r.stderr, r
    assert "error" in r.stderr and "unchanged" in r.stderr, r
    assert r.stdout == "", r
    # Nothing of the broken file is served, not even its valid lines.
    assert_www(served, "192.0.2.1", serial=1)
    r = UDP.ask(served, "new.ctl.test.", "A")
    assert r.rcode == dns.rcode.NXDOMAIN, r
    r = UDP.ask(served, "old.ctl.test.", "TXT")
    assert r.answer == norm(['old.ctl.test. 300 IN TXT "kept"']), r
    after = ctl(served, "zone", "export", "ctl.test")
    assert after.stdout == before.stdout


def test_all_errors_of_a_file_are_reported_with_their_lines(served, tmp_path):
    path = write(tmp_path / "errors.zone",
                 ctl_zone(extra=["a IN A 300.1.1.1",        # 7
                                 "b IN AAAA not-an-address",  # 8
                                 "c IN MX mail",              # 9: MX needs a preference
                                 "d IN A 192.0.2.4"]))        # 10: fine
    r = ctl(served, "zone", "import", path)
    assert r.rc == 1, r
    for line in (7, 8, 9):
        assert f"{path}:{line}:" in r.stderr, r
    assert f"{path}:10:" not in r.stderr, r
    assert_www(served, "192.0.2.1", serial=1)


def test_second_import_with_changed_data_is_live_without_restart(served, tmp_path):
    pid = served.proc.pid
    path = write(tmp_path / "v2.zone", ctl_zone(serial=2, www="192.0.2.2",
                                                 extra=["new IN A 192.0.2.7"]))
    r = ctl(served, "zone", "import", path)
    assert r.rc == 0, r
    assert "imported ctl.test." in r.stdout and "serial 2" in r.stdout, r
    # The very next queries see the new data: no reload, no restart.
    assert_www(served, "192.0.2.2", serial=2)
    r = UDP.ask(served, "new.ctl.test.", "A")
    assert r.answer == norm(["new.ctl.test. 300 IN A 192.0.2.7"]), r
    r = UDP.ask(served, "old.ctl.test.", "TXT")          # gone with the replacement
    assert r.rcode == dns.rcode.NXDOMAIN, r
    assert served.proc.pid == pid and served.alive()


@pytest.mark.parametrize("extra,lines,words", [
    (["www.other.test. IN A 192.0.2.9"], {7}, ["outside the zone"]),
    (["other.test. IN TXT \"x\""], {7}, ["outside the zone"]),
    (["test. IN NS ns1.ctl.test."], {7}, ["outside the zone"]),
    (["dual IN CNAME www", "dual IN TXT \"x\""], {7, 8}, ["CNAME"]),
    (["dual IN A 192.0.2.8", "dual IN CNAME www"], {7, 8}, ["CNAME"]),
    (["two IN CNAME www", "two IN CNAME ns1"], {7, 8}, ["CNAME"]),
    (["sub IN SOA ns1.ctl.test. h.ctl.test. 1 2 3 4 5"], {7}, ["SOA"]),
    (["@ IN SOA ns1.ctl.test. other.ctl.test. 9 3600 600 86400 60"], {3, 7}, ["SOA"]),
    (["deleg IN NS ns.deleg", "x.deleg IN TXT \"not glue\""], {8}, ["delegation"]),
    (["deleg IN NS ns.elsewhere.example.", "deleg IN TXT \"occluded\""], {7, 8},
     ["delegation"]),
])
def test_semantic_errors_rejected_with_file_line(served, tmp_path, extra, lines, words):
    path = write(tmp_path / "semantic.zone", ctl_zone(serial=5, www="192.0.2.5", extra=extra))
    r = ctl(served, "zone", "import", path)
    assert r.rc == 1, r
    reported = {int(x.split(":")[1]) for x in r.stderr.splitlines()
                if x.startswith(f"{path}:") and x.split(":")[1].isdigit()}
    assert reported and reported <= lines, f"want lines {lines}: {r.stderr}"
    for w in words:
        assert w in r.stderr, r
    assert_www(served, "192.0.2.1", serial=1)


def test_zone_without_soa_is_rejected(served, tmp_path):
    path = write(tmp_path / "nosoa.zone", ["$ORIGIN ctl.test.", "$TTL 300", "@ IN NS ns1",
                                           "ns1 IN A 192.0.2.53"])
    r = ctl(served, "zone", "import", path)
    assert r.rc == 1 and "SOA" in r.stderr and str(path) in r.stderr, r
    assert_www(served, "192.0.2.1", serial=1)


def test_include_is_refused_with_a_clear_message(served, tmp_path):
    other = write(tmp_path / "other.zone", ["www IN A 192.0.2.66"])
    path = write(tmp_path / "include.zone",
                 ctl_zone(serial=3)[:5] + [f"$INCLUDE {other}"])    # line 6
    r = ctl(served, "zone", "import", path)
    assert r.rc == 1, r
    assert f"{path}:6:" in r.stderr, r
    assert "$INCLUDE" in r.stderr and "not supported" in r.stderr, r
    assert_www(served, "192.0.2.1", serial=1)


def test_unknown_type_in_rfc3597_form_imports_and_is_served(served, tmp_path):
    path = write(tmp_path / "unknown.zone",
                 ctl_zone(serial=4, extra=[r"odd IN TYPE65400 \# 3 010203",
                                           r"odd IN TYPE65401 \# 0"]))
    r = ctl(served, "zone", "import", path)
    assert r.rc == 0, r
    for t in (UDP, TCP):
        r = t.ask(served, "odd.ctl.test.", "TYPE65400")
        assert r.rcode == dns.rcode.NOERROR and r.aa, r
        assert [rd.to_wire() for rrset in r.msg.answer for rd in rrset] == [b"\x01\x02\x03"]
        r = t.ask(served, "odd.ctl.test.", "TYPE65401")
        assert [rd.to_wire() for rrset in r.msg.answer for rd in rrset] == [b""], r
    out = ctl(served, "zone", "export", "ctl.test")
    assert out.rc == 0 and r"\# 3 010203" in out.stdout, out


def test_duplicates_dropped_and_reported(served, tmp_path):
    path = write(tmp_path / "dup.zone", ctl_zone(serial=6, extra=["www IN A 192.0.2.1",
                                                                  "WWW IN A 192.0.2.1"]))
    r = ctl(served, "zone", "import", path)
    assert r.rc == 0, r
    assert "2 duplicate records dropped" in r.stdout, r
    r = UDP.ask(served, "www.ctl.test.", "A")
    assert r.answer == norm(["www.ctl.test. 300 IN A 192.0.2.1"]), r


def test_rrset_with_different_ttls_is_served_with_the_lowest(served, tmp_path):
    path = write(tmp_path / "ttl.zone", ctl_zone(serial=7, extra=["multi 600 IN A 192.0.2.10",
                                                                  "multi 60 IN A 192.0.2.11"]))
    r = ctl(served, "zone", "import", path)
    assert r.rc == 0, r
    assert "warning" in r.stderr and f"{path}:" in r.stderr, r
    r = UDP.ask(served, "multi.ctl.test.", "A")
    assert sorted(r.answer) == sorted(norm(["multi.ctl.test. 60 IN A 192.0.2.10",
                                            "multi.ctl.test. 60 IN A 192.0.2.11"])), r


RELATIVE_ZONE = [
    "$TTL 120",
    "@ IN SOA ns1 hostmaster 11 3600 600 86400 60",
    "@ IN NS ns1",
    "ns1 IN A 192.0.2.1",
    "host IN A 192.0.2.12"]


def test_duplicate_with_a_lower_ttl_lowers_the_rrset_ttl(served, tmp_path):
    path = write(tmp_path / "dupttl.zone", ctl_zone(serial=9, extra=[
        "twice 600 IN A 192.0.2.20", "twice 30 IN A 192.0.2.20", "twice 600 IN A 192.0.2.21"]))
    r = ctl(served, "zone", "import", path)
    assert r.rc == 0, r
    r = UDP.ask(served, "twice.ctl.test.", "A")
    assert sorted(r.answer) == sorted(norm(["twice.ctl.test. 30 IN A 192.0.2.20",
                                            "twice.ctl.test. 30 IN A 192.0.2.21"])), r


@pytest.mark.parametrize("order", ["option-first", "documented"])
def test_import_with_origin_option_and_relative_names(served, tmp_path, order):
    # --help and doc/certdnsctl.md: "zone import FILE [--origin NAME]".
    path = write(tmp_path / "rel.zone", RELATIVE_ZONE)
    if order == "documented":
        r = ctl(served, "zone", "import", path, "--origin", "originated.test")
    else:
        r = ctl(served, "zone", "import", "--origin", "originated.test", path)
    assert r.rc == 0, r
    try:
        r = UDP.ask(served, "host.originated.test.", "A")
        assert r.answer == norm(["host.originated.test. 120 IN A 192.0.2.12"]) and r.aa, r
    finally:
        assert ctl(served, "zone", "delete", "originated.test").rc == 0


def test_import_without_origin_of_relative_file_fails(served, tmp_path):
    path = write(tmp_path / "rel.zone", ["$TTL 120", "host IN A 192.0.2.12"])
    r = ctl(served, "zone", "import", path)
    assert r.rc == 1 and f"{path}:" in r.stderr, r


def test_import_of_a_missing_file_fails(served, tmp_path):
    r = ctl(served, "zone", "import", tmp_path / "nonexistent.zone")
    assert r.rc == 1 and "nonexistent.zone" in r.stderr, r


def test_import_json_output(served, tmp_path):
    path = write(tmp_path / "j.zone", ctl_zone(serial=8))
    r = run_ctl(served.db_dir, "--json", "zone", "import", path)
    assert r.rc == 0, r
    out = json.loads(r.stdout)
    assert out["zone"] == "ctl.test." and out["serial"] == 8 and out["records"] == 4, out


# ---------------------------------------------------------------------------
# export


@pytest.mark.parametrize("zone_file", sorted(p.name for p in ZONES_DIR.glob("*.zone")))
def test_export_reimports_to_identical_data(tmp_path, zone_file):
    origin = zone_file[:-len("zone")]
    db1, db2 = tmp_path / "db1", tmp_path / "db2"
    db1.mkdir()
    db2.mkdir()
    import_zone(db1, ZONES_DIR / zone_file)
    first = run_ctl(db1, "zone", "export", origin)
    assert first.rc == 0 and first.stdout, first
    exported = tmp_path / "exported.zone"
    exported.write_text(first.stdout)
    import_zone(db2, exported)
    second = run_ctl(db2, "zone", "export", origin)
    assert second.rc == 0, second
    assert second.stdout == first.stdout
    # And it is the data of the original file (dnspython's reading of both).
    def records(text):
        z = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
        return sorted(rr_line(n.to_text(), ttl, "IN", dns.rdatatype.to_text(rd.rdtype),
                              rd.to_text()) for n, ttl, rd in z.iterate_rdatas())
    assert records(first.stdout) == records((ZONES_DIR / zone_file).read_text())
    assert first.stdout.splitlines()[0].split()[3] == "SOA"


def test_export_of_unknown_zone_fails(served):
    r = ctl(served, "zone", "export", "nonexistent.test")
    assert r.rc == 1 and "no such zone" in r.stderr and r.stdout == "", r


# ---------------------------------------------------------------------------
# delete, list, transfer-acl


def test_zone_delete_makes_queries_refused(served, tmp_path):
    path = write(tmp_path / "gone.zone", [
        "$ORIGIN gone.test.", "$TTL 300",
        "@ IN SOA ns1.gone.test. hostmaster.gone.test. 1 3600 600 86400 60",
        "@ IN NS ns1", "ns1 IN A 192.0.2.1", "www IN A 192.0.2.2"])
    assert ctl(served, "zone", "import", path).rc == 0
    for t in (UDP, TCP):
        r = t.ask(served, "www.gone.test.", "A")
        assert r.rcode == dns.rcode.NOERROR and r.aa, r
    r = ctl(served, "zone", "delete", "gone.test")
    assert r.rc == 0 and "deleted" in r.stdout, r
    for t in (UDP, TCP):
        for qname in ("www.gone.test.", "gone.test.", "nx.gone.test."):
            r = t.ask(served, qname, "A")
            assert r.rcode == dns.rcode.REFUSED and not r.aa, r
            assert r.answer == [] and r.authority == [], r
    listing = json.loads(run_ctl(served.db_dir, "--json", "zone", "list").stdout)
    assert "gone.test." not in [z["name"] for z in listing]
    r = ctl(served, "zone", "delete", "gone.test")
    assert r.rc == 1 and "no such zone" in r.stderr, r
    # The other zone is untouched.
    assert_www(served, "192.0.2.1", serial=1)


def test_zone_list_json_is_valid_json(served):
    r = run_ctl(served.db_dir, "--json", "zone", "list")
    assert r.rc == 0, r
    zones = json.loads(r.stdout)
    assert isinstance(zones, list)
    entry = next(z for z in zones if z["name"] == "ctl.test.")
    assert entry["serial"] == 1


def test_zone_list_table(served):
    r = ctl(served, "zone", "list")
    assert r.rc == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ZONE", "SERIAL"]
    assert ["ctl.test.", "1"] in [line.split() for line in lines[1:]]


def test_zone_list_of_empty_database(db_dir):
    r = run_ctl(db_dir, "zone", "list")
    assert r.rc == 0 and "no zones" in r.stdout, r
    r = run_ctl(db_dir, "--json", "zone", "list")
    assert r.rc == 0 and json.loads(r.stdout) == [], r


def test_transfer_acl_show_set_and_clear(served):
    r = ctl(served, "zone", "transfer-acl", "ctl.test")
    assert r.rc == 0 and "refused to everyone" in r.stdout, r
    r = ctl(served, "zone", "transfer-acl", "ctl.test", "192.0.2.0/24", "2001:db8::1")
    assert r.rc == 0, r
    r = run_ctl(served.db_dir, "--json", "zone", "transfer-acl", "ctl.test")
    assert r.rc == 0, r
    assert json.loads(r.stdout)["transfer_acl"] == ["192.0.2.0/24", "2001:db8::1/128"]
    r = ctl(served, "zone", "transfer-acl", "ctl.test", "none")
    assert r.rc == 0, r
    r = run_ctl(served.db_dir, "--json", "zone", "transfer-acl", "ctl.test")
    assert json.loads(r.stdout)["transfer_acl"] == []


def test_transfer_acl_of_unknown_zone_fails(served):
    r = ctl(served, "zone", "transfer-acl", "nonexistent.test", "127.0.0.1")
    assert r.rc == 1 and "no such zone" in r.stderr, r


# ---------------------------------------------------------------------------
# record edits (the ACME path): live for the next query


def test_record_add_and_delete_are_live(served):
    r = ctl(served, "record", "add", "ctl.test", '_acme-challenge 60 TXT "tok-1"',
            '_acme-challenge 60 TXT "tok-2"')
    assert r.rc == 0, r
    assert soa_serial(served) == 2
    r = UDP.ask(served, "_acme-challenge.ctl.test.", "TXT")
    assert sorted(r.answer) == sorted(norm(['_acme-challenge.ctl.test. 60 IN TXT "tok-1"',
                                            '_acme-challenge.ctl.test. 60 IN TXT "tok-2"'])), r
    r = ctl(served, "record", "delete", "ctl.test", '_acme-challenge TXT "tok-1"')
    assert r.rc == 0, r
    r = UDP.ask(served, "_acme-challenge.ctl.test.", "TXT")
    assert r.answer == norm(['_acme-challenge.ctl.test. 60 IN TXT "tok-2"']), r
    r = ctl(served, "record", "delete", "ctl.test", "_acme-challenge")
    assert r.rc == 0, r
    r = UDP.ask(served, "_acme-challenge.ctl.test.", "TXT")
    assert r.rcode == dns.rcode.NXDOMAIN, r
    assert soa_serial(served) == 4


# ---------------------------------------------------------------------------
# exit codes


@pytest.mark.parametrize("argv", [
    [],
    ["zone"],
    ["frobnicate", "now"],
    ["zone", "frobnicate"],
    ["zone", "import"],
    ["zone", "import", "a.zone", "b.zone"],
    ["zone", "import", "--bogus", "a.zone"],
    ["zone", "export"],
    ["zone", "export", "a.test", "b.test"],
    ["zone", "delete"],
    ["zone", "list", "extra"],
    ["zone", "transfer-acl"],
    ["zone", "transfer-acl", "ctl.test", "not-an-address"],
    ["zone", "transfer-acl", "ctl.test", "10.0.0.0/33"],
    ["zone", "transfer-acl", "ctl.test", "2001:db8::/129"],
    ["zone", "export", "bad..name"],
    ["--map-size", "12", "zone", "list"],
    ["--bogus-option", "zone", "list"],
], ids=lambda a: " ".join(a) or "no-arguments")
def test_usage_errors_exit_2(db_dir, argv):
    r = run_ctl(db_dir, *argv)
    assert r.rc == 2, r
    assert r.stderr.strip(), r
    assert r.stdout == "", r


@pytest.mark.parametrize("opt", ["--help", "-h", "--version", "-V"])
def test_help_and_version_exit_0(opt):
    r = run_ctl(None, opt)
    assert r.rc == 0 and r.stdout.strip() and r.stderr == "", r


def test_queries_still_answered_after_all_this(served):
    r = query_udp(served.v4, make_query("www.ctl.test.", "A"))
    assert r.rcode == dns.rcode.NOERROR
