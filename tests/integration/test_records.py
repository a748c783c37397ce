"""Record data served exactly as stored: ACME TXT, long TXT, CAA flags, RFC 3597 types."""

import struct

import dns.rdatatype

from dnstest import Transport, expect


def test_acme_challenge_txt_has_all_values(server, transport):
    r = transport.ask(server, "_acme-challenge.alpha.test.", "TXT")
    expect(r, aa=True, answer=['_acme-challenge.alpha.test. 3600 IN TXT "token-one"',
                               '_acme-challenge.alpha.test. 3600 IN TXT "token-two"',
                               '_acme-challenge.alpha.test. 3600 IN TXT "token-three"'],
           authority=[], additional=[])


def test_acme_challenge_below_a_host(server, transport):
    r = transport.ask(server, "_acme-challenge.www.alpha.test.", "TXT")
    expect(r, aa=True, answer=['_acme-challenge.www.alpha.test. 3600 IN TXT "www-token"'])


def test_txt_longer_than_255_bytes_served_as_its_character_strings(server):
    for t in (Transport("udp", True, 4), Transport("tcp", False, 6)):
        r = t.ask(server, "long.alpha.test.", "TXT")
        assert r.rcode == 0 and r.aa and not r.tc, r
        assert len(r.msg.answer) == 1 and len(r.msg.answer[0]) == 1, r
        rd = r.msg.answer[0][0]
        assert rd.strings == (b"a" * 255, b"b" * 255, b"c" * 100)
        # On the wire: three length-prefixed strings, 613 bytes of rdata.
        raw = r.raw
        needle = b"\xff" + b"a" * 255 + b"\xff" + b"b" * 255 + b"\x64" + b"c" * 100
        at = raw.index(needle)
        assert struct.unpack("!H", raw[at - 2:at])[0] == len(needle) == 613


def test_caa_flags_served_as_stored(server, transport):
    r = transport.ask(server, "alpha.test.", "CAA")
    expect(r, aa=True, answer=['alpha.test. 3600 IN CAA 0 issue "letsencrypt.org"',
                               'alpha.test. 3600 IN CAA 128 tbs "critical-flag-example"'],
           authority=[], additional=[])
    got = sorted((rd.flags, rd.tag, rd.value) for rrset in r.msg.answer for rd in rrset)
    assert got == [(0, b"issue", b"letsencrypt.org"), (128, b"tbs", b"critical-flag-example")]


def test_unknown_type_in_rfc3597_form_is_served(server, transport):
    r = transport.ask(server, "unknown.alpha.test.", "TYPE65400")
    assert r.rcode == 0 and r.aa, r
    assert len(r.msg.answer) == 1
    rrset = r.msg.answer[0]
    assert rrset.rdtype == 65400 and rrset.ttl == 3600
    assert [rd.to_wire() for rd in rrset] == [b"\x01\x02\x03"]
    expect(r, aa=True, answer=[r"unknown.alpha.test. 3600 IN TYPE65400 \# 3 010203"])


def test_unknown_type_name_has_nodata_for_a(server, transport):
    from dnstest import ALPHA_NEG_SOA
    r = transport.ask(server, "unknown.alpha.test.", "A")
    expect(r, aa=True, answer=[], authority=[ALPHA_NEG_SOA])


def test_ds_rdata_served_as_stored(server):
    r = Transport("udp", True, 4).ask(server, "secure.alpha.test.", "DS")
    (rd,) = list(r.msg.answer[0])
    assert rd.rdtype == dns.rdatatype.DS
    assert (rd.key_tag, rd.algorithm, rd.digest_type) == (12345, 13, 2)
    assert rd.digest.hex() == "0123456789abcdef" * 4


def test_dig_shows_all_acme_tokens(server, dig):
    out = dig("+short", "+norec", "_acme-challenge.alpha.test", "TXT")
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.split()) == ['"token-one"', '"token-three"', '"token-two"']


def test_kdig_shows_caa_critical_flag(server, kdig):
    out = kdig("+norec", "alpha.test", "CAA")
    assert out.returncode == 0, out.stderr
    assert '128 tbs "critical-flag-example"' in out.stdout
    assert '0 issue "letsencrypt.org"' in out.stdout
