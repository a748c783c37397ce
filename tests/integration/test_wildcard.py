"""Wildcard synthesis (RFC 4592)."""

import dns.name
import dns.rcode

from dnstest import ALPHA_NEG_SOA, Transport, expect


def test_wildcard_synthesized_with_qname_as_owner(server, transport):
    r = transport.ask(server, "foo.wild.alpha.test.", "A")
    expect(r, aa=True, answer=["foo.wild.alpha.test. 3600 IN A 192.0.2.200"],
           authority=[], additional=[])
    assert r.msg.answer[0].name == dns.name.from_text("foo.wild.alpha.test.")


def test_wildcard_owner_keeps_query_case(server, transport):
    r = transport.ask(server, "FoO.WiLd.alpha.test.", "A")
    expect(r, aa=True, answer=["foo.wild.alpha.test. 3600 IN A 192.0.2.200"])
    assert r.msg.answer[0].name.to_text() == "FoO.WiLd.alpha.test."


def test_wildcard_matches_several_labels(server, transport):
    r = transport.ask(server, "a.b.c.wild.alpha.test.", "A")
    expect(r, aa=True, answer=["a.b.c.wild.alpha.test. 3600 IN A 192.0.2.200"], authority=[])


def test_wildcard_other_rrset_synthesized(server, transport):
    r = transport.ask(server, "foo.wild.alpha.test.", "TXT")
    expect(r, aa=True, answer=['foo.wild.alpha.test. 3600 IN TXT "synthesized"'])


def test_wildcard_nodata_for_other_types(server, transport):
    r = transport.ask(server, "foo.wild.alpha.test.", "MX")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, answer=[], authority=[ALPHA_NEG_SOA],
           additional=[])


def test_wildcard_not_applied_to_existing_name(server, transport):
    # exists.wild owns an A record only: a TXT query there is NODATA, not the
    # wildcard's TXT (RFC 4592 2.2.1 / 3.3.1: the name matches, so no synthesis).
    r = transport.ask(server, "exists.wild.alpha.test.", "A")
    expect(r, aa=True, answer=["exists.wild.alpha.test. 3600 IN A 192.0.2.201"])
    r = transport.ask(server, "exists.wild.alpha.test.", "TXT")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, answer=[], authority=[ALPHA_NEG_SOA])


def test_wildcard_not_across_existing_names(server, transport):
    # x.exists.wild's closest encloser is exists.wild, which has no "*" child.
    r = transport.ask(server, "x.exists.wild.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NXDOMAIN, aa=True, answer=[], authority=[ALPHA_NEG_SOA])


def test_wildcard_not_across_empty_non_terminal(server, transport):
    # ent.wild exists as an empty non-terminal (a.ent.wild has data): it is
    # NODATA itself, and names below it are not covered by *.wild.
    r = transport.ask(server, "ent.wild.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, answer=[], authority=[ALPHA_NEG_SOA])
    r = transport.ask(server, "x.ent.wild.alpha.test.", "A")
    expect(r, rcode=dns.rcode.NXDOMAIN, aa=True, answer=[], authority=[ALPHA_NEG_SOA])
    r = transport.ask(server, "a.ent.wild.alpha.test.", "A")
    expect(r, aa=True, answer=["a.ent.wild.alpha.test. 3600 IN A 192.0.2.202"])


def test_wildcard_cname_synthesized_and_followed(server, transport):
    r = transport.ask(server, "foo.wcname.alpha.test.", "A")
    expect(r, aa=True, ordered=True,
           answer=["foo.wcname.alpha.test. 3600 IN CNAME www.alpha.test.",
                   "www.alpha.test. 3600 IN A 192.0.2.80"],
           authority=[])


def test_wildcard_cname_query_for_cname_type(server, transport):
    r = transport.ask(server, "bar.wcname.alpha.test.", "CNAME")
    expect(r, aa=True, answer=["bar.wcname.alpha.test. 3600 IN CNAME www.alpha.test."])


def test_literal_star_query_answers_the_wildcard_itself(server, transport):
    r = transport.ask(server, "*.wild.alpha.test.", "A")
    expect(r, aa=True, answer=["*.wild.alpha.test. 3600 IN A 192.0.2.200"], authority=[])
    assert r.msg.answer[0].name.labels[0] == b"*"
    r = transport.ask(server, "*.wild.alpha.test.", "MX")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, answer=[], authority=[ALPHA_NEG_SOA])


def test_wildcard_any_over_tcp_returns_all_synthesized_rrsets(server):
    r = Transport("tcp", True, 4).ask(server, "any.wild.alpha.test.", "ANY")
    expect(r, aa=True, answer=["any.wild.alpha.test. 3600 IN A 192.0.2.200",
                               'any.wild.alpha.test. 3600 IN TXT "synthesized"'])


def test_name_below_empty_wildcard_is_served_literally(server, transport):
    r = transport.ask(server, "sub.*.entwild.alpha.test.", "TXT")
    expect(r, aa=True, answer=['sub.*.entwild.alpha.test. 3600 IN TXT "below an empty wildcard"'])


def test_empty_wildcard_source_gives_nodata_not_nxdomain(server, transport):
    # *.entwild.alpha.test owns no records but exists (sub.*.entwild has data).
    # RFC 4592 2.2.2: empty non-terminals exist; 3.3.1 step 3c: if the "*"
    # label exists, match its RRs against QTYPE, none match -> step 6, a
    # NOERROR answer with no data.  Not a name error.
    r = transport.ask(server, "foo.entwild.alpha.test.", "TXT")
    expect(r, rcode=dns.rcode.NOERROR, aa=True, answer=[], authority=[ALPHA_NEG_SOA])
