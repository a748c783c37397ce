#!/usr/bin/python3
"""Benchmark driver: certdnsd vs Knot DNS vs NSD on loopback, one core each.

Called by tests/bench/bench.sh (which documents the environment variables).
Every server runs on CPU 0 (taskset), dnsperf on CPU 1; runs are interleaved
(A B C A B C ...) and the report gives medians.  Besides: a certdns UDP run
while certdnsctl commits changes to the zone, the in-process answer cost
(answer_bench), and a phase with two workers per server, unpinned.
See doc/benchmarks.md.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import selectors
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

SERVER_CPU = "0"
CLIENT_CPU = "1"
ORIGIN = "bench.test."
HERE = os.path.dirname(os.path.abspath(__file__))


class BenchError(Exception):
    pass


class Interrupted(BaseException):
    pass


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


def env_float(name, default):
    v = os.environ.get(name, "")
    return float(v) if v.strip() else default


# ---------------------------------------------------------------- processes

class ProcessRegistry:
    """Every process group we start, also written to a file that bench.sh's
    trap reads, so nothing outlives the benchmark."""

    def __init__(self, pidfile):
        self.pidfile = pidfile
        self.groups = []

    def _write(self):
        tmp = self.pidfile + ".tmp"
        with open(tmp, "w") as f:
            for g in self.groups:
                f.write("%d\n" % g)
        os.rename(tmp, self.pidfile)

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.groups.append(p.pid)
        self._write()
        return p

    def forget(self, pid):
        if pid in self.groups:
            self.groups.remove(pid)
            self._write()

    def kill_all(self):
        for g in list(self.groups):
            try:
                os.killpg(g, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.time() + 5
        for g in list(self.groups):
            while time.time() < deadline and session_pids(g):
                time.sleep(0.05)
            try:
                os.killpg(g, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.groups = []
        self._write()


def read_stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    return rest   # rest[0] = state, rest[3] = session, rest[11]=utime, rest[12]=stime


def session_pids(sid):
    """Live processes (not zombies) whose session is sid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = read_stat(int(d))
        except (OSError, ValueError):
            continue
        if int(st[3]) == sid and st[0] != "Z":
            out.append(int(d))
    return sorted(out)


def tids(pid):
    try:
        return sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))
    except OSError:
        return []


def cpu_seconds(pids):
    return sum(cpu_split(pids))


def cpu_split(pids):
    """(user, system) CPU seconds used so far by the processes."""
    tck = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for p in pids:
        try:
            st = read_stat(p)
            user += int(st[11])
            system += int(st[12])
        except (OSError, ValueError):
            pass
    return user / tck, system / tck


def thread_cpu(pids):
    """{(pid, tid): (thread name, CPU ticks)} for every thread of the processes."""
    out = {}
    for p in pids:
        for t in tids(p):
            try:
                with open("/proc/%d/task/%d/stat" % (p, t)) as f:
                    s = f.read()
            except OSError:
                continue
            name = s[s.index("(") + 1:s.rindex(")")]
            rest = s[s.rindex(")") + 2:].split()
            out[(p, t)] = (name, int(rest[11]) + int(rest[12]))
    return out


def cpu_list(mask):
    """Affinity mask -> "0", "1", "0-1", "0,2" ..."""
    cpus = [i for i in range(64) if mask >> i & 1]
    if len(cpus) > 1 and cpus == list(range(cpus[0], cpus[-1] + 1)):
        return "%d-%d" % (cpus[0], cpus[-1])
    return ",".join(str(c) for c in cpus)


def proc_cpu_times():
    """{cpuN: (busy, total, steal)} from /proc/stat, in ticks."""
    res = {}
    with open("/proc/stat") as f:
        for line in f:
            if not re.match(r"cpu\d", line):
                continue
            parts = line.split()
            v = [int(x) for x in parts[1:]]
            total = sum(v[:8])
            idle = v[3] + v[4]
            res[parts[0]] = (total - idle, total, v[7] if len(v) > 7 else 0)
    return res


def memory(pids):
    """Sum over the server's processes of VmRSS, RssAnon, RssFile and Pss, in bytes."""
    m = {"rss": 0, "anon": 0, "file": 0, "pss": 0}
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "RssAnon", "RssFile"):
                        key = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file"}[k]
                        m[key] += int(v.split()[0]) * 1024
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        m["pss"] += int(line.split()[1]) * 1024
        except OSError:
            pass
    return m


