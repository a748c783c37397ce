"""certdnsd as a process: options, exit codes, signals, --udp-payload."""

import signal
import subprocess

import dns.rcode
import pytest

from dnstest import (BIN, MEDIUM_TXT, expect, make_query, pick_free_port, query_tcp, query_udp,
                     tcp_connect, tcp_frame, wait_closed)


def run_daemon(*args, timeout=20):
    return subprocess.run([BIN["certdnsd"]] + list(args), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("opt", ["--help", "-h", "--version", "-V"])
def test_help_and_version_exit_0(opt):
    r = run_daemon(opt)
    assert r.returncode == 0 and r.stdout.strip(), r


@pytest.mark.parametrize("args", [
    ["--workers", "0"],
    ["--workers", "many"],
    ["--udp-payload", "511"],
    ["--udp-payload", "4097"],
    ["--udp-payload", "1024K"],
    ["--udp-payload", "5K"],
    ["--tcp-idle-timeout", "0"],
    ["--tcp-max-clients", "0"],
    ["--listen", "not-an-address"],
    ["--listen", "127.0.0.1:99999"],
    ["--listen", "[::1"],
    ["--map-size", "1K"],
    ["--bogus"],
    ["unexpected-argument"],
], ids=lambda a: " ".join(a))
def test_bad_options_exit_2(tmp_path, args):
    r = run_daemon("--db", str(tmp_path), "--listen", f"127.0.0.1:{pick_free_port()}", *args)
    assert r.returncode == 2, r
    assert r.stderr.strip(), r


def test_database_that_cannot_be_opened_exits_1(tmp_path):
    r = run_daemon("--db", str(tmp_path / "missing" / "deeper"),
                   "--listen", f"127.0.0.1:{pick_free_port()}", "--workers", "1")
    assert r.returncode == 1, r
    assert "database" in r.stderr, r


def test_port_in_use_exits_1_with_a_message(server, tmp_path):
    r = run_daemon("--db", str(tmp_path), "--listen", f"127.0.0.1:{server.port}",
                   "--workers", "1")
    assert r.returncode == 1, r
    assert "in use" in r.stderr, r
    # The first daemon is unharmed.
    assert query_udp(server.v4, make_query("www.alpha.test.", "A")).rcode == dns.rcode.NOERROR


def test_empty_database_refuses_everything(db_dir, daemon_factory):
    d = daemon_factory(db_dir)
    for q in (query_udp(d.v4, make_query("www.alpha.test.", "A")),
              query_tcp(d.v6, make_query(".", "SOA"))):
        assert q.rcode == dns.rcode.REFUSED and not q.aa, q


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_with_open_connections_exits_0(make_zone_db, daemon_factory, sig):
    d = daemon_factory(make_zone_db())
    idle = tcp_connect(d.v4)
    partial = tcp_connect(d.v6)
    partial.sendall(b"\x00\x40\x12\x34")
    busy = tcp_connect(d.v4)
    busy.sendall(tcp_frame(make_query("big.alpha.test.", "TXT").to_wire()) * 20)
    try:
        rc = d.stop(sig)
        d.assert_clean_exit(rc)
        assert "stopped" in d.log()
        assert wait_closed(idle, 10) and wait_closed(partial, 10)
    finally:
        for s in (idle, partial, busy):
            s.close()


def test_udp_payload_option_sets_advertised_size_and_limit(make_zone_db, daemon_factory):
    d = daemon_factory(make_zone_db(), extra_args=["--udp-payload", "512"])
    r = query_udp(d.v4, make_query("medium.alpha.test.", "TXT", edns=0, payload=4096))
    assert r.msg.payload == 512, r
    assert r.tc and len(r.raw) <= 512, r
    r = query_tcp(d.v4, make_query("medium.alpha.test.", "TXT", edns=0))
    assert r.msg.payload == 512 and not r.tc and len(r.answer) == 8, r


def test_udp_payload_4096_allows_bigger_answers(make_zone_db, daemon_factory):
    d = daemon_factory(make_zone_db(), extra_args=["--udp-payload", "4096"])
    # medium (~930 bytes) fits a 4096 client; big (~8.5 KB) still does not.
    r = query_udp(d.v6, make_query("medium.alpha.test.", "TXT", edns=0, payload=4096))
    assert r.msg.payload == 4096, r
    expect(r, aa=True, tc=False, answer=MEDIUM_TXT)
    r = query_udp(d.v6, make_query("big.alpha.test.", "TXT", edns=0, payload=4096))
    assert r.tc and len(r.raw) <= 4096, r
    # The client's smaller size still rules.
    r = query_udp(d.v6, make_query("medium.alpha.test.", "TXT", edns=0, payload=600))
    assert r.tc and len(r.raw) <= 600, r
    r = query_udp(d.v6, make_query("medium.alpha.test.", "TXT"))
    assert r.tc and len(r.raw) <= 512, r


def test_single_worker_serves_both_families(make_zone_db, daemon_factory):
    d = daemon_factory(make_zone_db(), workers=1)
    for addr in (d.v4, d.v6):
        assert query_udp(addr, make_query("www.alpha.test.", "A")).rcode == dns.rcode.NOERROR
        assert query_tcp(addr, make_query("www.alpha.test.", "A")).rcode == dns.rcode.NOERROR
