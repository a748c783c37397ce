"""
Memory errors and leaks under valgrind (memcheck), with the plain build.

certdnsd runs under valgrind through a start / a varied set of queries over UDP
and TCP / a control-socket status / SIGTERM cycle, and must exit 0 with no
memcheck error: no invalid read or write, no use of uninitialised memory, no
definitely or indirectly lost block.  certdnsctl's zone import, record add and
zone show are held to the same rule.  ("Still reachable" and "possibly lost"
blocks are not errors: libraries' process-lifetime state and thread stacks.)

Skipped under the sanitizer build (valgrind cannot run ASan binaries; that
build finds the same bugs itself) and when valgrind is not installed
(contrib/install-deps.sh installs it).
"""

import re
import shutil
import struct
import subprocess

import dns.rcode
import pytest

import dnstest
from dnstest import (ALPHA_NEG_SOA, BIN, ZONES_DIR, Daemon, axfr_messages, encode_name, expect,
                     header, make_query, opt_rr, query_tcp, query_udp, raw_query, run_ctl,
                     tcp_connect, tcp_frame, tcp_read_message, udp_collect)

VALGRIND = shutil.which("valgrind")
ERROR_EXIT = 86          # valgrind's status when it found an error (the programs never use it)


def built_with_sanitizers(path):
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


pytestmark = [
    pytest.mark.skipif(VALGRIND is None,
                       reason="valgrind missing (package valgrind; contrib/install-deps.sh)"),
    pytest.mark.skipif(built_with_sanitizers(dnstest.CERTDNSD),
                       reason="certdnsd is built with ASan: valgrind cannot run it, and the "
                              "sanitizer build reports memory errors and leaks itself"),
]


def valgrind_argv(log_file):
    return [VALGRIND, "--tool=memcheck", "--leak-check=full",
            "--show-leak-kinds=definite,indirect", "--errors-for-leak-kinds=definite,indirect",
            f"--error-exitcode={ERROR_EXIT}", "--num-callers=30", f"--log-file={log_file}"]


def assert_valgrind_clean(rc, log_text, what):
    """rc and valgrind's log of one program run: exit 0, no error, nothing lost."""
    assert "Invalid read" not in log_text and "Invalid write" not in log_text, \
        f"{what}: invalid memory access:\n{log_text}"
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", log_text)
    assert summary, f"{what}: valgrind printed no error summary (did it run?):\n{log_text}"
    assert summary.group(1) == "0", f"{what}: valgrind found errors:\n{log_text}"
    for kind in ("definitely lost", "indirectly lost"):
        m = re.search(kind + r": ([\d,]+) bytes", log_text)
        assert m is None or m.group(1) == "0", f"{what}: {kind} memory:\n{log_text}"
    assert rc == 0, f"{what} exited with status {rc}:\n{log_text}"


class ValgrindDaemon(Daemon):
    def __init__(self, db_dir, log_dir):
        super().__init__(db_dir, log_dir, workers=2, name="valgrind-certdnsd")
        self.valgrind_log = self.log_path.with_name("valgrind-certdnsd.memcheck")

    def argv(self, port):
        return valgrind_argv(self.valgrind_log) + super().argv(port)


@pytest.fixture
def slow_start_and_stop(monkeypatch):
    # A program under memcheck runs tens of times slower: wider liveness bounds.
    monkeypatch.setattr(dnstest, "START_TIMEOUT", 180.0)
    monkeypatch.setattr(dnstest, "STOP_TIMEOUT", 180.0)
    monkeypatch.setattr(dnstest, "QUERY_TIMEOUT", 60.0)


def ask_udp(d, q):
    return query_udp(d.v4, q, timeout=60)


def ask_tcp(d, q):
    return query_tcp(d.v6, q, timeout=60)