def du_bytes(path):
    out = subprocess.run(["du", "-s", "--block-size=1", path], capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.returncode == 0 else None


# ---------------------------------------------------------------- ports

def port_in_use(port):
    for proto in ("-Hlnu", "-Hlnt"):
        out = subprocess.run(["ss", proto, "sport = :%d" % port], capture_output=True, text=True)
        if out.stdout.strip():
            return True
    # Also try to bind (without SO_REUSEPORT): fails if anyone holds it.
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        finally:
            s.close()
    return False


def free_port(taken):
    rnd = random.Random()
    for _ in range(500):
        p = rnd.randrange(20000, 60000)
        if p not in taken and not port_in_use(p):
            taken.add(p)
            return p
    raise BenchError("no free loopback port found")


def port_owners(port):
    """PIDs listening on the UDP/TCP port (from ss -p)."""
    pids = set()
    for proto in ("-Hlnup", "-Hlntp"):
        out = subprocess.run(["ss", proto, "sport = :%d" % port], capture_output=True, text=True)
        pids.update(int(x) for x in re.findall(r"pid=(\d+)", out.stdout))
    return pids


def udp_socket_info(port):
    """(receive buffer bytes, kernel drop count) summed over the UDP sockets on port."""
    out = subprocess.run(["ss", "-Hlnum", "sport = :%d" % port], capture_output=True, text=True)
    rb = sum(int(x) for x in re.findall(r"\brb(\d+)", out.stdout))
    drops = sum(int(x) for x in re.findall(r"\bd(\d+)\)", out.stdout))
    return rb, drops


# ---------------------------------------------------------------- DNS probe

def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def probe_soa(port, timeout=0.02):
    """True if the server answers SOA for the origin authoritatively with NOERROR."""
    qid = random.randrange(65536)
    pkt = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + encode_name(ORIGIN) + struct.pack("!HH", 6, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(pkt, ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
    except OSError:
        return False
    finally:
        s.close()
    if len(data) < 12:
        return False
    rid, flags, _, an = struct.unpack("!HHHH", data[:8])
    return rid == qid and (flags & 0x0400) and (flags & 0xF) == 0 and an >= 1


# ---------------------------------------------------------------- servers

class Server:
    name = "?"
    label = "?"

    def __init__(self, bench, port):
        self.b = bench
        self.port = port
        self.dir = os.path.join(bench.workdir, "run", self.name)
        self.proc = None
        self.stderr_path = os.path.join(self.dir, "server.log")
        self.repins = 0
        self.notes = []
        self.workers = 1        # UDP workers (the two-worker phase sets 2)
        self.pinned = True      # on CPU 0 (taskset); unpinned in the two-worker phase
        self.affinity_seen = {}   # unpinned: (thread name, CPU list) -> thread ids

    def reset_dir(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)

    def argv(self):
        raise NotImplementedError

    def prepare(self):
        """Per-round preparation before start (configs, offline load). Returns metrics."""
        return {}

    def start(self):
        if port_in_use(self.port):
            raise BenchError("%s: port %d is already in use" % (self.name, self.port))
        # Write back whatever earlier steps left dirty (the previous round's database,
        # its removal, generated files) so that it is not charged to this server's
        # load: certdns's import ends with an fdatasync that would wait for it.
        os.sync()
        metrics = self.prepare()
        errf = open(self.stderr_path, "a")
        t0 = time.monotonic()
        pin = ["taskset", "-c", SERVER_CPU] if self.pinned else []
        self.proc = self.b.reg.spawn(pin + self.argv(),
                                     stdout=errf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        errf.close()
        deadline = t0 + 900
        while not probe_soa(self.port):
            if self.proc.poll() is not None:
                raise BenchError("%s exited with status %s while starting; see %s"
                                 % (self.name, self.proc.returncode, self.stderr_path))
            if time.monotonic() > deadline:
                raise BenchError("%s did not answer within 900 s" % self.name)
            time.sleep(0.01)
        metrics["start_to_answer_s"] = time.monotonic() - t0
        owners = port_owners(self.port)
        ours = set(self.pids())
        if not owners or not owners <= ours:
            raise BenchError("%s: port %d is held by pids %s, not only by ours %s"
                             % (self.name, self.port, sorted(owners), sorted(ours)))
        self.check_affinity("after start")
        metrics["mem_after_load"] = memory(self.pids())
        metrics["udp_rcvbuf"] = udp_socket_info(self.port)[0]
        return metrics

    def pids(self):
        return session_pids(self.proc.pid) if self.proc else []

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_affinity(self, when):
        """Every thread of every process must be on CPU 0 only; re-pin those that are not.
        Unpinned (two-worker phase): only note each thread's CPUs."""
        bad = []
        for p in self.pids():
            for t in tids(p):
                out = subprocess.run(["taskset", "-p", str(t)], capture_output=True, text=True)
                m = re.search(r"affinity mask: (\w+)", out.stdout)
                if not m:
                    continue   # thread gone
                if not self.pinned:
                    try:
                        with open("/proc/%d/task/%d/comm" % (p, t)) as f:
                            comm = f.read().strip()
                    except OSError:
                        continue
                    key = (comm, cpu_list(int(m.group(1), 16)))
                    self.affinity_seen.setdefault(key, set()).add(t)
                    continue
                if int(m.group(1), 16) != 1 << int(SERVER_CPU):
                    bad.append((t, m.group(1)))
                    subprocess.run(["taskset", "-p", "-c", SERVER_CPU, str(t)],
                                   capture_output=True)
        if bad:
            self.repins += len(bad)
            log("%s: %d thread(s) were not on CPU %s %s (masks %s); re-pinned"
                % (self.name, len(bad), SERVER_CPU, when, ",".join(m for _, m in bad)))
        return bad

    def stop(self):
        if self.proc is None:
            return
        pid = self.proc.pid
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(pid, signal.SIGKILL)
            self.proc.wait()
        deadline = time.time() + 10
        while session_pids(pid) and time.time() < deadline:
            time.sleep(0.05)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.b.reg.forget(pid)
        self.proc = None

    def disk(self):
        """(bytes, description)"""
        raise NotImplementedError

    def version(self):
        raise NotImplementedError


class Certdns(Server):
    name = "certdns"
    label = "certdns"

    def prepare(self):
        self.reset_dir()
        self.db = os.path.join(self.dir, "db")
        t0 = time.monotonic()
        out = subprocess.run(["taskset", "-c", SERVER_CPU, self.b.certdnsctl, "--db", self.db,
                              "zone", "import", "--origin", ORIGIN, self.b.zone],
                             capture_output=True, text=True)
        wall = time.monotonic() - t0
        if out.returncode != 0:
            raise BenchError("certdnsctl zone import failed (%d): %s%s"
                             % (out.returncode, out.stdout, out.stderr))
        m = re.search(r"imported .*: (\d+) records at (\d+) names.* in ([\d.]+) s", out.stdout)
        if not m:
            raise BenchError("cannot parse certdnsctl output: %r" % out.stdout)
        self.import_line = out.stdout.strip()
        return {"load_s": float(m.group(3)), "import_wall_s": wall,
                "records_loaded": int(m.group(1))}

    def argv(self):
        return [self.b.certdnsd, "--db", self.db, "--listen", "127.0.0.1:%d" % self.port,
                "--workers", str(self.workers)] + self.b.certdnsd_extra

    def disk(self):
        return du_bytes(self.db), "du of the LMDB directory"

    def version(self):
        out = subprocess.run([self.b.certdnsd, "--version"], capture_output=True, text=True)
        return out.stdout.strip()


class Knot(Server):
    name = "knot"
    label = "Knot"

    def prepare(self):
        self.reset_dir()
        self.conf = os.path.join(self.dir, "knot.conf")
        os.makedirs(os.path.join(self.dir, "storage"))
        with open(self.conf, "w") as f:
            f.write("""server:
    rundir: "{d}"
    pidfile: "{d}/knot.pid"
    listen: 127.0.0.1@{port}
    udp-workers: {workers}
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{d}/storage"
control:
    listen: "{d}/knot.sock"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "{d}/storage"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: {origin}
    file: "{zone}"
""".format(d=self.dir, port=self.port, origin=ORIGIN, zone=self.b.zone,
           workers=self.workers))
        # Offline check of the zone file (knotc zone-check works without a server).
        t0 = time.monotonic()
        out = subprocess.run(["taskset", "-c", SERVER_CPU, "knotc", "-c", self.conf,
                              "zone-check", ORIGIN], capture_output=True, text=True)
        check = time.monotonic() - t0
        if out.returncode != 0:
            raise BenchError("knotc zone-check failed: %s%s" % (out.stdout, out.stderr))
        return {"check_s": check}

    def start(self):
        metrics = super().start()
        metrics["load_s"] = metrics["start_to_answer_s"]
        return metrics

    def argv(self):
        return ["knotd", "-c", self.conf]

    def disk(self):
        return (os.path.getsize(self.b.zone),
                "zone file size (Knot serves from memory; its storage dir holds only "
                "timers/journal, %s)" % fmt_bytes(du_bytes(os.path.join(self.dir, "storage"))))

    def version(self):
        out = subprocess.run(["knotd", "--version"], capture_output=True, text=True)
        return out.stdout.strip().splitlines()[0]


class Nsd(Server):
    name = "nsd"
    label = "NSD"

    def prepare(self):
        self.reset_dir()
        self.conf = os.path.join(self.dir, "nsd.conf")
        with open(self.conf, "w") as f:
            f.write("""server:
    server-count: {workers}
    reuseport: {reuseport}
    ip-address: 127.0.0.1@{port}
    port: {port}
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    zonelistfile: "{d}/zone.list"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    pidfile: "{d}/nsd.pid"
    logfile: "{d}/nsd.log"
    verbosity: 1
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    zonefiles-write: 0
    minimal-responses: yes
remote-control:
    control-enable: no
zone:
    name: "{origin}"
    zonefile: "{zone}"
""".format(d=self.dir, port=self.port, origin=ORIGIN, zone=self.b.zone,
           workers=self.workers, reuseport="yes" if self.workers > 1 else "no"))
        out = subprocess.run(["nsd-checkconf", self.conf], capture_output=True, text=True)
        if out.returncode != 0:
            raise BenchError("nsd-checkconf: %s%s" % (out.stdout, out.stderr))
        t0 = time.monotonic()
        out = subprocess.run(["taskset", "-c", SERVER_CPU, "nsd-checkzone", ORIGIN, self.b.zone],
                             capture_output=True, text=True)
        check = time.monotonic() - t0
        if out.returncode != 0:
            raise BenchError("nsd-checkzone failed: %s%s" % (out.stdout, out.stderr))
        return {"check_s": check}

    def start(self):
        metrics = super().start()
        metrics["load_s"] = metrics["start_to_answer_s"]
        return metrics

    def argv(self):
        return ["nsd", "-d", "-c", self.conf]

    def disk(self):
        return (os.path.getsize(self.b.zone),
                "zone file size (NSD reads it at start with database \"\"; no nsd.db is built)")

    def version(self):
        out = subprocess.run(["nsd", "-v"], capture_output=True, text=True)
        return (out.stdout + out.stderr).strip().splitlines()[0]


SERVER_CLASSES = {"certdns": Certdns, "knot": Knot, "nsd": Nsd}


# ---------------------------------------------------------------- dnsperf

def parse_dnsperf(text):
    r = {}
    pats = {
        "sent": r"Queries sent:\s+(\d+)",
        "completed": r"Queries completed:\s+(\d+)",
        "lost": r"Queries lost:\s+(\d+)",
        "interrupted": r"Queries interrupted:\s+(\d+)",
        "qps": r"Queries per second:\s+([\d.]+)",
        "avg_latency": r"Average Latency \(s\):\s+([\d.]+)",
        "min_latency": r"Average Latency \(s\):\s+[\d.]+ \(min ([\d.]+)",
        "max_latency": r"Average Latency \(s\):.*max ([\d.]+)\)",
        "latency_stddev": r"Latency StdDev \(s\):\s+([\d.]+)",
        "run_time": r"Run time \(s\):\s+([\d.]+)",
        "reconnections": r"Reconnections:\s+(\d+)",
    }
    for k, p in pats.items():
        m = re.search(p, text)
        if m:
            r[k] = float(m.group(1)) if "." in m.group(1) else int(m.group(1))
    m = re.search(r"Response codes:\s+(.*)", text)
    r["rcodes"] = {}
    if m:
        for name, n in re.findall(r"([A-Z]+) (\d+) \(", m.group(1)):
            r["rcodes"][name] = int(n)
    return r


def percentile(sorted_vals, q):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(-(-q * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]


# ---------------------------------------------------------------- writer

class ZoneWriter:
    """One long-running `certdnsctl record batch ORIGIN -` on CPU 1, fed one change and a
    `commit` line per slot at a fixed rate.  certdnsctl prints one result line per commit
    (stdout; a failed commit ends with a `certdnsctl: ...` line on stderr): the time from
    writing `commit` to reading that line is the commit's latency.  Starting a certdnsctl
    per change would cost ~40 ms of CPU each, mostly library loading: that would measure
    process start-up, not LMDB."""

    def __init__(self, bench, server, rate, blocks):
        self.b = bench
        self.server = server
        self.rate = rate
        self.blocks = max(1, blocks)
        self.proc = None
        self.thread = None
        self.stopping = threading.Event()
        self.commits = []       # (t_sent, t_done, ok, new serial or None)
        self.errors = []        # stderr lines
        self.cpu_s = None
        self.buf = {"out": b"", "err": b""}
        self.failure = None     # set by the thread when certdnsctl exits or hangs

    def start(self):
        argv = ["taskset", "-c", CLIENT_CPU, self.b.certdnsctl, "--db", self.server.db,
                "record", "batch", ORIGIN, "-"]
        self.proc = self.b.reg.spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ, "out")
        self.sel.register(self.proc.stderr, selectors.EVENT_READ, "err")
        # The first commit, unpaced and unmeasured: certdnsctl has loaded and opened the
        # database once it answers.
        if not self.commit_one(0):
            self.stop()
            raise BenchError("certdnsctl record batch: the first commit failed: %s"
                             % (self.failure or "; ".join(self.errors[-3:])))
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def change(self, i):
        # A different address at every commit (10.128.0.0/9 is not in the zone), so each
        # commit changes the zone; the owners spread over the zone's h<k> names.
        k = (i * 7919) % self.blocks
        return "replace h%d 300 A 10.%d.%d.%d\ncommit\n" % (k, 128 + (i >> 16) % 128,
                                                           (i >> 8) & 255, i & 255)

    def read_result(self, timeout):
        """The next commit result: (ok, serial or None), or None on EOF or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for key in ("out", "err"):
                while b"\n" in self.buf[key]:
                    line, _, self.buf[key] = self.buf[key].partition(b"\n")
                    text = line.decode(errors="replace").strip()
                    if key == "out":
                        m = re.search(r"serial (\d+) -> (\d+)", text)
                        if m:
                            return True, int(m.group(2))
                        if "nothing to change" in text:
                            return False, None
                        continue
                    self.errors.append(text)
                    if text.startswith("certdnsctl:"):
                        return False, None
            left = deadline - time.monotonic()
            if left <= 0:
                self.failure = "no commit result within %.0f s" % timeout
                return None
            for k, _ in self.sel.select(left):
                data = os.read(k.fileobj.fileno(), 65536)
                if not data:
                    self.failure = "certdnsctl exited (status %s)" % self.proc.poll()
                    return None
                self.buf[k.data] += data

    def commit_one(self, i):
        t0 = time.monotonic()
        try:
            self.proc.stdin.write(self.change(i).encode())
            self.proc.stdin.flush()
        except OSError as e:
            self.failure = "cannot write to certdnsctl: %s" % e
            return False
        res = self.read_result(30)
        if res is None:
            return False
        self.commits.append((t0, time.monotonic(), res[0], res[1]))
        return res[0]

    def loop(self):
        period = 1.0 / self.rate
        nxt = time.monotonic()
        i = 1
        while not self.stopping.is_set():
            now = time.monotonic()
            if nxt > now:
                if self.stopping.wait(nxt - now):
                    break
            if not self.commit_one(i) and self.failure:
                break
            i += 1
            nxt += period
            if nxt < time.monotonic() - 1.0:
                nxt = time.monotonic()      # more than 1 s behind: no burst to catch up

    def stop(self):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(60)
        if self.proc is None:
            return
        self.cpu_s = cpu_seconds([self.proc.pid])
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for key, f in (("out", self.proc.stdout), ("err", self.proc.stderr)):
            rest = self.buf[key] + f.read()
            if key == "err":
                self.errors += [l for l in rest.decode(errors="replace").splitlines() if l]
            f.close()
        self.sel.close()
        self.b.reg.forget(self.proc.pid)

    def summary(self, t_start, t_end):
        """Commits that ended inside [t_start, t_end] (the dnsperf run)."""
        inside = [c for c in self.commits if t_start <= c[1] <= t_end]
        lat = sorted(c[1] - c[0] for c in inside)
        return {
            "commits_total": len(self.commits),
            "commits_ok_total": sum(1 for c in self.commits if c[2]),
            "commits_in_run": len(inside),
            "commits_failed_in_run": sum(1 for c in inside if not c[2]),
            "commits_per_s": len(inside) / (t_end - t_start) if t_end > t_start else None,
            "commit_mean": statistics.fmean(lat) if lat else None,
            "commit_p50": percentile(lat, 50),
            "commit_p99": percentile(lat, 99),
            "commit_max": lat[-1] if lat else None,
            "last_serial": next((c[3] for c in reversed(self.commits) if c[3]), None),
            "writer_cpu_s": self.cpu_s,
            "writer_errors": self.errors[:5],
            "writer_failure": self.failure,
        }


# ---------------------------------------------------------------- checks

def kdig_answer(port, name, qtype, mode="udp"):
    argv = ["taskset", "-c", CLIENT_CPU, "kdig", "@127.0.0.1", "-p", str(port), "+norec",
            "+nocookie", "+time=2", "+retry=1", name, qtype]
    argv.insert(-2, "+edns=0" if mode == "edns" else "+noedns")
    if mode == "tcp":
        argv.insert(-2, "+tcp")
    out = subprocess.run(argv, capture_output=True, text=True)
    text = out.stdout
    res = {"status": None, "flags": [], "answer": [], "authority": [], "additional": [],
           "error": None}
    m = re.search(r"status: (\w+)", text)
    if not m:
        res["error"] = (text + out.stderr).strip()[-300:]
        return res
    res["status"] = m.group(1)
    m = re.search(r";; Flags: ([^;]*);", text)
    res["flags"] = sorted(m.group(1).split()) if m else []
    section = None
    for line in text.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            section = "answer"
        elif line.startswith(";; AUTHORITY SECTION"):
            section = "authority"
        elif line.startswith(";; ADDITIONAL SECTION"):
            section = "additional"
        elif line.startswith(";;") or not line.strip():
            if line.startswith(";; Received") or line.startswith(";; Time"):
                section = None
            continue
        elif section:
            f = line.split()
            res[section].append(" ".join([f[0].lower()] + f[1:]))
    for s in ("answer", "authority", "additional"):
        res[s].sort()
    return res


def served_serial(port):
    """The SOA serial the server answers for the origin, or None."""
    r = kdig_answer(port, ORIGIN, "SOA")
    for rr in r["answer"]:
        f = rr.split()
        if len(f) >= 7 and f[3] == "SOA":
            return int(f[6])
    return None


def compare_answers(results):
    """results: {server: answer}. Returns (severe_diffs, minor_diffs) as text lines."""
    severe, minor = [], []
    names = list(results)
    ref = results[names[0]]
    for other in names[1:]:
        o = results[other]
        for key in ("error", "status", "flags", "answer", "authority"):
            if ref[key] != o[key]:
                severe.append("%s: %s=%r vs %s: %r" % (names[0], key, ref[key], other, o[key]))
        if ref["additional"] != o["additional"]:
            minor.append("additional: %s %r vs %s %r" % (names[0], ref["additional"], other,
                                                        o["additional"]))
    return severe, minor


# ---------------------------------------------------------------- the benchmark

def fmt_bytes(n):
    if n is None:
        return "n/a"
    return "%.1f MiB" % (n / 1048576)


class Bench:
    def __init__(self, args):
        self.builddir = args.builddir
        self.srcdir = args.srcdir
        self.workdir = args.workdir
        self.reg = ProcessRegistry(args.pidfile)
        self.records = env_int("BENCH_RECORDS", 1000000)
        self.seconds = env_int("BENCH_SECONDS", 10)
        self.rounds = env_int("BENCH_ROUNDS", 3)
        self.nqueries = env_int("BENCH_QUERIES", 200000)
        self.outstanding = env_int("BENCH_OUTSTANDING", 100)
        self.rate = env_int("BENCH_RATE", 0)
        self.load_fraction = env_float("BENCH_LOAD_FRACTION", 0.5)
        self.write_rate = env_int("BENCH_WRITE_RATE", 100)
        self.two_workers = os.environ.get("BENCH_TWO_WORKERS", "1") != "0"
        self.clients_2w = env_int("BENCH_CLIENTS_2W", 8)
        self.answer_seconds = env_float("BENCH_ANSWER_SECONDS", 5)
        self.allow_mismatch = os.environ.get("BENCH_ALLOW_MISMATCH") == "1"
        self.write_doc = os.environ.get("BENCH_NO_DOC") != "1"
        names = os.environ.get("BENCH_SERVERS", "certdns knot nsd").split()
        self.server_names = [n for n in names if n in SERVER_CLASSES]
        if "certdns" not in self.server_names:
            raise BenchError("BENCH_SERVERS must include certdns")
        self.runs = []          # every dnsperf run
        self.loads = []         # every server start
        self.checks = []        # correctness check summaries
        self.events = []        # problems seen (text)
        self.certdns_logs = []  # certdnsd log lines worth reporting
        self.rcode_maps = {}    # server -> {"name type": rcode} seen in the latency runs
        self.rcode_flips = []   # the same query answered with different rcodes
        self.writes = []        # per round: the writer's summary during the udp-writes run
        self.answer_runs = []   # per round: answer_bench's result
        self.loads2 = []        # server starts of the two-worker phase
        self.phases = []        # (phase, seconds) for the run-time estimate

    # ---- setup
    def setup(self):
        os.makedirs(self.workdir, exist_ok=True)
        bindir = os.path.join(self.workdir, "run", "bin")
        os.makedirs(bindir, exist_ok=True)
        for old in glob.glob(os.path.join(self.workdir, "run", "dnsperf-*")):
            os.remove(old)
        # Copy the binaries: someone may rebuild the tree while we measure.  The
        # daemon's copy has a name without "certdnsd" in it, so that a test
        # suite's `pkill certdnsd` on the same machine does not stop it mid-run.
        self.certdnsd = os.path.join(bindir, "cdnsd-bench")
        self.certdnsctl = os.path.join(bindir, "cdnsctl-bench")
        shutil.copy2(os.path.join(self.builddir, "certdnsd"), self.certdnsd)
        shutil.copy2(os.path.join(self.builddir, "certdnsctl"), self.certdnsctl)
        self.answer_bench = os.path.join(bindir, "answer_bench")
        shutil.copy2(os.path.join(self.builddir, "tests", "bench", "answer_bench"),
                     self.answer_bench)
        # Response rate limiting: off, as for Knot (default) and NSD (rrl-ratelimit: 0).
        # Older builds have no --rrl-rate and no rate limiting.
        out = subprocess.run([self.certdnsd, "--help"], capture_output=True, text=True)
        self.certdnsd_extra = ["--rrl-rate", "0"] if "--rrl-rate" in out.stdout + out.stderr \
            else []
        self.git = self.git_state()
        log("generating (or reusing) a %d-record zone and %d queries in %s"
            % (self.records, self.nqueries, self.workdir))
        t0 = time.monotonic()
        out = subprocess.run([sys.executable, os.path.join(HERE, "zonegen.py"),
                              str(self.records), str(self.nqueries), self.workdir],
                             capture_output=True, text=True, check=True)
        self.zone, self.queries, self.checkfile = out.stdout.split()
        with open(self.zone + ".count") as f:
            self.zone_records = int(f.read())
        log("zone %s (%d records, %s), queries %s (%.1f s)"
            % (self.zone, self.zone_records, fmt_bytes(os.path.getsize(self.zone)),
               self.queries, time.monotonic() - t0))
        taken = set()
        self.servers = [SERVER_CLASSES[n](self, free_port(taken)) for n in self.server_names]
        for s in self.servers:
            log("%s will listen on 127.0.0.1:%d" % (s.name, s.port))

    def git_state(self):
        try:
            head = subprocess.run(["git", "-C", self.srcdir, "rev-parse", "--short", "HEAD"],
                                  capture_output=True, text=True).stdout.strip()
            dirty = subprocess.run(["git", "-C", self.srcdir, "status", "--porcelain", "--",
                                    "src"], capture_output=True, text=True).stdout.strip()
            return head + (" (src/ modified)" if dirty else "")
        except OSError:
            return "unknown"

    # ---- correctness
    def sanity_check(self, rnd):
        with open(self.checkfile) as f:
            checks = [line.split() for line in f if line.strip()]
        severe, minor = [], []
        nq = 0
        for cat, name, qtype in checks:
            for mode in ("udp", "tcp", "edns") if cat == "apex" else ("udp",):
                nq += 1
                results = {s.name: kdig_answer(s.port, name, qtype, mode) for s in self.servers}
                sev, mi = compare_answers(results)
                tag = "%s %s %s%s" % (cat, name, qtype, "" if mode == "udp" else " (%s)" % mode)
                severe += ["%s: %s" % (tag, d) for d in sev]
                minor += ["%s: %s" % (tag, d) for d in mi]
                for sname, r in results.items():
                    if r["error"]:
                        severe.append("%s: %s gave no answer: %s" % (tag, sname, r["error"]))
        summary = {"round": rnd, "queries": nq, "severe": severe, "minor": minor}
        self.checks.append(summary)
        log("round %d check: %d names, %d different answers, %d additional-section differences"
            % (rnd, len(checks), len(severe), len(minor)))
        for d in severe[:20]:
            log("  DIFFERENT: " + d)
        if severe and not self.allow_mismatch:
            raise BenchError("the servers answer differently (BENCH_ALLOW_MISMATCH=1 to go on)")

    # ---- one dnsperf run
    def dnsperf(self, server, kind, rnd, rate=None, writer=None):
        """kind: udp, tcp, latency; udp-writes (udp while `writer` commits changes);
        udp-2w (udp against a server with two workers; dnsperf unpinned)."""
        port = server.port
        pinned = kind != "udp-2w"
        clients = self.clients_2w if kind == "udp-2w" else 4
        argv = (["taskset", "-c", CLIENT_CPU] if pinned else []) + \
            ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", self.queries,
             "-c", str(clients), "-T", "1", "-l", str(self.seconds)]
        if kind in ("udp", "udp-writes", "udp-2w"):
            argv += ["-q", str(self.outstanding)]
        elif kind == "tcp":
            argv += ["-m", "tcp", "-q", str(self.outstanding)]
        elif kind == "latency":
            # A high outstanding limit, so the -Q rate and not the window paces the
            # sending (no coordinated omission); -v prints each query's latency.
            argv += ["-Q", str(rate), "-q", "20000", "-v"]
        extra = os.environ.get("BENCH_DNSPERF_ARGS", "").split()
        argv += extra
        outpath = os.path.join(self.workdir, "run", "dnsperf-%s-%s-%d.out" % (server.name, kind, rnd))
        errpath = outpath[:-4] + ".err"
        pids = server.pids()
        drops_before = udp_socket_info(port)[1]
        server_cpu_before = cpu_split(pids)
        threads_before = thread_cpu(pids)
        writer_cpu_before = cpu_seconds([writer.proc.pid]) if writer else 0
        sys0 = proc_cpu_times()
        t0 = time.monotonic()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(outpath, "w") as out, open(errpath, "w") as err:
            p = self.reg.spawn(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            try:
                p.wait(self.seconds + 120)
                ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                self.events.append("dnsperf %s %s round %d hung; killed" % (server.name, kind, rnd))
            self.reg.forget(p.pid)
        t1 = time.monotonic()
        wall = t1 - t0
        writer_cpu = cpu_seconds([writer.proc.pid]) - writer_cpu_before if writer else 0
        server_split = [a - b for a, b in zip(cpu_split(pids), server_cpu_before)]
        server_cpu = sum(server_split)
        threads_after = thread_cpu(pids)
        kernel_drops = udp_socket_info(port)[1] - drops_before
        sys1 = proc_cpu_times()
        tck = os.sysconf("SC_CLK_TCK")
        c = "cpu" + SERVER_CPU
        busy0 = (sys1[c][0] - sys0[c][0]) / tck
        c1 = "cpu" + CLIENT_CPU
        busy1 = (sys1[c1][0] - sys0[c1][0]) / tck
        client_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        steal0 = (sys1[c][2] - sys0[c][2]) / tck
        with open(outpath) as f:
            text = f.read()
        with open(errpath) as f:
            errtext = f.read()
        r = parse_dnsperf(text)
        busy_all = sum(sys1[c][0] - sys0[c][0] for c in sys1 if c in sys0) / tck
        ncpu = len(sys1) or 1
        r.update({"server": server.name, "kind": kind, "round": rnd, "rate": rate,
                  "wall": wall, "t_start": t0, "t_end": t1, "clients": clients,
                  "server_cpu_s": server_cpu, "server_user_s": server_split[0],
                  "server_sys_s": server_split[1], "kernel_drops": kernel_drops,
                  "cpu0_busy_s": busy0, "cpu0_steal_s": steal0,
                  "cpu0_other_pct": max(0.0, (busy0 - server_cpu) / wall * 100)
                  if wall and pinned else None,
                  "dnsperf_cpu_s": client_cpu, "writer_cpu_s": writer_cpu,
                  "cpu1_other_pct": max(0.0, (busy1 - client_cpu - writer_cpu) / wall * 100)
                  if wall and pinned else None,
                  "cpu1_busy_pct": min(100.0, busy1 / wall * 100) if wall and pinned else None,
                  "cpu_busy_pct": busy_all / (wall * ncpu) * 100 if wall else None,
                  "cpu_other_pct": max(0.0, (busy_all - server_cpu - client_cpu - writer_cpu)
                                       / (wall * ncpu) * 100) if wall else None,
                  "dnsperf_rc": p.returncode})
        # How the server's CPU time split over its threads (processes for NSD).
        tck_threads = []
        for key, (name, ticks) in threads_after.items():
            d = ticks - threads_before.get(key, (name, 0))[1]
            if d > 0:
                tck_threads.append((d / tck, name))
        tck_threads.sort(reverse=True)
        r["thread_cpu"] = tck_threads[:6]
        ctl = [c for c, n in tck_threads if "control" in n]
        r["control_thread_cpu_s"] = sum(ctl) if ctl else None
        if server_cpu > 0 and tck_threads:
            r["busiest_thread_share"] = tck_threads[0][0] / server_cpu
        if r.get("completed") and server_cpu > 0:
            r["qps_per_cpu_s"] = r["completed"] / server_cpu
        # dnsperf prints its warnings ("[Timeout] ...", "Warning: ...") on stdout or stderr.
        warn = [l for l in errtext.splitlines() if l.strip()] + \
            [l for l in text.splitlines()
             if (l.startswith("[") and not l.startswith("[Status]")) or l.startswith("Warning")]
        kinds = {}
        for l in warn:
            k = re.sub(r"\d+", "N", l.strip())[:80]
            kinds[k] = kinds.get(k, 0) + 1
        r["warnings"] = kinds
        r["stderr_lines"] = len(warn)
        r["stderr_sample"] = warn[:5]
        if kind == "latency":
            lat, lost = [], 0
            rmap = self.rcode_maps.setdefault(server.name, {})
            for line in text.splitlines():
                if not line.startswith("> "):
                    continue
                f = line.split()
                if f[1] == "T":
                    lost += 1
                    continue
                try:
                    lat.append(float(f[-1]))
                except ValueError:
                    pass
                # Under load, each name must keep getting the same response code.
                key = "%s %s" % (f[2], f[3])
                prev = rmap.setdefault(key, f[1])
                if prev != f[1]:
                    self.rcode_flips.append("%s: %s got %s, earlier %s" % (server.name, key,
                                                                         f[1], prev))
            lat.sort()
            # Lost queries count as slower than any answer (infinitely slow).
            full = lat + [float("inf")] * lost
            r["lat_n"] = len(lat)
            r["lat_lost_v"] = lost
            for q in (50, 90, 99, 99.9):
                r["p%s" % q] = percentile(full, q)
            r["p99_answered"] = percentile(lat, 99)
            r["lat_mean"] = statistics.fmean(lat) if lat else None
            r["lat_max_answered"] = lat[-1] if lat else None
            os.remove(outpath)      # the -v output is large; keep the summary only
        if p.returncode != 0 or "qps" not in r:
            self.events.append("dnsperf %s %s round %d: exit %s, stderr: %s"
                               % (server.name, kind, rnd, p.returncode, warn[:3]))
        if not server.alive():
            why = ""
            try:
                with open(server.stderr_path) as f:
                    if "received SIGTERM" in f.read():
                        why = " after a SIGTERM that the benchmark did not send"
            except OSError:
                pass
            self.events.append("%s stopped during the %s run of round %d (exit status %s)%s"
                               % (server.name, kind, rnd, server.proc.returncode, why))
            raise BenchError("%s died during a %s run; see %s"
                             % (server.name, kind, server.stderr_path))
        bad = server.check_affinity("after %s run %d" % (kind, rnd))
        r["affinity_fixed"] = len(bad)
        self.runs.append(r)
        desc = "%.0f q/s" % r.get("qps", 0)
        if kind == "latency":
            p99 = r.get("p99")
            desc += ", mean %.3f ms, p99 %s" % ((r["lat_mean"] or 0) * 1e3,
                                                "%s ms" % fmt_ms(p99) if p99 != float("inf")
                                                else "not reached (over 1% lost)")
        if pinned:
            others = "others: CPU%s %.0f%%, CPU%s %.0f%%" % (
                SERVER_CPU, r["cpu0_other_pct"] or 0, CLIENT_CPU, r["cpu1_other_pct"] or 0)
        else:
            others = "all CPUs %.0f%% busy (others %.0f%%), busiest server thread %s" % (
                r["cpu_busy_pct"] or 0, r["cpu_other_pct"] or 0,
                ", ".join("%s %.1f s" % (n, c) for c, n in r["thread_cpu"][:3]))
        if writer:
            others += ", certdnsctl CPU %.2f s" % writer_cpu
        log("  %-8s %-10s round %d: %s, lost %s of %s (%d dropped by the kernel at the server's "
            "socket), server CPU %.1f s, dnsperf CPU %.1f s, %s"
            % (server.name, kind, rnd, desc, r.get("lost"), r.get("sent"), kernel_drops,
               server_cpu, client_cpu, others))
        return r

    # ---- rounds
    def start_servers(self, rnd):
        for s in self.servers:
            log("round %d: starting %s" % (rnd, s.name))
            m = s.start()
            m.update({"server": s.name, "round": rnd})
            disk, desc = s.disk()
            m["disk"] = disk
            s.disk_desc = desc
            self.loads.append(m)
            log("  %s answering after %.2f s (load %.2f s), RSS %s, PSS %s"
                % (s.name, m["start_to_answer_s"], m["load_s"],
                   fmt_bytes(m["mem_after_load"]["rss"]), fmt_bytes(m["mem_after_load"]["pss"])))

    def stop_servers(self):
        for s in self.servers:
            if s.proc is not None:
                rc_before = s.proc.poll()
                s.stop()
                if rc_before is not None:
                    self.events.append("%s had exited with status %s before being stopped"
                                       % (s.name, rc_before))
        self.collect_certdns_log()

    def collect_certdns_log(self):
        s = self.by_name("certdns")
        try:
            with open(s.stderr_path) as f:
                lines = f.read().splitlines()
        except OSError:
            return
        for l in lines:
            if re.search(r"\b(error|warning|warn|crit|fatal)\b", l, re.I) or "served" in l:
                self.certdns_logs.append(l)

    def by_name(self, name):
        for s in self.servers:
            if s.name == name:
                return s
        return None

    def phase_done(self, name, t0):
        self.phases.append((name, time.monotonic() - t0))
        return time.monotonic()

    def run(self):
        self.setup()
        self.started = datetime.datetime.now(datetime.timezone.utc)
        t0 = time.monotonic()
        for rnd in range(1, self.rounds + 1):
            self.start_servers(rnd)
            self.sanity_check(rnd)
            order = self.servers if rnd % 2 else list(reversed(self.servers))
            for kind in ("udp", "tcp"):
                for s in order:
                    self.dnsperf(s, kind, rnd)
                    if kind == "udp" and s.name == "certdns" and self.write_rate > 0:
                        self.udp_under_writes(s, rnd)
            for s in self.servers:
                m = [l for l in self.loads if l["server"] == s.name and l["round"] == rnd][0]
                m["mem_after_bench"] = memory(s.pids())
            self.answer_cost(rnd)
            if rnd < self.rounds:
                self.stop_servers()
        t0 = self.phase_done("rounds (start, check, UDP, UDP under writes, TCP, answer_bench)", t0)
        # Latency at a fixed offered load, on the servers of the last round.
        if self.rate <= 0:
            sat = [self.median_of(s.name, "udp", "qps") for s in self.servers]
            self.rate = int(min(sat) * self.load_fraction)
            self.rate_how = ("%.0f%% of the slowest server's median UDP saturation rate"
                             % (self.load_fraction * 100))
        else:
            self.rate_how = "set by BENCH_RATE"
        log("latency runs at %d q/s (%s)" % (self.rate, self.rate_how))
        for rnd in range(1, self.rounds + 1):
            order = self.servers if rnd % 2 else list(reversed(self.servers))
            for s in order:
                self.dnsperf(s, "latency", rnd, rate=self.rate)
        self.stop_servers()
        t0 = self.phase_done("latency runs", t0)
        if self.two_workers:
            self.run_two_workers()
            t0 = self.phase_done("two-worker phase", t0)
        self.finished = datetime.datetime.now(datetime.timezone.utc)

    # ---- query throughput while certdnsctl commits changes to the zone
    def udp_under_writes(self, server, rnd):
        serial0 = served_serial(server.port)
        if serial0 is None:
            raise BenchError("certdns: no SOA serial before the writes run of round %d" % rnd)
        blocks = max(1, (self.zone_records - 9) // 20)
        w = ZoneWriter(self, server, self.write_rate, blocks)
        w.start()
        try:
            r = self.dnsperf(server, "udp-writes", rnd, writer=w)
        finally:
            w.stop()
        summ = w.summary(r["t_start"], r["t_end"])
        serial1 = served_serial(server.port)
        advanced = None if serial1 is None else (serial1 - serial0) % (1 << 32)
        summ.update({"round": rnd, "serial_before": serial0, "serial_after": serial1,
                     "serial_advanced": advanced,
                     "serial_ok": advanced == summ["commits_ok_total"]
                     and serial1 == summ["last_serial"],
                     "qps": r.get("qps"), "qps_per_cpu_s": r.get("qps_per_cpu_s"),
                     "sent": r.get("sent"), "lost": r.get("lost"),
                     "kernel_drops": r.get("kernel_drops"), "dnsperf_cpu_s": r["dnsperf_cpu_s"],
                     "cpu1_busy_pct": r["cpu1_busy_pct"],
                     "control_thread_cpu_s": r["control_thread_cpu_s"],
                     "writer_cpu_in_run_s": r["writer_cpu_s"], "wall": r["wall"]})
        self.writes.append(summ)
        log("  certdns writes: %d commits in the run (%.1f/s, %d failed), commit latency "
            "p50 %s ms, p99 %s ms, max %s ms; served serial %s -> %s (+%s, %d commits in all: %s)"
            % (summ["commits_in_run"], summ["commits_per_s"] or 0, summ["commits_failed_in_run"],
               fmt_ms(summ["commit_p50"]), fmt_ms(summ["commit_p99"]), fmt_ms(summ["commit_max"]),
               serial0, serial1, advanced, summ["commits_ok_total"],
               "consistent" if summ["serial_ok"] else "MISMATCH"))
        if not summ["serial_ok"]:
            self.events.append("round %d: the served serial went %s -> %s (+%s) but certdnsctl "
                               "reported %d successful commits, the last to serial %s"
                               % (rnd, serial0, serial1, advanced, summ["commits_ok_total"],
                                  summ["last_serial"]))
        if summ["writer_failure"] or summ["commits_failed_in_run"]:
            self.events.append("round %d: certdnsctl record batch: %s %s"
                               % (rnd, summ["writer_failure"] or "",
                                  "; ".join(summ["writer_errors"])))

    # ---- user-space cost of the query path, without sockets
    def answer_cost(self, rnd):
        s = self.by_name("certdns")
        argv = ["taskset", "-c", SERVER_CPU, self.answer_bench, s.db, self.queries,
                str(self.answer_seconds)]
        try:
            out = subprocess.run(argv, capture_output=True, text=True,
                                 timeout=self.answer_seconds + 300)
        except subprocess.TimeoutExpired:
            self.events.append("answer_bench round %d timed out" % rnd)
            return
        m = re.search(r"(\d+) queries \((\d+) distinct\) in ([\d.]+) CPU-s: (\d+) ns/query, "
                      r"(\d+) queries/CPU-s, ([\d.]+) bytes/answer", out.stdout)
        if out.returncode != 0 or not m:
            self.events.append("answer_bench round %d failed (exit %d): %s"
                               % (rnd, out.returncode, (out.stdout + out.stderr).strip()[-300:]))
            return
        res = {"round": rnd, "queries": int(m.group(1)), "cpu_s": float(m.group(3)),
               "ns_per_query": float(m.group(4)), "per_cpu_s": float(m.group(5)),
               "bytes_per_answer": float(m.group(6)), "rcodes": {}}
        m = re.search(r"rcodes: (.*)", out.stdout)
        if m:
            for name, n in re.findall(r"([A-Za-z]+) (\d+)", m.group(1)):
                res["rcodes"][name] = int(n)
        self.answer_runs.append(res)
        log("round %d: answer_bench %.0f ns/query (%.0f queries/CPU-s, %.1f bytes/answer)"
            % (rnd, res["ns_per_query"], res["per_cpu_s"], res["bytes_per_answer"]))

    # ---- two workers per server, unpinned
    def run_two_workers(self):
        log("two-worker phase: every server with 2 UDP workers, unpinned; dnsperf unpinned, "
            "-c %d" % self.clients_2w)
        for s in self.servers:
            s.workers, s.pinned, s.affinity_seen = 2, False, {}
        try:
            for s in self.servers:
                log("two workers: starting %s" % s.name)
                m = s.start()
                m.update({"server": s.name})
                self.loads2.append(m)
                log("  %s answering after %.2f s" % (s.name, m["start_to_answer_s"]))
            self.check_two_workers()
            for rnd in range(1, self.rounds + 1):
                order = self.servers if rnd % 2 else list(reversed(self.servers))
                for s in order:
                    self.dnsperf(s, "udp-2w", rnd)
            self.stop_servers()
        finally:
            for s in self.servers:
                s.workers, s.pinned = 1, True

    def check_two_workers(self):
        """The same few queries must get the same answers as in the main rounds' check."""
        with open(self.checkfile) as f:
            checks = [line.split() for line in f if line.strip()]
        picked = [c for c in checks if c[0] == "apex"][:1] + \
            [c for c in checks if c[0] in ("hit-A", "referral", "wildcard-A", "nxdomain")][::3]
        severe = []
        for cat, name, qtype in picked:
            results = {s.name: kdig_answer(s.port, name, qtype) for s in self.servers}
            sev, _ = compare_answers(results)
            severe += ["%s %s %s: %s" % (cat, name, qtype, d) for d in sev]
            for sname, r in results.items():
                if r["error"]:
                    severe.append("%s %s %s: %s gave no answer: %s"
                                  % (cat, name, qtype, sname, r["error"]))
        self.check2 = {"queries": len(picked), "severe": severe}
        log("two workers check: %d queries, %d different answers" % (len(picked), len(severe)))
        for d in severe[:10]:
            log("  DIFFERENT: " + d)
        if severe and not self.allow_mismatch:
            raise BenchError("with two workers the servers answer differently "
                             "(BENCH_ALLOW_MISMATCH=1 to go on)")

    # ---- results
    def values(self, server, kind, key):
        return [r[key] for r in self.runs
                if r["server"] == server and r["kind"] == kind and r.get(key) is not None]

    def median_of(self, server, kind, key):
        v = self.values(server, kind, key)
        return statistics.median(v) if v else None

    def load_values(self, server, key, sub=None):
        out = []
        for l in self.loads:
            if l["server"] != server or key not in l:
                continue
            out.append(l[key][sub] if sub else l[key])
        return out

    def report(self):
        names = [s.name for s in self.servers]
        labels = {s.name: s.label for s in self.servers}
        others = [n for n in names if n != "certdns"]

        def med(vals):
            vals = [v for v in vals if v is not None]
            return statistics.median(vals) if vals else None

        rows = []   # (metric, {server: value}, formatter, better)

        def row(metric, vals, fmt, better):
            rows.append((metric, vals, fmt, better))

        row("UDP queries/s at saturation", {n: self.median_of(n, "udp", "qps") for n in names},
            fmt_qps, "higher")
        row("UDP queries per server CPU-second", {n: self.median_of(n, "udp", "qps_per_cpu_s")
                                                  for n in names}, fmt_qps, "higher")
        per_cpu = {n: self.median_of(n, "udp", "qps_per_cpu_s") for n in names}
        row("Server CPU per UDP query (ns)", {n: 1e9 / v if v else None
                                              for n, v in per_cpu.items()}, fmt_qps, "lower")

        def ns_per_query(n, key):
            return med([r[key] * 1e9 / r["completed"] for r in self.runs
                        if r["server"] == n and r["kind"] == "udp" and r.get("completed")])

        sys_ns = {n: ns_per_query(n, "server_sys_s") for n in names}
        user_ns = {n: ns_per_query(n, "server_user_s") for n in names}
        row("... of which in the kernel (system time, ns)", sys_ns, fmt_qps, "lower")
        row("... of which in user space (ns)", user_ns, fmt_qps, "lower")
        answer_ns = med([a["ns_per_query"] for a in self.answer_runs])
        row("certdns user-space answer cost (ns/query, in-process)", {"certdns": answer_ns},
            fmt_qps, None)
        row("UDP queries lost (all rounds)", {n: sum(self.values(n, "udp", "lost"))
                                              for n in names}, fmt_int, "lower")
        row("TCP queries/s at saturation", {n: self.median_of(n, "tcp", "qps") for n in names},
            fmt_qps, "higher")
        row("TCP queries lost (all rounds)", {n: sum(self.values(n, "tcp", "lost"))
                                              for n in names}, fmt_int, "lower")
        row("Latency mean at %s q/s (ms)" % fmt_qps(self.rate),
            {n: ms(self.median_of(n, "latency", "lat_mean")) for n in names}, fmt_ms3, "lower")
        row("Latency p50 (ms)", {n: ms(self.median_of(n, "latency", "p50")) for n in names},
            fmt_ms3, "lower")
        row("Latency p99 (ms)", {n: ms(self.median_of(n, "latency", "p99")) for n in names},
            fmt_ms3, "lower")
        row("Latency p99.9 (ms)", {n: ms(self.median_of(n, "latency", "p99.9")) for n in names},
            fmt_ms3, "lower")
        row("Latency p99 of the answered queries only (ms)",
            {n: ms(self.median_of(n, "latency", "p99_answered")) for n in names}, fmt_ms3, "lower")
        row("Latency runs: queries lost (all rounds)",
            {n: sum(self.values(n, "latency", "lost")) for n in names}, fmt_int, "lower")
        row("UDP queries dropped in the server's socket buffer (all runs)",
            {n: sum(self.values(n, "udp", "kernel_drops") + self.values(n, "latency", "kernel_drops"))
             for n in names}, fmt_int, "lower")
        row("UDP socket receive buffer (KiB)",
            {n: kib(med(self.load_values(n, "udp_rcvbuf"))) for n in names}, fmt_mib, None)
        row("Zone load (s)", {n: med(self.load_values(n, "load_s")) for n in names},
            fmt_s, "lower")
        row("Start to first answer (s)", {n: med(self.load_values(n, "start_to_answer_s"))
                                          for n in names}, fmt_s, "lower")
        row("Offline zone check (s)", {n: med(self.load_values(n, "check_s")) for n in names},
            fmt_s, "lower")
        row("RSS after load (MiB)", {n: mib(med(self.load_values(n, "mem_after_load", "rss")))
                                     for n in names}, fmt_mib, "lower")
        row("PSS after load (MiB)", {n: mib(med(self.load_values(n, "mem_after_load", "pss")))
                                     for n in names}, fmt_mib, "lower")
        row("RSS after the UDP/TCP runs (MiB)",
            {n: mib(med(self.load_values(n, "mem_after_bench", "rss"))) for n in names},
            fmt_mib, "lower")
        row("RSS after the runs, anonymous part (MiB)",
            {n: mib(med(self.load_values(n, "mem_after_bench", "anon"))) for n in names},
            fmt_mib, "lower")
        row("Size on disk (MiB)", {n: mib(med(self.load_values(n, "disk"))) for n in names},
            fmt_mib, "lower")

        L = []
        L.append("# certdns benchmarks")
        L.append("")
        L.append("Generated by `make bench` (tests/bench/bench.sh) on %s UTC; every figure below "
                 "comes from that run. Rerun it to refresh this page."
                 % self.started.strftime("%Y-%m-%d %H:%M"))
        L.append("")
        note = os.environ.get("BENCH_NOTE", "").strip()
        if note:
            L.append("**Note:** " + note)
            L.append("")
        o0 = med([r["cpu0_other_pct"] for r in self.runs])     # None for unpinned runs
        o1 = med([r["cpu1_other_pct"] for r in self.runs])
        if (o0 or 0) > 10 or (o1 or 0) > 10:
            L.append("**Warning: the machine was busy.** Over the dnsperf runs, other work took "
                     "a median %.0f%% of CPU %s (the servers' CPU) and %.0f%% of CPU %s "
                     "(dnsperf's); absolute rates and tail latencies are then mostly a measure "
                     "of that contention. Compare the per-CPU-second row, and rerun on a quiet "
                     "machine for figures to publish." % (o0 or 0, SERVER_CPU, o1 or 0, CLIENT_CPU))
            L.append("")
        L.append("Run it with `make bench` (or `tests/bench/bench.sh BUILDDIR SRCDIR`); "
                 "`BENCH_RECORDS=100000 BENCH_SECONDS=3 BENCH_ROUNDS=1 make bench` is a quick "
                 "check. The variables are described at the top of tests/bench/bench.sh. "
                 "Generated files are cached in $BENCH_DIR (default /tmp/certdns-bench), with "
                 "the servers' configs and logs, each dnsperf output and results.json.")
        L.append("")
        L.append("## Setup")
        L.append("")
        for k, v in self.machine():
            L.append("- %s: %s" % (k, v))
        L.append("- zone: %d records (%s as an RFC 1035 file), origin `%s`; %d-line query file"
                 % (self.zone_records, fmt_bytes(os.path.getsize(self.zone)), ORIGIN,
                    self.nqueries))
        L.append("- %d round%s, each server in turn (A B C, then C B A, ...), %d s per dnsperf run"
                 % (self.rounds, "" if self.rounds == 1 else "s", self.seconds))
        L.append("- every server on CPU %s (taskset; one UDP worker, one TCP worker), dnsperf on "
                 "CPU %s (`-c 4 -T 1`); loopback, IPv4, queries without EDNS"
                 % (SERVER_CPU, CLIENT_CPU))
        if self.writes:
            L.append("- per round, one more certdns UDP run while certdnsctl commits %d changes/s "
                     "to the zone (certdnsctl on CPU %s with dnsperf)"
                     % (self.write_rate, CLIENT_CPU))
        if self.answer_runs:
            L.append("- per round, answer_bench on CPU %s for %g CPU-s against certdns's database"
                     % (SERVER_CPU, self.answer_seconds))
        if any(r["kind"] == "udp-2w" for r in self.runs):
            L.append("- then a phase with two UDP workers per server, servers and dnsperf "
                     "unpinned, one UDP run per server and round")
        if self.phases:
            L.append("- run time: " + ", ".join("%s %.0f s" % (n, t) for n, t in self.phases)
                     + " (%.0f s in all, zone generation excluded)"
                     % sum(t for _, t in self.phases))
        L.append("")
        L.append("## Results (medians over the rounds)")
        L.append("")
        head = "| metric | " + " | ".join(labels[n] for n in names) + " | " + \
            " | ".join("certdns/%s" % labels[n] for n in others) + " |"
        L.append(head)
        L.append("|" + "---|" * (1 + len(names) + len(others)))
        for metric, vals, fmt, better in rows:
            cells = [fmt(vals.get(n)) for n in names]
            ratios = []
            for n in others:
                a, b = vals.get("certdns"), vals.get(n)
                ok = (better is not None and a is not None and b
                      and a != float("inf") and b != float("inf"))
                ratios.append("%.2f" % (a / b) if ok else "")
            L.append("| %s | %s | %s |" % (metric, " | ".join(cells), " | ".join(ratios)))
        L.append("")
        L.append("Ratios are certdns divided by the other server: above 1 is better for "
                 "queries/s, below 1 is better for latency, time, memory and size. *lost* in a "
                 "percentile means more than that share of the queries got no answer.")
        L.append("")
        if answer_ns is not None and per_cpu.get("certdns") and user_ns.get("certdns"):
            total_ns = 1e9 / per_cpu["certdns"]
            a = self.answer_runs[0]
            tot = a["queries"] or 1
            others_k = ", ".join("%s %s ns" % (labels[n], fmt_qps(sys_ns[n])) for n in others
                                 if sys_ns.get(n))
            L.append("**Where a query's CPU time goes.** answer_bench (tests/bench/answer_bench.c) "
                     "answers the same query file in-process, pinned to CPU %s, through "
                     "`query_parse` and `answer_query` against the round's certdns database, "
                     "one LMDB read snapshot renewed per batch of 64 queries as a UDP worker "
                     "does, with no sockets: **%s ns of CPU per query** (median over the rounds; "
                     "%.0f bytes per answer; NOERROR %.1f%%, NXDOMAIN %.1f%%, as over UDP). "
                     "Over UDP, certdnsd used %s ns of CPU per query, %s ns of it system time "
                     "and %s ns user time. The system time is the kernel's UDP path: the "
                     "receive and send system calls, socket buffers, and the loopback delivery "
                     "of each answer to dnsperf's socket, which runs in the sender's context; "
                     "it is the same work for all three servers (certdnsd and Knot move "
                     "datagrams in batches with recvmmsg/sendmmsg, this NSD build with one "
                     "recvfrom/sendto each; %s of system time per query in this run; /proc "
                     "accounts CPU time by sampling at each timer tick, and softirq work that "
                     "ksoftirqd takes over is charged to no server, so these shares are "
                     "approximate). Of the user time, the answer itself is the %s ns above; "
                     "the remaining %s ns is the UDP worker's code around it (libuv, filling "
                     "and reading the batches of datagrams) and the same lookups running "
                     "slower beside the kernel's packet path, which evicts their cache lines "
                     "and TLB entries (doc/performance.md has a profile)."
                     % (SERVER_CPU, fmt_qps(answer_ns), a["bytes_per_answer"],
                        a["rcodes"].get("NOERROR", 0) * 100.0 / tot,
                        a["rcodes"].get("NXDOMAIN", 0) * 100.0 / tot, fmt_qps(total_ns),
                        fmt_qps(sys_ns.get("certdns")), fmt_qps(user_ns["certdns"]),
                        others_k or "the others: not measured", fmt_qps(answer_ns),
                        fmt_qps(max(0.0, user_ns["certdns"] - answer_ns))))
            L.append("")
        if self.writes:
            self.report_writes(L, med)
        if any(r["kind"] == "udp-2w" for r in self.runs):
            self.report_two_workers(L, med, names, labels, others)
        L.append("## How each figure is measured")
        L.append("")
        L.append("- **Saturation** (UDP, TCP): `dnsperf -c 4 -T 1 -q %d -l %d` (`-m tcp` for TCP: "
                 "4 connections, pipelined), the query rate dnsperf reports. *Per server "
                 "CPU-second* divides the completed queries by the CPU time the server's "
                 "processes used during the run (utime+stime from /proc): it is less sensitive "
                 "to other load on CPU %s than the raw rate." % (self.outstanding, self.seconds,
                                                                   SERVER_CPU))
        L.append("- **Latency**: `dnsperf -Q %d -q 20000 -v` (%s), i.e. a fixed offered load "
                 "below saturation; the outstanding window is large so that the rate, not the "
                 "window, paces the queries. `-v` prints each query's latency (time from "
                 "dnsperf sending it to dnsperf reading the answer, so dnsperf's own delays "
                 "are included); percentiles are nearest-rank over every query of the run, "
                 "a lost query (`> T`) counting as infinitely slow. dnsperf 2.10 has no "
                 "latency histogram option. `-v` costs dnsperf one write() per answer: it used "
                 "a median %.1f CPU-s per latency run against %.1f per UDP saturation run, on "
                 "its own CPU." % (self.rate, self.rate_how,
                                   med([r["dnsperf_cpu_s"] for r in self.runs
                                        if r["kind"] == "latency"]) or 0,
                                   med([r["dnsperf_cpu_s"] for r in self.runs
                                        if r["kind"] == "udp"]) or 0))
        L.append("- **Zone load**: certdns: the time `certdnsctl zone import` prints (parse + "
                 "write to LMDB, made durable by fdatasync; the daemon then maps the database and "
                 "answers at once). Knot and NSD: from starting the daemon to its first "
                 "authoritative SOA answer (polled every 10 ms over UDP), i.e. parsing the zone "
                 "file and building the in-memory zone; they write nothing to disk. *Start to "
                 "first answer* is that time for all three. Each server start is preceded by a "
                 "`sync`, so that no earlier write-back (such as the previous round's removed "
                 "database) is charged to it. "
                 "*Offline zone check*: `knotc zone-check` and `nsd-checkzone`.")
        L.append("- **Memory**: sum of VmRSS (and of PSS, which does not double count pages "
                 "shared between NSD's processes) over every process of the server, once "
                 "it answers and again after the UDP/TCP runs (for certdns, also after the "
                 "run with writes). certdns serves from a "
                 "memory-mapped LMDB file: its pages count as RSS (RssFile) only once touched, "
                 "and belong to the page cache.")
        L.append("- **Disk**: " + "; ".join("%s: %s" % (s.label, s.disk_desc)
                                            for s in self.servers) + ".")
        L.append("- **Lost** is dnsperf's count of queries without an answer within its 5 s "
                 "timeout. *Dropped in the server's socket buffer* is the kernel's drop counter "
                 "of the server's UDP socket (`ss -m`, `d`), read before and after each run: "
                 "queries that arrived while the receive buffer was full (the server was "
                 "not scheduled or not reading fast enough).")
        L.append("- Configurations: Knot `udp-workers: 1`, `tcp-workers: 1`, "
                 "`background-workers: 1`, `journal-content: none`, `zonefile-sync: -1`; NSD "
                 "`server-count: 1`, `rrl-ratelimit: 0`, `minimal-responses: yes` (like Knot and "
                 "certdns it then adds no NS records to positive answers), `database: \"\"`; "
                 "certdnsd `--workers 1%s`. Response rate limiting is off in all three (Knot's "
                 "default; NSD `rrl-ratelimit: 0`%s). The configs are in $BENCH_DIR/run/*/."
                 % ("".join(" " + a for a in self.certdnsd_extra),
                    "; certdnsd `--rrl-rate 0`" if self.certdnsd_extra
                    else "; this certdnsd has no rate limiting"))
        L.append("- Every round starts the servers afresh (certdns re-imports into a new "
                 "database) and checks their answers before measuring.")
        L.append("")
        L.append("## Correctness checks")
        L.append("")
        nchk = self.checks[0]["queries"] if self.checks else 0
        L.append("Before measuring, each round sends the same %d queries (every category of the "
                 "query mix, at both ends and the middle of the zone, plus the apex over UDP, "
                 "TCP and UDP with EDNS) to every server with `kdig +norec` (no EDNS unless said) and compares status, flags, "
                 "answer and authority sections (sorted)." % nchk)
        L.append("")
        for c in self.checks:
            L.append("- round %d: %d different answers, %d differences in the additional "
                     "section" % (c["round"], len(c["severe"]), len(c["minor"])))
        seen = set()
        for c in self.checks:
            for d in c["severe"] + c["minor"]:
                if d not in seen and len(seen) < 30:
                    seen.add(d)
                    L.append("  - `%s`" % d.replace("`", "'"))
        L.append("")
        L.append("Under load: the latency runs print every answer's response code (`dnsperf -v`).")
        base = self.rcode_maps.get("certdns", {})
        for n in others:
            om = self.rcode_maps.get(n, {})
            common = [k for k in base if k in om]
            diff = [k for k in common if base[k] != om[k]]
            L.append("- certdns vs %s: %d distinct queries answered by both, %d with a different "
                     "response code%s" % (labels[n], len(common), len(diff),
                                          (": " + "; ".join("`%s` %s vs %s" % (k, base[k], om[k])
                                                            for k in diff[:10])) if diff else ""))
        L.append("- the same query answered with different response codes by one server: %d%s"
                 % (len(self.rcode_flips), (" (" + "; ".join(self.rcode_flips[:10]) + ")")
                    if self.rcode_flips else ""))
        L.append("")
        L.append("Response codes of the first UDP saturation run (same query file for all):")
        L.append("")
        for n in names:
            r = [x for x in self.runs if x["server"] == n and x["kind"] == "udp"]
            if r and r[0].get("completed"):
                tot = r[0]["completed"]
                L.append("- %s: %s" % (labels[n], ", ".join(
                    "%s %.1f%%" % (k, v * 100.0 / tot) for k, v in sorted(r[0]["rcodes"].items()))))
        L.append("")
        L.append("## Every run")
        L.append("")
        L.append("| server | kind | round | queries/s | sent | lost | dropped at server socket | "
                 "server CPU (s) | dnsperf CPU (s) | CPU%s used by others (%%) | "
                 "CPU%s used by others (%%) | mean / p99 latency (ms) |"
                 % (SERVER_CPU, CLIENT_CPU))
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in self.runs:
            latc = ""
            if r["kind"] == "latency":
                latc = "%s / %s" % (fmt_ms3(ms(r.get("lat_mean"))), fmt_ms3(ms(r.get("p99"))))
            L.append("| %s | %s | %d | %s | %s | %s | %s | %.1f | %.1f | %s | %s | %s |"
                     % (labels[r["server"]], r["kind"], r["round"], fmt_qps(r.get("qps")),
                        r.get("sent", "?"), r.get("lost", "?"),
                        r["kernel_drops"] if r["kind"] != "tcp" else "", r["server_cpu_s"],
                        r["dnsperf_cpu_s"], fmt_pct(r["cpu0_other_pct"]),
                        fmt_pct(r["cpu1_other_pct"]), latc))
        L.append("")
        L.append("*Used by others*: the CPU's busy time (/proc/stat) minus the server's (CPU %s) "
                 "or dnsperf's and certdnsctl's (CPU %s) own CPU time, as a share of the run: "
                 "other programs on the machine, plus kernel work (softirqs) not charged to "
                 "either process; n/a for the unpinned two-worker runs (*udp-2w*). *udp-writes*: "
                 "certdns while certdnsctl commits changes." % (SERVER_CPU, CLIENT_CPU))
        L.append("")
        repins = {s.label: s.repins for s in self.servers}
        L.append("Threads found off CPU %s and re-pinned: %s." % (SERVER_CPU, ", ".join(
            "%s %d" % (k, v) for k, v in repins.items())))
        wk = {}
        for r in self.runs:
            for k, v in r.get("warnings", {}).items():
                key = (r["server"], k)
                wk[key] = wk.get(key, 0) + v
        for (srv, k), v in sorted(wk.items()):
            self.events.append("dnsperf against %s printed %d x `%s`" % (labels[srv], v, k))
        if self.events or self.certdns_logs:
            L.append("")
            L.append("## Events and certdnsd log")
            L.append("")
            for e in self.events:
                L.append("- " + e)
            for l in self.certdns_logs:
                L.append("- certdnsd log: `%s`" % l)
        L.append("")
        return "\n".join(L)

    def report_writes(self, L, med):
        W = self.writes
        base = {r["round"]: r for r in self.runs if r["server"] == "certdns" and r["kind"] == "udp"}
        pairs = [(base.get(w["round"]), w) for w in W]
        q0 = med([b.get("qps") for b, _ in pairs if b])
        q1 = med([w["qps"] for w in W])
        c0 = med([b.get("qps_per_cpu_s") for b, _ in pairs if b])
        c1 = med([w["qps_per_cpu_s"] for w in W])
        ratio = med([w["qps"] / b["qps"] for b, w in pairs if b and b.get("qps") and w["qps"]])
        ratio_c = med([w["qps_per_cpu_s"] / b["qps_per_cpu_s"] for b, w in pairs
                       if b and b.get("qps_per_cpu_s") and w["qps_per_cpu_s"]])
        lost0 = sum(b.get("lost") or 0 for b, _ in pairs if b)
        lost1 = sum(w["lost"] or 0 for w in W)
        sent1 = sum(w["sent"] or 0 for w in W)
        drops0 = sum(b.get("kernel_drops") or 0 for b, _ in pairs if b)
        drops1 = sum(w["kernel_drops"] or 0 for w in W)

        def rt(v):
            return "n/a" if v is None else "%.2f" % v

        L.append("## Query throughput while certdnsctl writes to the zone (certdns)")
        L.append("")
        L.append("In each round, right after certdns's UDP saturation run, a second one ran while "
                 "one long-running `certdnsctl --db DB record batch %s -` committed changes to "
                 "the zone being queried, one transaction each: the benchmark writes "
                 "`replace h<k> 300 A 10.x.y.z` (a new address each time, the owners spread "
                 "over the zone) and `commit`, %d times a second, and reads the result line "
                 "certdnsctl prints for each commit. certdnsctl ran pinned to CPU %s, together "
                 "with dnsperf (it took a median %.2f CPU-s of that CPU per run). LMDB readers "
                 "never wait for the writer: certdnsd's workers renew their read snapshot per "
                 "batch and see each commit at once."
                 % (ORIGIN, self.write_rate, CLIENT_CPU,
                    med([w["writer_cpu_in_run_s"] for w in W]) or 0))
        L.append("")
        L.append("| metric | without writes | with writes | with / without |")
        L.append("|---|---|---|---|")
        L.append("| UDP queries/s at saturation (median; ratio: median of the rounds' ratios) "
                 "| %s | %s | %s |" % (fmt_qps(q0), fmt_qps(q1), rt(ratio)))
        L.append("| UDP queries per server CPU-second | %s | %s | %s |"
                 % (fmt_qps(c0), fmt_qps(c1), rt(ratio_c)))
        L.append("| queries lost (all rounds) | %s | %s | |" % (fmt_int(lost0), fmt_int(lost1)))
        L.append("| dropped in the server's socket buffer (all rounds) | %s | %s | |"
                 % (fmt_int(drops0), fmt_int(drops1)))
        b1 = med([b.get("cpu1_busy_pct") for b, _ in pairs if b])
        w1 = med([w["cpu1_busy_pct"] for w in W])
        wshare = med([w["writer_cpu_in_run_s"] * 100.0 / w["wall"] for w in W if w["wall"]])
        L.append("| CPU %s busy: dnsperf, certdnsctl and anything else (%%) | %s | %s | |"
                 % (CLIENT_CPU, fmt_pct(b1), fmt_pct(w1)))
        ct0 = med([(b.get("control_thread_cpu_s") or 0) for b, _ in pairs if b])
        ct1 = med([w["control_thread_cpu_s"] for w in W])
        if ct1 is not None:
            L.append("| CPU time of certdnsd's control thread per run (s): it handles the notice "
                     "certdnsctl sends after each commit, on CPU %s beside the worker | %.2f | "
                     "%.2f | |" % (SERVER_CPU, ct0 or 0, ct1))
        L.append("")
        L.append("| writer | |")
        L.append("|---|---|")
        L.append("| commits per second achieved during the run (median) | %.1f (asked: %d) |"
                 % (med([w["commits_per_s"] for w in W]) or 0, self.write_rate))
        L.append("| commits during the runs (all rounds), failed | %d, %d |"
                 % (sum(w["commits_in_run"] for w in W),
                    sum(w["commits_failed_in_run"] for w in W)))
        L.append("| commit latency p50 / p99 (ms, median of the rounds) | %s / %s |"
                 % (fmt_ms(med([w["commit_p50"] for w in W])),
                    fmt_ms(med([w["commit_p99"] for w in W]))))
        L.append("| commit latency max (ms, all rounds) | %s |"
                 % fmt_ms(max([w["commit_max"] for w in W if w["commit_max"] is not None],
                              default=None)))
        ok = all(w["serial_ok"] for w in W)
        L.append("| served SOA serial advanced by the number of commits (kdig, after each run) "
                 "| %s |" % ("yes, every round" if ok else "**no** (see below)"))
        L.append("")
        L.append("Every query got an answer: %s (%s of %s queries sent during the runs with writes "
                 "got none within dnsperf's 5 s timeout)."
                 % ("yes" if lost1 == 0 else "**no**", fmt_int(lost1), fmt_int(sent1)))
        L.append("")
        for w in W:
            b = base.get(w["round"]) or {}
            L.append("- round %d: %s q/s without writes, %s with; %d commits in %.1f s (%.1f/s), "
                     "latency p50 %s ms, p99 %s ms, max %s ms; served serial %s -> %s (+%s) for "
                     "%d commits in all (including one before dnsperf started)%s"
                     % (w["round"], fmt_qps(b.get("qps")), fmt_qps(w["qps"]),
                        w["commits_in_run"], w["wall"], w["commits_per_s"] or 0,
                        fmt_ms(w["commit_p50"]), fmt_ms(w["commit_p99"]), fmt_ms(w["commit_max"]),
                        w["serial_before"], w["serial_after"], w["serial_advanced"],
                        w["commits_ok_total"], "" if w["serial_ok"] else " — **mismatch**"))
        L.append("")
        L.append("*Commit latency* runs from writing the `commit` line to reading certdnsctl's "
                 "result line: the LMDB write transaction (the changed records, the new SOA "
                 "serial and the journal entry for IXFR), its fsync, and the notice to "
                 "certdnsd over its control socket. The writer on CPU %s takes CPU from dnsperf "
                 "there (a median %.0f%% of it), which can lower the rate when dnsperf is near "
                 "its own limit: compare the per-CPU-second row too." % (CLIENT_CPU, wshare or 0))
        if (w1 or 0) >= 90:
            L.append("")
            L.append("CPU %s was saturated during the runs with writes (%.0f%% busy): "
                     "certdnsctl's share of it came out of dnsperf's, so part of any drop in "
                     "queries/s is the load generator sending less. The per-CPU-second row "
                     "divides by the server's own CPU time and shows the server's side."
                     % (CLIENT_CPU, w1))
        asked_ok = (med([w["commits_per_s"] for w in W]) or 0) >= 0.95 * self.write_rate
        if not asked_ok:
            mean = med([w["commit_mean"] for w in W])
            L.append("")
            L.append("certdnsctl did not reach %d commits/s. When it falls behind, the benchmark "
                     "sends the next change as soon as the previous commit's result arrives; "
                     "a commit took a mean %s ms, so one writer committing one change per "
                     "transaction tops out near %.0f commits/s on this machine. Each commit is "
                     "durable: LMDB waits for two synchronous disk writes (fdatasync of the "
                     "data pages, then the meta page), so the disk's sync latency sets the "
                     "limit; several changes per `commit` raise the changes per second, not the "
                     "commits." % (self.write_rate, fmt_ms(mean), 1.0 / mean if mean else 0))
        L.append("")

    def report_two_workers(self, L, med, names, labels, others):
        runs2 = [r for r in self.runs if r["kind"] == "udp-2w"]
        rows = []

        def row(metric, vals, fmt, ratio):
            rows.append((metric, vals, fmt, ratio))

        q2 = {n: self.median_of(n, "udp-2w", "qps") for n in names}
        q1 = {n: self.median_of(n, "udp", "qps") for n in names}
        row("UDP queries/s at saturation, 2 workers", q2, fmt_qps, True)
        row("UDP queries/s at saturation, 1 worker on CPU %s (above)" % SERVER_CPU, q1,
            fmt_qps, True)
        row("2 workers / 1 worker", {n: q2[n] / q1[n] if q2.get(n) and q1.get(n) else None
                                     for n in names}, fmt_ratio, False)
        row("UDP queries per server CPU-second, 2 workers",
            {n: self.median_of(n, "udp-2w", "qps_per_cpu_s") for n in names}, fmt_qps, True)

        def share(n, f):
            return med([f(r) for r in runs2 if r["server"] == n and r["wall"]])

        row("server CPU (cores: CPU time / run time)",
            {n: share(n, lambda r: r["server_cpu_s"] / r["wall"]) for n in names},
            fmt_ratio, False)
        row("dnsperf CPU (share of one core, %)",
            {n: share(n, lambda r: r["dnsperf_cpu_s"] * 100 / r["wall"]) for n in names},
            fmt_pct, False)
        row("both CPUs busy (%)", {n: share(n, lambda r: min(100.0, r["cpu_busy_pct"]))
                                   for n in names},
            fmt_pct, False)
        row("busiest server thread's share of the server's CPU (%)",
            {n: share(n, lambda r: (r.get("busiest_thread_share") or 0) * 100) for n in names},
            fmt_pct, False)
        row("queries lost (all rounds)", {n: sum(self.values(n, "udp-2w", "lost"))
                                          for n in names}, fmt_int, False)

        L.append("## Two workers per server")
        L.append("")
        L.append("After the rounds above, each server was restarted with two UDP workers "
                 "(certdnsd `--workers 2`, Knot `udp-workers: 2`, NSD `server-count: 2` with "
                 "`reuseport: yes`, so that each NSD process has its own socket as each worker "
                 "of the other two has), answered %d check queries the same way, then had one "
                 "UDP saturation run per round, interleaved as above. On this %d-CPU machine "
                 "the servers then share the CPUs with dnsperf: the servers were not pinned, "
                 "and neither was dnsperf (`-c %d -T 1 -q %d`: %d sockets rather than 4, so "
                 "that the kernel's SO_REUSEPORT hash of the source ports is less likely to "
                 "send most of the load to one worker)."
                 % (getattr(self, "check2", {}).get("queries", 0), os.cpu_count(),
                    self.clients_2w, self.outstanding, self.clients_2w))
        L.append("")
        L.append("| metric | " + " | ".join(labels[n] for n in names) + " | " +
                 " | ".join("certdns/%s" % labels[n] for n in others) + " |")
        L.append("|" + "---|" * (1 + len(names) + len(others)))
        for metric, vals, fmt, ratio in rows:
            cells = [fmt(vals.get(n)) for n in names]
            ratios = []
            for n in others:
                a, b = vals.get("certdns"), vals.get(n)
                ratios.append("%.2f" % (a / b) if ratio and a is not None and b else "")
            L.append("| %s | %s | %s |" % (metric, " | ".join(cells), " | ".join(ratios)))
        L.append("")
        # What limits the figure.
        limits = []
        dn = med([r["dnsperf_cpu_s"] / r["wall"] for r in runs2 if r["wall"]]) or 0
        busy = min(100.0, med([r["cpu_busy_pct"] for r in runs2]) or 0)
        if dn >= 0.9:
            limits.append("dnsperf used a median %.0f%% of a core: its single sending thread "
                          "is saturated, so **the load generator is the limit** and these "
                          "figures are a lower bound of what the servers can do" % (dn * 100))
        if busy >= 90:
            limits.append("both CPUs were a median %.0f%% busy: the two workers, dnsperf and "
                          "the kernel's loopback path compete for %d cores, so the figure shows "
                          "how each server shares a saturated machine with its load, not how it "
                          "scales; scaling needs the load generated on other cores or another "
                          "machine" % (busy, os.cpu_count()))
        if not limits:
            limits.append("neither dnsperf (%.0f%% of a core) nor the CPUs (%.0f%% busy) were "
                          "saturated" % (dn * 100, busy))
        L.append("What limits this figure: " + "; ".join(limits) + ".")
        L.append("")
        aff = []
        for s in self.servers:
            seen = {}
            for (comm, cpus), t in s.affinity_seen.items():
                seen.setdefault(cpus, set()).update(t)
            aff.append("%s: %s" % (s.label, ", ".join(
                "%d thread%s on CPU%s %s" % (len(t), "" if len(t) == 1 else "s",
                                             "" if "-" not in c and "," not in c else "s", c)
                for c, t in sorted(seen.items()))))
        L.append("Thread affinity seen with two workers (taskset -p on every thread, after start "
                 "and after each run): " + "; ".join(aff) + ". Knot pins UDP worker *i* to "
                 "CPU *i* mod the number of CPUs by itself; certdnsd and NSD leave placement "
                 "to the scheduler.")
        L.append("")
        for r in runs2:
            L.append("- %s round %d: %s q/s, server %.1f CPU-s (%s), dnsperf %.1f CPU-s, CPUs "
                     "%.0f%% busy" % (labels[r["server"]], r["round"], fmt_qps(r.get("qps")),
                                      r["server_cpu_s"], ", ".join(
                                          "%s %.1f" % (n, c) for c, n in r["thread_cpu"][:3]),
                                      r["dnsperf_cpu_s"], min(100.0, r["cpu_busy_pct"] or 0)))
        L.append("")

    def machine(self):
        model = "?"
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"Model name:\s+(.*)", out)
        if m:
            model = m.group(1).strip()
        hyp = re.search(r"Hypervisor vendor:\s+(.*)", out)
        load = open("/proc/loadavg").read().split()[:3]
        return [
            ("CPU", "%s, %d cores%s" % (model, os.cpu_count(),
                                         (" (%s VM)" % hyp.group(1).strip()) if hyp else "")),
            ("kernel", platform.release()),
            ("certdns", "%s, commit %s" % (self.by_name("certdns").version(), self.git)),
        ] + [(s.label, s.version()) for s in self.servers if s.name != "certdns"] + [
            ("dnsperf", dnsperf_version()),
            ("load average at the end", " ".join(load)),
        ]

    def save_raw(self):
        path = os.path.join(self.workdir, "results.json")
        with open(path, "w") as f:
            json.dump({"runs": self.runs, "loads": self.loads, "checks": self.checks,
                       "events": self.events, "rate": self.rate, "writes": self.writes,
                       "answer_bench": self.answer_runs, "loads_two_workers": self.loads2,
                       "phases": self.phases,
                       "certdns_log": self.certdns_logs}, f, indent=1, default=str)
        return path


def dnsperf_version():
    out = subprocess.run(["dnsperf", "-h"], capture_output=True, text=True)
    m = re.search(r"Version ([\w.]+)", out.stdout + out.stderr)
    return "dnsperf " + (m.group(1) if m else "?")


def ms(v):
    return None if v is None else v * 1000.0


def kib(v):
    return None if v is None else v / 1024.0


def mib(v):
    return None if v is None else v / 1048576.0


def fmt_qps(v):
    return "n/a" if v is None else "{:,.0f}".format(v)


def fmt_int(v):
    return "n/a" if v is None else "{:,d}".format(int(v))


def fmt_ms(v):
    if v is None:
        return "n/a"
    if v == float("inf"):
        return "lost"
    return "%.3f" % (v * 1000)


def fmt_ms3(v):
    if v is None:
        return "n/a"
    if v == float("inf"):
        return "lost"
    return "%.3f" % v


def fmt_ratio(v):
    return "n/a" if v is None else "%.2f" % v


def fmt_pct(v):
    return "n/a" if v is None else "%.0f" % v


def fmt_s(v):
    return "n/a" if v is None else "%.2f" % v


def fmt_mib(v):
    return "n/a" if v is None else "%.1f" % v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--srcdir", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--pidfile", required=True)
    args = ap.parse_args()

    def on_signal(signum, frame):
        raise Interrupted("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    bench = Bench(args)
    status = 0
    try:
        bench.run()
        text = bench.report()
        raw = bench.save_raw()
        if bench.write_doc:
            doc = os.path.join(args.srcdir, "doc", "benchmarks.md")
            os.makedirs(os.path.dirname(doc), exist_ok=True)
            with open(doc, "w") as f:
                f.write(text)
            log("wrote %s; raw results in %s" % (doc, raw))
        print()
        print(text)
    except BenchError as e:
        log("FAILED: %s" % e)
        for ev in bench.events:
            log("  " + ev)
        status = 1
    except (KeyboardInterrupt, Interrupted) as e:
        log("interrupted (%s); stopping everything" % (e or "Ctrl-C"))
        status = 130
    finally:
        for s in getattr(bench, "servers", []):
            try:
                s.stop()
            except Exception:
                pass
        bench.reg.kill_all()
    sys.exit(status)


if __name__ == "__main__":
    main()
