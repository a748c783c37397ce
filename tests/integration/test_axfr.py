"""Outgoing zone transfers (RFC 5936) and their access control."""

import struct

import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from dnstest import (ZONES_DIR, Daemon, Reply, axfr_messages, check_common, import_zone,
                     make_query, norm, query_tcp, query_udp, rr_line, run_ctl, section_lines,
                     tcp_connect, tcp_frame, tcp_read_message)


def zone_file_records(path, origin):
    """The records of a zone file as normalised lines (duplicates merged, like the import)."""
    z = dns.zone.from_file(str(path), origin=origin, relativize=False)
    out = []
    for name, ttl, rd in z.iterate_rdatas():
        out.append(rr_line(name.to_text(), ttl, "IN", dns.rdatatype.to_text(rd.rdtype),
                           rd.to_text()))
    return out


def transfer_records(replies):
    lines = []
    for r in replies:
        lines.extend(section_lines(r.msg.answer))
    return lines


def assert_soa_first_and_last(lines):
    assert " SOA " in lines[0] and " SOA " in lines[-1], (lines[0], lines[-1])
    assert lines[0] == lines[-1]
    assert sum(1 for line in lines if " SOA " in line) == 2


@pytest.fixture(scope="module")
def xfr_allowed(make_zone_db, tmp_path_factory):
    """
    A daemon of its own, with transfers of xfr.test and bulk.test allowed:
    transfers are streamed by code the other modules do not exercise, and a
    failure here must not take the session server down.
    """
    zone_db = make_zone_db()
    r = run_ctl(zone_db, "zone", "transfer-acl", "xfr.test.", "127.0.0.1")
    assert r.rc == 0, r
    r = run_ctl(zone_db, "zone", "transfer-acl", "bulk.test", "127.0.0.0/8", "::1")
    assert r.rc == 0, r
    d = Daemon(zone_db, tmp_path_factory.mktemp("xfr-log"), name="xfr").start()
    yield d
    d.stop_and_check()


@pytest.fixture
def own_db(db_dir):
    """A fresh database holding xfr.test (several messages) and beta.test (one message)."""
    import_zone(db_dir, ZONES_DIR / "xfr.test.zone")
    import_zone(db_dir, ZONES_DIR / "beta.test.zone")
    return db_dir


BETA = ["beta.test. 60 IN SOA ns1.alpha.test. hostmaster.beta.test. 7 3600 600 86400 600",
        "beta.test. 7200 IN NS ns1.alpha.test.",
        "beta.test. 7200 IN NS ns2.alpha.test.",
        "www.beta.test. 7200 IN A 198.51.100.10",
        "back.beta.test. 7200 IN CNAME www.alpha.test."]


def test_axfr_refused_by_default(server):
    q = make_query("alpha.test.", "AXFR")
    wire = q.to_wire()
    for family in (4, 6):
        r = query_tcp(server.addr(family), wire)
        check_common(r, wire, False)
        assert r.rcode == dns.rcode.REFUSED, r
        assert r.answer == [] and r.authority == [] and r.additional == [], r


def test_axfr_refused_until_transfer_acl_allows_client(own_db, daemon_factory):
    d = daemon_factory(own_db)
    replies = axfr_messages(d.v4, "xfr.test.")
    assert [r.rcode for r in replies] == [dns.rcode.REFUSED]

    r = run_ctl(own_db, "zone", "transfer-acl", "xfr.test", "127.0.0.1")
    assert r.rc == 0 and "127.0.0.1/32" in r.stdout, r
    r = run_ctl(own_db, "zone", "transfer-acl", "xfr.test")
    assert r.rc == 0 and r.stdout.split() == ["127.0.0.1/32"], r
    replies = axfr_messages(d.v4, "xfr.test.")
    assert all(m.rcode == dns.rcode.NOERROR and m.aa for m in replies), replies
    lines = transfer_records(replies)
    assert_soa_first_and_last(lines)
    assert sorted(lines[:-1]) == sorted(zone_file_records(ZONES_DIR / "xfr.test.zone",
                                                          "xfr.test."))
    # Only 127.0.0.1 was allowed: the same host over IPv6 is still refused.
    replies = axfr_messages(d.v6, "xfr.test.")
    assert [m.rcode for m in replies] == [dns.rcode.REFUSED]
    # A re-import keeps the list.
    import_zone(own_db, ZONES_DIR / "xfr.test.zone")
    replies = axfr_messages(d.v4, "xfr.test.")
    assert all(m.rcode == dns.rcode.NOERROR for m in replies), replies
    # "none" clears it.
    r = run_ctl(own_db, "zone", "transfer-acl", "xfr.test", "none")
    assert r.rc == 0, r
    replies = axfr_messages(d.v4, "xfr.test.")
    assert [m.rcode for m in replies] == [dns.rcode.REFUSED]


