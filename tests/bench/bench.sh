#!/bin/sh
# Benchmarks certdnsd against Knot DNS and NSD on loopback (see doc/benchmarks.md).
#
# usage: tests/bench/bench.sh [BUILDDIR [SRCDIR]]      (or: make bench)
#
# Environment:
#   BENCH_RECORDS   zone size in records            (default 1000000)
#   BENCH_SECONDS   length of each dnsperf run       (default 10)
#   BENCH_ROUNDS    interleaved rounds A B C ...     (default 3)
#   BENCH_DIR       work dir, caches generated zones (default /tmp/certdns-bench)
#   BENCH_QUERIES   lines in the dnsperf query file  (default 200000)
#   BENCH_RATE      offered load of the latency runs (default: BENCH_LOAD_FRACTION
#                   of the slowest server's median UDP saturation rate)
#   BENCH_LOAD_FRACTION                               (default 0.5)
#   BENCH_SERVERS   subset/order, e.g. "certdns knot" (default "certdns knot nsd")
#   BENCH_OUTSTANDING  dnsperf -q for the saturation runs (default 100)
#   BENCH_ALLOW_MISMATCH=1  go on when the servers answer a check query differently
#   BENCH_NO_DOC=1  do not write doc/benchmarks.md (print the report only)
#   BENCH_NOTE      a sentence to put at the top of the report
#   BENCH_DNSPERF_ARGS  extra dnsperf options for every run (e.g. -e for EDNS)
#   BENCH_WRITE_RATE  commits/s of the certdns run under writes (default 100; 0: skip it)
#   BENCH_ANSWER_SECONDS  CPU seconds of each answer_bench run    (default 5)
#   BENCH_TWO_WORKERS=0  skip the phase with two workers per server
#   BENCH_CLIENTS_2W  dnsperf -c in the two-worker phase       (default 8)
#
# Everything it starts runs in its own session and is listed in
# $BENCH_DIR/run/pids; the Python driver stops them on exit, Ctrl-C or
# SIGTERM, and this script's trap stops whatever is left after that.
set -u

here=$(cd "$(dirname "$0")" && pwd)
builddir=$(cd "${1:-$here/../..}" && pwd)
srcdir=$(cd "${2:-$here/../..}" && pwd)
workdir=${BENCH_DIR:-/tmp/certdns-bench}
python=/usr/bin/python3
[ -x "$python" ] || python=python3

missing=""
for tool in knotd knotc nsd nsd-checkzone dnsperf kdig taskset ss; do
    command -v "$tool" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null 2>&1 \
        || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    echo "bench.sh: missing:$missing (apt-get install -y knot nsd dnsperf knot-dnsutils iproute2 util-linux)" >&2
    exit 2
fi
for bin in certdnsd certdnsctl tests/bench/answer_bench; do
    if [ ! -x "$builddir/$bin" ]; then
        echo "bench.sh: $builddir/$bin not built (run 'make bench', which builds it)" >&2
        exit 2
    fi
done

mkdir -p "$workdir/run"
pidfile="$workdir/run/pids"
lock="$workdir/run.lock"
# One benchmark per work dir: a second one would share (and clean up) the first's processes.
if ! mkdir "$lock" 2>/dev/null; then
    owner=$(cat "$lock/pid" 2>/dev/null)
    if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then
        echo "bench.sh: another benchmark (pid $owner) is using $workdir; set BENCH_DIR" >&2
        exit 2
    fi
    rm -rf "$lock"
    mkdir "$lock" || exit 2
fi
echo $$ > "$lock/pid"

cleanup() {
    # Each line: PGID of a process group this benchmark started (its own session).
    if [ -f "$pidfile" ]; then
        while read -r pg; do
            [ -n "$pg" ] || continue
            kill -TERM "-$pg" 2>/dev/null
        done < "$pidfile"
        sleep 1
        while read -r pg; do
            [ -n "$pg" ] || continue
            kill -KILL "-$pg" 2>/dev/null
        done < "$pidfile"
        rm -f "$pidfile"
    fi
    rm -rf "$lock"
}
trap 'cleanup' EXIT
trap 'cleanup; trap - EXIT; exit 130' INT
trap 'cleanup; trap - EXIT; exit 143' TERM HUP

PATH="$PATH:/usr/sbin:/sbin" "$python" "$here/bench.py" \
    --builddir "$builddir" --srcdir "$srcdir" --workdir "$workdir" --pidfile "$pidfile"
