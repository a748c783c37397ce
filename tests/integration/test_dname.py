"""
DNAME (RFC 6672): below a DNAME owner a name is answered with the DNAME and a
CNAME synthesized from it; the owner itself is an ordinary name; what breaks
the rules (two DNAMEs at a name, data below one) does not get served as if
the DNAME were not there.
"""

import dns.name
import dns.rcode
import pytest

from dnstest import ZONES_DIR, Daemon, Transport, expect, import_zone, run_ctl

DNAME_ZONE = """$ORIGIN dn.test.
$TTL 300
@        IN SOA ns1.dn.test. hostmaster.dn.test. 1 3600 600 86400 60
@        IN NS  ns1
ns1      IN A   192.0.2.1
moved    IN DNAME beta.test.
out      IN DNAME example.invalid.
loop     IN DNAME sub.loop.dn.test.
long     IN DNAME {long_target}
"""
# A target of 253 bytes on the wire: "a.long.dn.test." becomes a 255-byte name,
# "ab.long.dn.test." would be 256.
LONG_TARGET = ".".join(["a" * 62, "b" * 62, "c" * 62, "d" * 52]) + ".beta.test."
APEX_ZONE = """$ORIGIN apexdn.test.
$TTL 300
@        IN SOA ns1.dn.test. hostmaster.dn.test. 1 3600 600 86400 60
@        IN NS  ns1.dn.test.
@        IN DNAME beta.test.
"""
BETA_NEG_SOA = "beta.test. 60 IN SOA ns1.alpha.test. hostmaster.beta.test. 7 3600 600 86400 600"
UDP = Transport("udp", False, 4)
TCP = Transport("tcp", True, 6)


@pytest.fixture(scope="module")
def dname_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("dname")
    db = base / "db"
    db.mkdir()
    (base / "dn.test.zone").write_text(DNAME_ZONE.format(long_target=LONG_TARGET))
    (base / "apexdn.test.zone").write_text(APEX_ZONE)
    for path in (base / "dn.test.zone", base / "apexdn.test.zone",
                 ZONES_DIR / "beta.test.zone"):
        import_zone(db, path)
    d = Daemon(db, base, name="dname").start()
    yield d
    d.stop_and_check()


@pytest.mark.parametrize("t", [UDP, TCP], ids=lambda t: t.id)
def test_name_below_dname_is_synthesized(dname_server, t):
    # RFC 6672 3.2 / 2.3: the DNAME, a CNAME synthesized from it (TTL of the
    # DNAME), then the target resolved as usual.
    r = t.ask(dname_server, "www.moved.dn.test.", "A")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, ordered=True,
           answer=["moved.dn.test. 300 IN DNAME beta.test.",
                   "www.moved.dn.test. 300 IN CNAME www.beta.test.",
                   "www.beta.test. 7200 IN A 198.51.100.10"])


def test_name_several_labels_below_dname_is_synthesized(dname_server):
    r = UDP.ask(dname_server, "a.b.moved.dn.test.", "TXT")
    expect(r, rcode=dns.rcode.NXDOMAIN, aa=True, ordered=True,
           answer=["moved.dn.test. 300 IN DNAME beta.test.",
                   "a.b.moved.dn.test. 300 IN CNAME a.b.beta.test."],
           authority=[BETA_NEG_SOA])


def test_name_below_dname_with_missing_target_is_nxdomain_of_the_target(dname_server):
    r = Transport("udp", True, 4).ask(dname_server, "nothing.moved.dn.test.", "A")
    expect(r, rcode=dns.rcode.NXDOMAIN, aa=True, ordered=True,
           answer=["moved.dn.test. 300 IN DNAME beta.test.",
                   "nothing.moved.dn.test. 300 IN CNAME nothing.beta.test."],
           authority=[BETA_NEG_SOA])


def test_dname_owner_itself_answers_normally(dname_server):
    r = UDP.ask(dname_server, "moved.dn.test.", "DNAME")
    expect(r, aa=True, answer=["moved.dn.test. 300 IN DNAME beta.test."])
    r = UDP.ask(dname_server, "moved.dn.test.", "A")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, answer=[],
           authority=["dn.test. 60 IN SOA ns1.dn.test. hostmaster.dn.test. 1 3600 600 86400 60"])