def test_axfr_of_zone_fitting_one_message_then_connection_goes_on(own_db, daemon_factory):
    # beta.test's transfer is a single message.  After it, the connection
    # must carry on with the next query (RFC 7766 6.2.1), and the server must
    # not send the transfer again nor fall over.
    r = run_ctl(own_db, "zone", "transfer-acl", "beta.test", "127.0.0.1")
    assert r.rc == 0, r
    d = daemon_factory(own_db)
    axfr = make_query("beta.test.", "AXFR", qid=0x0E0E)
    probe = make_query("www.beta.test.", "A", qid=0x0F0F)
    with tcp_connect(d.v4, 10) as s:
        s.sendall(tcp_frame(axfr.to_wire()))
        first = Reply(tcp_read_message(s))
        assert first.id == 0x0E0E and first.rcode == dns.rcode.NOERROR, first
        lines = section_lines(first.msg.answer)
        assert_soa_first_and_last(lines)
        assert sorted(lines[:-1]) == sorted(norm(BETA))
        s.sendall(tcp_frame(probe.to_wire()))
        try:
            nxt = Reply(tcp_read_message(s))
        except (ConnectionError, OSError) as e:
            raise AssertionError(f"connection lost after a one-message AXFR: {e}; "
                                 f"daemon alive: {d.alive()}\n{d.log_tail()}")
        assert nxt.id == 0x0F0F, f"got a message with id {nxt.id:#x} instead of the " \
            f"answer to the next query (the transfer sent again?): {nxt}"
        assert nxt.answer == norm(["www.beta.test. 7200 IN A 198.51.100.10"])
    assert d.alive(), f"certdnsd died after a one-message AXFR:\n{d.log_tail()}"
    r = query_udp(d.v4, make_query("www.beta.test.", "A"))
    assert r.answer == norm(["www.beta.test. 7200 IN A 198.51.100.10"])


def test_axfr_yields_exactly_the_imported_records(xfr_allowed):
    replies = axfr_messages(xfr_allowed.v4, "xfr.test.", qid=0x5A5A)
    assert all(r.rcode == dns.rcode.NOERROR for r in replies)
    assert all(r.id == 0x5A5A and r.qr and r.aa and not r.tc for r in replies)
    lines = transfer_records(replies)
    assert_soa_first_and_last(lines)
    want = zone_file_records(ZONES_DIR / "xfr.test.zone", "xfr.test.")
    assert sorted(lines[:-1]) == sorted(want)
    assert len(lines) == len(want) + 1     # the duplicate in the file is sent once


def test_axfr_with_rrset_larger_than_a_message_soft_limit(xfr_allowed):
    # xfr.test's "huge" TXT RRset (~20 KB) must arrive whole, in one message.
    replies = axfr_messages(xfr_allowed.v4, "xfr.test.")
    holding = [r for r in replies
               if any(rrset.name.to_text() == "huge.xfr.test." for rrset in r.msg.answer)]
    assert len(holding) == 1
    huge = [line for line in section_lines(holding[0].msg.answer) if line.startswith("huge.")]
    assert len(huge) == 100


def test_axfr_with_kdig(xfr_allowed):
    from dnstest import kdig
    out = kdig(xfr_allowed, "AXFR", "xfr.test.")
    assert out.returncode == 0, out.stderr + out.stdout
    lines = []
    for raw in out.stdout.splitlines():
        if not raw.strip() or raw.startswith(";"):
            continue
        name, ttl, cls, rtype, rdata = raw.split(None, 4)
        lines.extend(norm([f"{name} {ttl} {cls} {rtype} {rdata}"]))
    assert_soa_first_and_last(lines)
    assert sorted(lines[:-1]) == sorted(zone_file_records(ZONES_DIR / "xfr.test.zone",
                                                          "xfr.test."))