def send_the_query_mix(d):
    """Answers of every kind, over both transports, then AXFR and malformed input."""
    www = ["www.alpha.test. 3600 IN A 192.0.2.80"]
    for ask in (ask_udp, ask_tcp):
        for edns in (None, 0):
            expect(ask(d, make_query("www.alpha.test.", "A", edns=edns)), aa=True, answer=www)
            expect(ask(d, make_query("nothere.alpha.test.", "A", edns=edns)),
                   rcode=dns.rcode.NXDOMAIN, aa=True, answer=[], authority=[ALPHA_NEG_SOA])
            expect(ask(d, make_query("cname1.alpha.test.", "A", edns=edns)), aa=True,
                   answer=["cname1.alpha.test. 3600 IN CNAME cname2.alpha.test.",
                           "cname2.alpha.test. 3600 IN CNAME www.alpha.test."] + www)
            expect(ask(d, make_query("foo.wild.alpha.test.", "A", edns=edns)), aa=True,
                   answer=["foo.wild.alpha.test. 3600 IN A 192.0.2.200"])
            r = ask(d, make_query("host.sub.alpha.test.", "A", edns=edns))
            assert r.rcode == dns.rcode.NOERROR and not r.aa and r.authority, r
            r = ask(d, make_query("loop-a.alpha.test.", "A", edns=edns))
            assert r.rcode == dns.rcode.NOERROR and r.answer, r
            r = ask(d, make_query("www.not-hosted.invalid.", "A", edns=edns))
            assert r.rcode == dns.rcode.REFUSED, r
            r = ask(d, make_query("big.alpha.test.", "TXT", edns=edns))
            assert r.tc == (ask is ask_udp), r
        r = ask(d, make_query("www.alpha.test.", "AAAA", edns=0, do=True, payload=4096))
        assert r.rcode == dns.rcode.NOERROR and r.msg.edns == 0, r
        r = ask(d, make_query("www.alpha.test.", "A", edns=1))
        assert r.rcode == dns.rcode.BADVERS, r
        cookie = opt_rr(rdata=struct.pack("!HH", 10, 8) + b"\x01" * 8)     # an option
        r = ask(d, header(0x1234, ar=1) + encode_name("www.alpha.test.")
                + struct.pack("!HH", 1, 1) + cookie)
        assert r.rcode == dns.rcode.NOERROR and r.answer and r.has_opt, r

    replies = axfr_messages(d.v4, "xfr.test.", timeout=120)
    assert replies[-1].rcode == dns.rcode.NOERROR and len(replies) > 1, replies[-1]
    r = axfr_messages(d.v4, "alpha.test.", timeout=120)
    assert r[-1].rcode == dns.rcode.REFUSED, r[-1]

    www_wire = encode_name("www.alpha.test.")
    question = struct.pack("!HH", 1, 1)
    malformed = [
        b"",
        b"\xba\xd0\x01",
        header(0xBAD0, qd=0),
        header(0xBAD0, qd=2) + www_wire + question,
        header(0xBAD0) + b"\xc0\x0c" + question,
        header(0xBAD0) + b"\xc3\xff" + question,
        header(0xBAD0) + b"\x40" + b"a" * 64 + b"\x00" + question,
        header(0xBAD0, ar=1) + www_wire + question + opt_rr()[:7],
        header(0xBAD0, ar=2) + www_wire + question + opt_rr() + opt_rr(),
        header(0xBAD0, flags=0x8000) + www_wire + question,
        header(0xBAD0, flags=0x7800) + www_wire + question,
        raw_query("www.alpha.test.", tail=b"\xff" * 40),
    ]
    probe = make_query("www.alpha.test.", "A", qid=0x5EED).to_wire()
    _, answer = udp_collect(d.v4, malformed, probe, timeout=60)
    assert answer is not None
    with tcp_connect(d.v4, timeout=60) as s:
        s.sendall(b"".join(tcp_frame(m) for m in malformed if len(m) >= 12) + tcp_frame(probe))
        while struct.unpack("!H", tcp_read_message(s)[:2])[0] != 0x5EED:
            pass
    with tcp_connect(d.v6, timeout=60) as s:        # a message cut short, then hang up
        s.sendall(b"\x00\x40" + probe[:20])


def test_daemon_query_cycle_has_no_memory_errors_or_leaks(make_zone_db, tmp_path,
                                                          slow_start_and_stop):
    db = make_zone_db()
    r = run_ctl(db, "zone", "transfer-acl", "xfr.test.", "127.0.0.1")
    assert r.rc == 0, r
    d = ValgrindDaemon(db, tmp_path).start()
    try:
        send_the_query_mix(d)
        st = run_ctl(db, "status", timeout=120)
        assert st.rc == 0 and "running" in st.stdout, st
        add = run_ctl(db, "record", "add", "alpha.test.", "grind 60 A 192.0.2.99")
        assert add.rc == 0, add
        expect(ask_udp(d, make_query("grind.alpha.test.", "A")), aa=True,
               answer=["grind.alpha.test. 60 IN A 192.0.2.99"])
    finally:
        rc = d.stop()
    assert rc is not None, f"certdnsd under valgrind did not stop:\n{d.log_tail()}"
    assert_valgrind_clean(rc, d.valgrind_log.read_text(errors="replace"), "certdnsd")
    assert "stopped" in d.log(), d.log_tail()


def run_ctl_under_valgrind(db, tmp_path, name, *args):
    log = tmp_path / f"{name}.memcheck"
    argv = valgrind_argv(log) + [BIN["certdnsctl"], "--db", str(db)] + [str(a) for a in args]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=600)
    assert_valgrind_clean(p.returncode, log.read_text(errors="replace"),
                          f"certdnsctl {' '.join(map(str, args))} (stderr: {p.stderr})")
    return p


def test_certdnsctl_import_add_show_have_no_memory_errors_or_leaks(db_dir, tmp_path):
    run_ctl_under_valgrind(db_dir, tmp_path, "import", "zone", "import",
                           ZONES_DIR / "alpha.test.zone")
    run_ctl_under_valgrind(db_dir, tmp_path, "add", "record", "add", "alpha.test.",
                           "grind 60 A 192.0.2.99", 'grind 60 TXT "under valgrind"')
    p = run_ctl_under_valgrind(db_dir, tmp_path, "show", "zone", "show", "alpha.test.")
    assert "alpha.test" in p.stdout, p.stdout
