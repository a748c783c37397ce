#!/bin/sh
# The README's second command: installs what is missing, then builds and tests certdns
# twice, each time with every test (cmocka unit tests and the integration suite against
# a real certdnsd):
#   plain       the build in the source tree (./certdnsd, ./certdnsctl), as demo.sh uses it;
#               its suite also runs certdnsd and certdnsctl under valgrind (test_valgrind.py)
#   sanitizers  a copy built with AddressSanitizer and UBSan in build/asan
#               (contrib/build.sh --sanitizers): any memory error, undefined behaviour or
#               leak report makes the program fail, and so the test that ran it
# Prints each run's closing line and then the total ("N passed, N failed"); exits
# non-zero when either run failed.
set -eu
cd "$(dirname "$0")/.."
contrib/install-deps.sh
contrib/build.sh
asan_dir=build/asan
contrib/build.sh --sanitizers "$asan_dir"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# run_check NAME DIR: make check in DIR, shown as it runs and kept in $logs/NAME.out;
# its exit status goes to $logs/NAME.rc, its duration to $logs/NAME.time.
run_check() {
    echo "=== make check, $1 build ($2) ==="
    start=$(date +%s)
    {
        rc=0
        make -C "$2" -s --no-print-directory check || rc=$?
        echo "$rc" > "$logs/$1.rc"
    } 2>&1 | tee "$logs/$1.out"
    echo "$(( $(date +%s) - start ))" > "$logs/$1.time"
    echo "=== $1 build: make check took $(cat "$logs/$1.time") s ==="
}

run_check plain .

# halt_on_error: the first report ends the program instead of scrolling past;
# detect_leaks: LeakSanitizer's report at exit fails the program too; exitcode=86:
# a status no certdns program uses, so even a test that expects a command to fail
# with status 1 or 2 notices.  The suite also fails a test whose certdnsd or
# certdnsctl printed a report (tests/integration/dnstest.py).
san="halt_on_error=1:exitcode=86:color=never"
ASAN_OPTIONS="$san:detect_leaks=1:print_legend=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="$san:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS
run_check sanitizers "$asan_dir"

# The closing lines: each run's, then the sum (a run that printed none counts as failed).
status=0
tp=0 tf=0 ts=0
echo
for run in plain sanitizers; do
    rc=$(cat "$logs/$run.rc" 2>/dev/null || echo 1)
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/$run.out" | tail -n 1 || true)
    if [ -z "$line" ]; then
        line="0 passed, 1 failed"
        status=1
        echo "$run: make check ended with status $rc before its closing line"
    fi
    [ "$rc" -eq 0 ] || status=1
    # shellcheck disable=SC2046   # split into the counts on purpose
    set -- $(echo "$line" | tr -c '0-9\n' ' ')
    tp=$((tp + $1)) tf=$((tf + $2)) ts=$((ts + ${3:-0}))
    echo "$run: $line"
done
if [ "$ts" -gt 0 ]; then
    echo "total: $tp passed, $tf failed, $ts skipped"
else
    echo "total: $tp passed, $tf failed"
fi
exit "$status"
