"""Referrals at zone cuts (RFC 1034 4.3.2 step 3b, RFC 9471) and DS at the cut (RFC 4035 3.1.4.1)."""

import dns.rcode
import pytest

from dnstest import ALPHA_NEG_SOA, SUB_REFERRAL_GLUE, SUB_REFERRAL_NS, Transport, expect, norm


@pytest.mark.parametrize("qname,qtype", [
    ("sub.alpha.test.", "A"),
    ("sub.alpha.test.", "NS"),              # NS at the cut: the parent's NS are a referral
    ("sub.alpha.test.", "ANY"),
    ("host.sub.alpha.test.", "A"),          # below the cut
    ("deep.host.sub.alpha.test.", "TXT"),
    ("ns1.sub.alpha.test.", "A"),           # a glue name: still a referral, not an answer
    ("ns2.sub.alpha.test.", "AAAA"),
    ("NS1.SUB.ALPHA.TEST.", "A"),
])
def test_referral_at_delegation(server, transport, qname, qtype):
    r = transport.ask(server, qname, qtype)
    expect(r, rcode=dns.rcode.NOERROR, aa=False, tc=False, answer=[],
           authority=SUB_REFERRAL_NS, additional=SUB_REFERRAL_GLUE)


def test_ds_query_at_cut_without_ds_is_parent_nodata(server, transport):
    r = transport.ask(server, "sub.alpha.test.", "DS")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, answer=[], authority=[ALPHA_NEG_SOA],
           additional=[])


def test_ds_query_at_cut_returns_parent_ds(server, transport):
    r = transport.ask(server, "secure.alpha.test.", "DS")
    expect(r, aa=True, answer=["secure.alpha.test. 3600 IN DS 12345 13 2 "
                               "0123456789abcdef0123456789abcdef0123456789abcdef"
                               "0123456789abcdef"],
           authority=[])


def test_ds_query_below_cut_is_referral(server, transport):
    r = transport.ask(server, "host.sub.alpha.test.", "DS")
    expect(r, aa=False, answer=[], authority=SUB_REFERRAL_NS, additional=SUB_REFERRAL_GLUE)


def test_referral_to_signed_child_has_ns_and_glue(server, transport):
    r = transport.ask(server, "www.secure.alpha.test.", "A")
    assert r.rcode == dns.rcode.NOERROR and not r.aa and r.answer == [], r
    ns = [line for line in r.authority if " NS " in line]
    others = [line for line in r.authority if " NS " not in line]
    assert ns == norm(["secure.alpha.test. 3600 IN NS ns.secure.alpha.test."]), r
    assert all(" DS " in line for line in others), r
    assert r.additional == norm(["ns.secure.alpha.test. 3600 IN A 192.0.2.111"]), r


def test_ds_query_for_hosted_child_is_answered_from_parent(server, transport):
    # We host both alpha.test and its child hosted.alpha.test.  The DS RRset
    # lives on the parent side of the cut (RFC 4035 3.1.4.1, RFC 4034 5), so
    # it must come from alpha.test, not as NODATA from the child's apex.
    r = transport.ask(server, "hosted.alpha.test.", "DS")
    expect(r, rcode=dns.rcode.NOERROR, aa=True,
           answer=["hosted.alpha.test. 3600 IN DS 54321 13 2 "
                   "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"],
           authority=[])


MANY_NS = [f"many.alpha.test. 3600 IN NS nameserver-number-{i:02d}.many.alpha.test."
           for i in range(8)]
MANY_GLUE = []
for _i in range(8):
    MANY_GLUE.append(f"nameserver-number-{_i:02d}.many.alpha.test. 3600 IN A 192.0.2.{120 + _i}")
    MANY_GLUE.append(f"nameserver-number-{_i:02d}.many.alpha.test. 3600 IN AAAA "
                     f"2001:db8::{120 + _i:x}")


def test_referral_with_all_glue_fitting_is_not_truncated(server):
    for t in (Transport("udp", True, 4), Transport("tcp", False, 4)):
        r = t.ask(server, "www.many.alpha.test.", "A")
        expect(r, aa=False, tc=False, answer=[], authority=MANY_NS, additional=MANY_GLUE)


def test_referral_missing_in_domain_glue_sets_tc(server):
    # Without EDNS the 16 glue records do not fit in 512 bytes; in-domain glue
    # is required, so the referral must be flagged truncated (RFC 9471 3).
    r = Transport("udp", False, 4).ask(server, "www.many.alpha.test.", "A")
    assert r.tc, r
    assert r.answer == []
    assert sorted(r.authority) in ([], sorted(norm(MANY_NS))), r
    assert set(r.additional) <= set(norm(MANY_GLUE)), r
