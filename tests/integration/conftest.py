"""
Fixtures of the certdns integration suite.

  db_dir          a fresh, empty database directory (per test)
  ctl             runs certdnsctl against a database: ctl(*args, db=DIR) -> CtlResult
  zone_db         a session database holding every zone in zones/ plus bulk.test
  make_zone_db    makes another such database (certdnsd allows one daemon per database)
  server          the session's certdnsd serving zone_db on a random port
  daemon_factory  starts further daemons (own options); stopped and checked after the test
  transport       parametrized: UDP and TCP, each with and without EDNS (IPv4 and IPv6 mixed)
  kdig, dig       run the tools against the session server -> CompletedProcess

Every daemon is stopped with SIGTERM on teardown; it must exit 0 within a few
seconds and must not have printed sanitizer reports.
"""

import shutil
import tempfile

import pytest

import dnstest
from dnstest import CERTDNSCTL, CERTDNSD, TRANSPORTS, ZONES_DIR, Daemon, import_zone, run_ctl

BULK_NAMES = 5000


def pytest_report_header(config):
    return [f"certdnsd: {CERTDNSD}", f"certdnsctl: {CERTDNSCTL}"]


_private_bin_dir = None


def pytest_sessionstart(session):
    global _private_bin_dir
    for tool in (CERTDNSD, CERTDNSCTL):
        if not shutil.which(tool):
            raise pytest.UsageError(f"{tool} is not an executable; build first or set "
                                    "CERTDNSD / CERTDNSCTL")
    _private_bin_dir = tempfile.mkdtemp(prefix="certdns-it-bin-")
    dnstest.use_private_copies(_private_bin_dir)


def pytest_sessionfinish(session, exitstatus):
    if _private_bin_dir is not None:
        shutil.rmtree(_private_bin_dir, ignore_errors=True)


@pytest.fixture
def db_dir(tmp_path):
    d = tmp_path / "db"
    d.mkdir()
    return d


@pytest.fixture
def ctl(db_dir):
    """ctl(*args, db=None): certdnsctl --db DB ARGS (default: this test's db_dir)."""
    def run(*args, db=None):
        return run_ctl(db if db is not None else db_dir, *args)
    return run


def write_bulk_zone(path, names=BULK_NAMES):
    """bulk.test: enough names that a transfer needs several messages."""
    lines = ["$ORIGIN bulk.test.", "$TTL 300",
             "@ IN SOA ns1.bulk.test. hostmaster.bulk.test. 99 3600 600 86400 300",
             "@ IN NS ns1", "ns1 IN A 192.0.2.1"]
    for i in range(names):
        lines.append(f"host{i:05d} IN A 10.{(i >> 8) & 255}.{i & 255}.1")
        if i % 10 == 0:
            lines.append(f'host{i:05d} IN TXT "bulk record number {i}"')
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def zone_files(tmp_path_factory):
    files = sorted(ZONES_DIR.glob("*.zone"))
    assert files, f"no zone files in {ZONES_DIR}"
    bulk = write_bulk_zone(tmp_path_factory.mktemp("bulk") / "bulk.test.zone")
    return files + [bulk]


@pytest.fixture(scope="session")
def make_zone_db(tmp_path_factory, zone_files):
    """make_zone_db(): a new database holding every test zone (one daemon per database)."""
    def make():
        d = tmp_path_factory.mktemp("zone-db")
        for f in zone_files:
            import_zone(d, f)
        return d
    return make


@pytest.fixture(scope="session")
def zone_db(make_zone_db):
    """The session server's database."""
    return make_zone_db()


@pytest.fixture(scope="session")
def server(zone_db, tmp_path_factory):
    d = Daemon(zone_db, tmp_path_factory.mktemp("server-log"), name="session").start()
    yield d
    d.stop_and_check()


@pytest.fixture
def daemon_factory(tmp_path):
    started = []

    def start(db, extra_args=(), workers=2):
        d = Daemon(db, tmp_path, extra_args=extra_args, workers=workers,
                   name=f"daemon{len(started)}")
        started.append(d)
        return d.start()

    yield start
    dnstest.stop_all_and_check(started)


@pytest.fixture(params=TRANSPORTS, ids=lambda t: t.id)
def transport(request):
    return request.param


@pytest.fixture
def kdig(server):
    """kdig(*args, family=4) against the session server -> CompletedProcess."""
    def run(*args, family=4):
        return dnstest.kdig(server, *args, family=family)
    return run


@pytest.fixture
def dig(server):
    def run(*args, family=4):
        return dnstest.dig(server, *args, family=family)
    return run


@pytest.fixture(autouse=True)
def _server_still_alive(request):
    """After each test using the session server, it must still be running."""
    yield
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        assert srv.alive(), f"certdnsd died during the test:\n{srv.log_tail()}"
