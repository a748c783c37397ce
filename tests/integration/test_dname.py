"""
DNAME (RFC 6672).  The import accepts DNAME records (ldns parses them), so
either they are refused at import with a clear error, or they are served as
RFC 6672 says: a name below the DNAME owner is answered with the DNAME and a
synthesized CNAME, never NXDOMAIN.
"""

import dns.rcode
import pytest

from dnstest import ZONES_DIR, Transport, expect, import_zone, run_ctl

DNAME_ZONE = """$ORIGIN dn.test.
$TTL 300
@        IN SOA ns1.dn.test. hostmaster.dn.test. 1 3600 600 86400 60
@        IN NS  ns1
ns1      IN A   192.0.2.1
moved    IN DNAME beta.test.
"""
BETA_NEG_SOA = "beta.test. 60 IN SOA ns1.alpha.test. hostmaster.beta.test. 7 3600 600 86400 600"


@pytest.fixture
def dname_server(db_dir, tmp_path, daemon_factory):
    path = tmp_path / "dn.test.zone"
    path.write_text(DNAME_ZONE)
    r = run_ctl(db_dir, "zone", "import", path)
    if r.rc != 0:
        # Refusing DNAME is acceptable, if said clearly at the record's line.
        assert r.rc == 1 and f"{path}:6:" in r.stderr and "DNAME" in r.stderr, r
        pytest.fail(f"DNAME refused at import (acceptable if intended): {r.stderr}")
    import_zone(db_dir, ZONES_DIR / "beta.test.zone")
    return daemon_factory(db_dir)


@pytest.mark.parametrize("t", [Transport("udp", False, 4), Transport("tcp", True, 6)],
                         ids=lambda t: t.id)
def test_name_below_dname_is_synthesized(dname_server, t):
    # RFC 6672 3.2 / 2.3: the DNAME, a CNAME synthesized from it (TTL of the
    # DNAME), then the target resolved as usual.
    r = t.ask(dname_server, "www.moved.dn.test.", "A")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, ordered=True,
           answer=["moved.dn.test. 300 IN DNAME beta.test.",
                   "www.moved.dn.test. 300 IN CNAME www.beta.test.",
                   "www.beta.test. 7200 IN A 198.51.100.10"])


def test_name_below_dname_with_missing_target_is_nxdomain_of_the_target(dname_server):
    r = Transport("udp", True, 4).ask(dname_server, "nothing.moved.dn.test.", "A")
    expect(r, rcode=dns.rcode.NXDOMAIN, aa=True, ordered=True,
           answer=["moved.dn.test. 300 IN DNAME beta.test.",
                   "nothing.moved.dn.test. 300 IN CNAME nothing.beta.test."],
           authority=[BETA_NEG_SOA])


def test_dname_owner_itself_answers_normally(dname_server):
    t = Transport("udp", True, 4)
    r = t.ask(dname_server, "moved.dn.test.", "DNAME")
    expect(r, aa=True, answer=["moved.dn.test. 300 IN DNAME beta.test."])