def test_axfr_of_large_zone_spans_several_messages(xfr_allowed, zone_files):
    bulk = next(f for f in zone_files if f.name == "bulk.test.zone")
    for family in (4, 6):
        replies = axfr_messages(xfr_allowed.addr(family), "bulk.test.", qid=0x0B0B)
        assert len(replies) > 1, "5000 names should not fit in one message"
        assert all(r.rcode == dns.rcode.NOERROR and r.id == 0x0B0B for r in replies)
        assert all(len(r.raw) <= 65535 for r in replies)
        # The question is in the first message; later ones may carry it or not.
        assert replies[0].counts[0] == 1
        assert all(r.counts[0] in (0, 1) for r in replies)
        lines = transfer_records(replies)
        assert_soa_first_and_last(lines)
        want = zone_file_records(bulk, "bulk.test.")
        assert len(lines) == len(want) + 1
        assert sorted(lines[:-1]) == sorted(want)


def test_axfr_for_name_that_is_not_a_zone_apex_is_notauth(xfr_allowed):
    for qname in ("www.xfr.test.", "ns1.xfr.test."):
        replies = axfr_messages(xfr_allowed.v4, qname)
        assert len(replies) == 1
        r = replies[0]
        assert r.rcode == dns.rcode.NOTAUTH, r
        assert r.answer == [], r


def test_axfr_for_name_outside_our_zones_is_not_served(xfr_allowed):
    replies = axfr_messages(xfr_allowed.v4, "example.invalid.")
    assert len(replies) == 1
    assert replies[0].rcode in (dns.rcode.NOTAUTH, dns.rcode.REFUSED), replies[0]
    assert replies[0].answer == []


def test_query_pipelined_after_axfr_is_answered(xfr_allowed):
    q = make_query("www.alpha.test.", "A", qid=0x0C0C)
    replies, rest = axfr_messages(xfr_allowed.v4, "xfr.test.", qid=0x0D0D,
                                  extra_after=tcp_frame(q.to_wire()))
    assert_soa_first_and_last(transfer_records(replies))
    assert len(rest) == 1
    (qid,) = struct.unpack("!H", rest[0][:2])
    assert qid == 0x0C0C
    r = Reply(rest[0], q.to_wire(), "tcp")
    assert r.answer == norm(["www.alpha.test. 3600 IN A 192.0.2.80"])


def test_two_transfers_on_one_connection(xfr_allowed):
    q1 = make_query("xfr.test.", "AXFR", qid=1)
    q2 = make_query("xfr.test.", "AXFR", qid=2)
    with tcp_connect(xfr_allowed.v4, 30) as s:
        s.sendall(tcp_frame(q1.to_wire()) + tcp_frame(q2.to_wire()))
        for qid in (1, 2):
            soas = 0
            while soas < 2:
                raw = tcp_read_message(s)
                assert struct.unpack("!H", raw[:2])[0] == qid
                soas += sum(1 for rs in Reply(raw).msg.answer if rs.rdtype == dns.rdatatype.SOA)


def test_ixfr_over_tcp_gets_a_full_transfer(xfr_allowed):
    # The client's serial predates the journal (the zone was only imported):
    # the answer is the whole zone, AXFR-style (RFC 1995 4).
    import dns.rrset
    q = make_query("xfr.test.", "IXFR")
    q.authority.append(dns.rrset.from_text("xfr.test.", 0, "IN", "SOA",
                                           "ns1.xfr.test. hostmaster.xfr.test. 1 1 1 1 1"))
    wire = q.to_wire()
    with tcp_connect(xfr_allowed.v4, 30) as s:
        s.sendall(tcp_frame(wire))
        lines = []
        soas = 0
        while soas < 2:
            r = Reply(tcp_read_message(s))
            assert r.rcode == dns.rcode.NOERROR, r
            part = section_lines(r.msg.answer)
            soas += sum(1 for line in part if " SOA " in line)
            lines.extend(part)
    assert_soa_first_and_last(lines)
    assert sorted(lines[:-1]) == sorted(zone_file_records(ZONES_DIR / "xfr.test.zone",
                                                          "xfr.test."))


