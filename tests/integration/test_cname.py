"""CNAME processing (RFC 1034 4.3.2, RFC 2181 10.1, RFC 6604)."""

import dns.rcode

from dnstest import (ALPHA_NEG_SOA, BETA_NEG_SOA, SUB_REFERRAL_GLUE, SUB_REFERRAL_NS, expect,
                     norm)


def test_cname_chain_followed_inside_zone(server, transport):
    r = transport.ask(server, "cname1.alpha.test.", "A")
    expect(r, aa=True, ordered=True,
           answer=["cname1.alpha.test. 3600 IN CNAME cname2.alpha.test.",
                   "cname2.alpha.test. 3600 IN CNAME www.alpha.test.",
                   "www.alpha.test. 3600 IN A 192.0.2.80"],
           authority=[], additional=[])


def test_cname_chain_query_is_case_insensitive(server, transport):
    r = transport.ask(server, "CNAME1.Alpha.TEST.", "AAAA")
    expect(r, aa=True, ordered=True,
           answer=["cname1.alpha.test. 3600 IN CNAME cname2.alpha.test.",
                   "cname2.alpha.test. 3600 IN CNAME www.alpha.test.",
                   "www.alpha.test. 3600 IN AAAA 2001:db8::80"])


def test_cname_chain_followed_into_second_hosted_zone(server, transport):
    r = transport.ask(server, "to-beta.alpha.test.", "A")
    expect(r, aa=True, ordered=True,
           answer=["to-beta.alpha.test. 3600 IN CNAME www.beta.test.",
                   "www.beta.test. 7200 IN A 198.51.100.10"],
           authority=[], additional=[])


def test_cname_chain_across_zones_and_back(server, transport):
    r = transport.ask(server, "to-beta-back.alpha.test.", "A")
    expect(r, aa=True, ordered=True,
           answer=["to-beta-back.alpha.test. 3600 IN CNAME back.beta.test.",
                   "back.beta.test. 7200 IN CNAME www.alpha.test.",
                   "www.alpha.test. 3600 IN A 192.0.2.80"],
           authority=[])


def test_cname_loop_is_cut_promptly(server, transport):
    # The query helpers give up after QUERY_TIMEOUT: an answer at all means no hang.
    r = transport.ask(server, "loop-a.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, ordered=True,
           answer=["loop-a.alpha.test. 3600 IN CNAME loop-b.alpha.test.",
                   "loop-b.alpha.test. 3600 IN CNAME loop-a.alpha.test."])


def test_cname_to_itself_is_cut(server, transport):
    r = transport.ask(server, "self.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NOERROR, aa=True,
           answer=["self.alpha.test. 3600 IN CNAME self.alpha.test."])


def test_long_cname_chain_is_cut_without_duplicates(server, transport):
    # chain00 -> chain01 -> ... -> chain20 A: the server may stop following
    # after some hops, but what it returns is a prefix of the chain.
    full = norm([f"chain{i:02d}.alpha.test. 3600 IN CNAME chain{i + 1:02d}.alpha.test."
                 for i in range(20)] + ["chain20.alpha.test. 3600 IN A 192.0.2.20"])
    r = transport.ask(server, "chain00.alpha.test.", "A")
    assert r.rcode == dns.rcode.NOERROR and r.aa, r
    assert len(r.answer) >= 8, r
    assert r.answer == full[:len(r.answer)], r
    assert len(set(r.answer)) == len(r.answer)


def test_cname_to_name_outside_our_zones_stops_there(server, transport):
    r = transport.ask(server, "to-outside.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NOERROR, aa=True,
           answer=["to-outside.alpha.test. 3600 IN CNAME www.example.invalid."],
           authority=[], additional=[])


def test_cname_to_nonexistent_in_zone_name_is_nxdomain_with_soa(server, transport):
    # RFC 6604: the rcode describes the last name of the chain.
    r = transport.ask(server, "to-nx.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NXDOMAIN, aa=True,
           answer=["to-nx.alpha.test. 3600 IN CNAME does-not-exist.alpha.test."],
           authority=[ALPHA_NEG_SOA], additional=[])


def test_cname_to_nonexistent_name_in_other_zone_has_that_zones_soa(server, transport):
    r = transport.ask(server, "to-beta-nx.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NXDOMAIN, aa=True,
           answer=["to-beta-nx.alpha.test. 3600 IN CNAME missing.beta.test."],
           authority=[BETA_NEG_SOA], additional=[])


def test_cname_to_empty_non_terminal_is_nodata(server, transport):
    r = transport.ask(server, "to-ent.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NOERROR, aa=True,
           answer=["to-ent.alpha.test. 3600 IN CNAME empty.alpha.test."],
           authority=[ALPHA_NEG_SOA])


def test_cname_chain_ending_in_nodata_has_soa(server, transport):
    r = transport.ask(server, "cname1.alpha.test.", "MX")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, ordered=True,
           answer=["cname1.alpha.test. 3600 IN CNAME cname2.alpha.test.",
                   "cname2.alpha.test. 3600 IN CNAME www.alpha.test."],
           authority=[ALPHA_NEG_SOA])


def test_cname_query_returns_cname_without_following(server, transport):
    r = transport.ask(server, "cname1.alpha.test.", "CNAME")
    expect(r, aa=True, answer=["cname1.alpha.test. 3600 IN CNAME cname2.alpha.test."],
           authority=[], additional=[])


def test_cname_into_delegation_adds_referral(server, transport):
    r = transport.ask(server, "to-sub.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NOERROR, aa=True,
           answer=["to-sub.alpha.test. 3600 IN CNAME host.sub.alpha.test."],
           authority=SUB_REFERRAL_NS, additional=SUB_REFERRAL_GLUE)


def test_cname_onto_wildcard_synthesizes_target(server, transport):
    r = transport.ask(server, "to-wild.alpha.test.", "A")
    expect(r, aa=True, ordered=True,
           answer=["to-wild.alpha.test. 3600 IN CNAME x.wild.alpha.test.",
                   "x.wild.alpha.test. 3600 IN A 192.0.2.200"],
           authority=[])