def test_dname_to_a_name_outside_our_zones_stops_after_the_cname(dname_server):
    r = TCP.ask(dname_server, "host.out.dn.test.", "A")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, ordered=True,
           answer=["out.dn.test. 300 IN DNAME example.invalid.",
                   "host.out.dn.test. 300 IN CNAME host.example.invalid."],
           authority=[])


def test_dname_synthesis_longer_than_255_bytes_is_yxdomain(dname_server):
    # RFC 6672 2.2: a substituted name that would be too long gives YXDOMAIN.
    assert len(dns.name.from_text(LONG_TARGET).to_wire()) == 253
    for qname in ("ab.long.dn.test.", "abcdefghij.long.dn.test."):
        r = UDP.ask(dname_server, qname, "A")
        assert r.rcode == dns.rcode.YXDOMAIN and r.aa, r
        assert r.answer == [f"long.dn.test. 300 IN DNAME {LONG_TARGET}"], r
    r = TCP.ask(dname_server, "a.long.dn.test.", "A")          # exactly 255 bytes: fits
    assert r.rcode == dns.rcode.NXDOMAIN, r
    assert r.answer[1] == f"a.long.dn.test. 300 IN CNAME a.{LONG_TARGET}", r


def test_dname_pointing_below_itself_ends_without_hanging(dname_server):
    # x.loop -> x.sub.loop -> x.sub.sub.loop -> ... until a limit or YXDOMAIN.
    r = TCP.ask(dname_server, "x.loop.dn.test.", "A")
    assert r.rcode in (dns.rcode.NOERROR, dns.rcode.YXDOMAIN, dns.rcode.SERVFAIL), r
    assert 2 <= len(r.answer) <= 64, r


def test_dname_at_the_zone_apex(dname_server):
    r = UDP.ask(dname_server, "www.apexdn.test.", "A")
    expect(r, aa=True, ordered=True,
           answer=["apexdn.test. 300 IN DNAME beta.test.",
                   "www.apexdn.test. 300 IN CNAME www.beta.test.",
                   "www.beta.test. 7200 IN A 198.51.100.10"])
    r = UDP.ask(dname_server, "apexdn.test.", "SOA")
    expect(r, aa=True, answer=["apexdn.test. 300 IN SOA ns1.dn.test. hostmaster.dn.test. "
                               "1 3600 600 86400 60"])


BASE = ["$ORIGIN bad.test.", "$TTL 300",
        "@ IN SOA ns1.bad.test. hostmaster.bad.test. 1 3600 600 86400 60",
        "@ IN NS ns1", "ns1 IN A 192.0.2.1"]


def test_two_dnames_at_one_name_are_rejected(tmp_path, db_dir):
    # A DNAME RRset holds one record (RFC 6672 2.4).
    path = tmp_path / "two.zone"
    path.write_text("\n".join(BASE + ["moved IN DNAME beta.test.",          # 6
                                      "moved IN DNAME alpha.test."]) + "\n")  # 7
    r = run_ctl(db_dir, "zone", "import", path)
    assert r.rc == 1, r
    assert (f"{path}:6:" in r.stderr or f"{path}:7:" in r.stderr) and "DNAME" in r.stderr, r


def test_data_below_a_dname_is_rejected_or_occluded(tmp_path, db_dir, daemon_factory):
    # RFC 6672 2.4: records MUST NOT exist below a DNAME owner; a server may
    # refuse the zone, and if it loads it, those names are occluded: they are
    # answered through the DNAME, never from the stray data.
    path = tmp_path / "below.zone"
    path.write_text("\n".join(BASE + ["moved IN DNAME beta.test.",    # 6
                                      "www.moved IN A 192.0.2.9"]) + "\n")  # 7
    r = run_ctl(db_dir, "zone", "import", path)
    if r.rc != 0:
        assert r.rc == 1 and f"{path}:7:" in r.stderr, r
        return
    import_zone(db_dir, ZONES_DIR / "beta.test.zone")
    d = daemon_factory(db_dir)
    r = UDP.ask(d, "www.moved.bad.test.", "A")
    expect(r, aa=True, ordered=True,
           answer=["moved.bad.test. 300 IN DNAME beta.test.",
                   "www.moved.bad.test. 300 IN CNAME www.beta.test.",
                   "www.beta.test. 7200 IN A 198.51.100.10"])