def test_ixfr_with_current_serial_gets_the_soa_alone(own_db, daemon_factory):
    # RFC 1995 2: a client that is up to date gets the current SOA only.
    import dns.rrset
    r = run_ctl(own_db, "zone", "transfer-acl", "xfr.test", "127.0.0.1")
    assert r.rc == 0, r
    d = daemon_factory(own_db)
    q = make_query("xfr.test.", "IXFR", qid=0x1111)
    q.authority.append(dns.rrset.from_text(
        "xfr.test.", 0, "IN", "SOA", "ns1.xfr.test. hostmaster.xfr.test. 2024060102 1 1 1 1"))
    probe = make_query("www.beta.test.", "A", qid=0x2222)
    with tcp_connect(d.v4, 10) as s:
        s.sendall(tcp_frame(q.to_wire()))
        r = Reply(tcp_read_message(s))
        assert r.id == 0x1111 and r.rcode == dns.rcode.NOERROR and r.aa, r
        assert section_lines(r.msg.answer) == norm([
            "xfr.test. 600 IN SOA ns1.xfr.test. hostmaster.xfr.test. 2024060102 3600 900 "
            "604800 60"])
        s.sendall(tcp_frame(probe.to_wire()))
        try:
            nxt = Reply(tcp_read_message(s))
        except (ConnectionError, OSError) as e:
            raise AssertionError(f"connection lost after an up-to-date IXFR: {e}; "
                                 f"daemon alive: {d.alive()}\n{d.log_tail()}")
        assert nxt.id == 0x2222, nxt
    assert d.alive(), f"certdnsd died after an up-to-date IXFR:\n{d.log_tail()}"


def xfr_soa(serial):
    return (f"xfr.test. 600 IN SOA ns1.xfr.test. hostmaster.xfr.test. {serial} 3600 900 "
            "604800 60")


def ixfr_query(serial, qid=None):
    import dns.rrset
    q = make_query("xfr.test.", "IXFR", qid=qid)
    q.authority.append(dns.rrset.from_text(
        "xfr.test.", 0, "IN", "SOA", f"ns1.xfr.test. hostmaster.xfr.test. {serial} 1 1 1 1"))
    return q


def test_ixfr_after_record_edits_sends_the_differences(own_db, daemon_factory):
    assert run_ctl(own_db, "zone", "transfer-acl", "xfr.test", "127.0.0.1").rc == 0
    d = daemon_factory(own_db)
    r = run_ctl(own_db, "record", "add", "xfr.test", "new 600 A 192.0.2.99")
    assert r.rc == 0 and "2024060103" in r.stdout, r
    r = run_ctl(own_db, "record", "delete", "xfr.test", "mail A 192.0.2.2")
    assert r.rc == 0 and "2024060104" in r.stdout, r
    q = ixfr_query(2024060102, qid=0x1F1F)
    lines = []
    with tcp_connect(d.v4, 30) as s:
        s.sendall(tcp_frame(q.to_wire()))
        while True:
            r = Reply(tcp_read_message(s))
            assert r.id == 0x1F1F and r.rcode == dns.rcode.NOERROR and r.aa, r
            lines.extend(section_lines(r.msg.answer))
            if len(lines) > 1 and lines[-1] == norm([xfr_soa(2024060104)])[0]:
                break
    # RFC 1995 4: new SOA, then per change: old SOA, deletions, new SOA,
    # additions; the new SOA again at the end.
    assert lines == norm([xfr_soa(2024060104),
                          xfr_soa(2024060102), xfr_soa(2024060103),
                          "new.xfr.test. 600 IN A 192.0.2.99",
                          xfr_soa(2024060103), "mail.xfr.test. 600 IN A 192.0.2.2",
                          xfr_soa(2024060104),
                          xfr_soa(2024060104)])
    # An AXFR now has the edited data.
    full = transfer_records(axfr_messages(d.v4, "xfr.test."))
    assert norm(["new.xfr.test. 600 IN A 192.0.2.99"])[0] in full
    assert norm(["mail.xfr.test. 600 IN A 192.0.2.2"])[0] not in full


@pytest.mark.parametrize("family", [4, 6])
def test_ixfr_over_udp_answers_the_current_soa(xfr_allowed, family):
    # RFC 1995 2: over UDP, the current SOA alone (the client then uses TCP).
    q = ixfr_query(1)
    wire = q.to_wire()
    r = query_udp(xfr_allowed.addr(family), wire)
    check_common(r, wire, False)
    assert r.rcode == dns.rcode.NOERROR and r.aa, r
    assert r.answer == norm([xfr_soa(2024060102)]), r


def test_ixfr_over_udp_for_non_apex_or_foreign_name(xfr_allowed):
    import dns.rrset
    for qname, rcodes in (("www.xfr.test.", (dns.rcode.NOTAUTH,)),
                          ("example.invalid.", (dns.rcode.NOTAUTH, dns.rcode.REFUSED))):
        q = make_query(qname, "IXFR")
        q.authority.append(dns.rrset.from_text(qname, 0, "IN", "SOA", ". . 1 1 1 1 1"))
        r = query_udp(xfr_allowed.v4, q.to_wire())
        assert r.rcode in rcodes and r.answer == [], r
