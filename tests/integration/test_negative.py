"""Negative answers (RFC 2308, RFC 8020) and names we are not authoritative for."""

import dns.rcode
import pytest

from dnstest import ALPHA_NEG_SOA, BETA_NEG_SOA, HOSTED_NEG_SOA, expect


def test_nxdomain_has_soa_with_negative_ttl(server, transport):
    r = transport.ask(server, "does-not-exist.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NXDOMAIN, aa=True, answer=[], authority=[ALPHA_NEG_SOA],
           additional=[])


def test_nodata_has_soa_with_negative_ttl(server, transport):
    r = transport.ask(server, "www.alpha.test.", "MX")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, answer=[], authority=[ALPHA_NEG_SOA],
           additional=[])


def test_negative_ttl_is_soa_ttl_when_below_minimum(server, transport):
    # beta.test's SOA has TTL 60 and MINIMUM 600: min() is the SOA's own TTL.
    r = transport.ask(server, "missing.beta.test.", "A")
    expect(r, rcode=dns.rcode.NXDOMAIN, aa=True, answer=[], authority=[BETA_NEG_SOA])
    r = transport.ask(server, "www.beta.test.", "TXT")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, answer=[], authority=[BETA_NEG_SOA])


def test_nodata_for_unknown_type_at_existing_name(server, transport):
    r = transport.ask(server, "www.alpha.test.", "TYPE65000")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, answer=[], authority=[ALPHA_NEG_SOA])


def test_empty_non_terminal_is_nodata_not_nxdomain(server, transport):
    # empty.alpha.test owns nothing but host.empty.alpha.test exists (RFC 8020 2).
    r = transport.ask(server, "empty.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, answer=[], authority=[ALPHA_NEG_SOA],
           additional=[])


def test_name_below_existing_leaf_is_nxdomain(server, transport):
    r = transport.ask(server, "below.www.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NXDOMAIN, aa=True, answer=[], authority=[ALPHA_NEG_SOA])


def test_nxdomain_in_hosted_child_zone_has_child_soa(server, transport):
    r = transport.ask(server, "nope.hosted.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NXDOMAIN, aa=True, answer=[], authority=[HOSTED_NEG_SOA])


def test_nxdomain_for_any_type(server, transport):
    r = transport.ask(server, "nothing-here.alpha.test.", "ANY")
    expect(r, rcode=dns.rcode.NXDOMAIN, aa=True, answer=[], authority=[ALPHA_NEG_SOA])


@pytest.mark.parametrize("qname", [
    "www.example.invalid.",
    "test.",                       # the parent of our zones
    ".",
    "alpha.test.example.",         # our apex's labels, under someone else's zone
    "xalpha.test.",
])
def test_names_outside_our_zones_are_refused(server, transport, qname):
    r = transport.ask(server, qname, "A")
    expect(r, rcode=dns.rcode.REFUSED, aa=False, answer=[], authority=[], additional=[])


def test_refused_for_outside_name_any_type(server, transport):
    r = transport.ask(server, "example.invalid.", "SOA")
    expect(r, rcode=dns.rcode.REFUSED, aa=False, answer=[], authority=[], additional=[])
