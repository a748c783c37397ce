#!/bin/sh
# Builds the libFuzzer targets with clang (tests/fuzz/fuzz.mk, object tree
# BUILDDIR/build/fuzz) and runs each one in turn for a bounded time, then prints
# one line per target: executions, coverage (cov: edges, ft: features), corpus
# size and crashes.  Exits non-zero when a target crashed or broke an invariant.
#
# usage: tests/fuzz/run-fuzz.sh BUILDDIR SRCDIR      (normally `make fuzz`)
# environment:
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_TARGETS  which targets (default: all seven)
#   FUZZ_CC       the compiler (default clang)
#   DEP_CFLAGS, DEP_LIBS   library flags (`make fuzz` passes configure's)
#
# Each target starts from its seeds (tests/fuzz/corpus/TARGET, read only) and a
# work corpus in build/fuzz/corpus/TARGET that it grows and keeps between runs.
# A crash leaves its input in build/fuzz/artifacts/TARGET/: fix the bug, then
# copy the input to tests/fuzz/regressions/TARGET/NAME-SAYING-WHAT-BROKE so
# `make check` replays it for ever.  One fuzzer at a time (-jobs=1 would only
# fork one more process): the machine is small.
set -u
builddir=$(cd "${1:?usage: run-fuzz.sh BUILDDIR SRCDIR}" && pwd)
srcdir=$(cd "${2:?usage: run-fuzz.sh BUILDDIR SRCDIR}" && pwd)
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"fuzz_query fuzz_zonefile fuzz_tcp_framing fuzz_acme_json fuzz_tsig fuzz_control fuzz_simple_rr"}
cc=${FUZZ_CC:-clang}
out=$builddir/build/fuzz

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "make fuzz: $cc not found: install clang and libfuzzer-14-dev" \
         "(contrib/install-deps.sh installs them)" >&2
    exit 1
fi
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' \
    > "$probe/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$probe/probe" "$probe/probe.c" 2>"$probe/err"; then
    echo "make fuzz: $cc cannot build a libFuzzer program:" >&2
    cat "$probe/err" >&2
    echo "install libfuzzer-14-dev (contrib/install-deps.sh installs it)" >&2
    rm -rf "$probe"
    exit 1
fi
rm -rf "$probe"

echo "building the fuzz targets in $out"
make --no-print-directory -f "$srcdir/tests/fuzz/fuzz.mk" -j"$(nproc 2>/dev/null || echo 2)" \
    SRCDIR="$srcdir" TOPBUILD="$builddir" OUT="$out" FUZZ_CC="$cc" \
    DEP_CFLAGS="${DEP_CFLAGS:-}" ${DEP_LIBS:+DEP_LIBS="$DEP_LIBS"} || exit 1

export FUZZ_TMPDIR="$out/tmp"
# Leaks inside ldns and friends are not ours to fix: see the file.
export LSAN_OPTIONS="suppressions=$srcdir/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
summary=""
failed=0
for t in $targets; do
    bin=$out/$t
    if [ ! -x "$bin" ]; then
        echo "make fuzz: no target $t (known: fuzz_query fuzz_zonefile fuzz_tcp_framing" \
             "fuzz_acme_json fuzz_tsig fuzz_control fuzz_simple_rr)" >&2
        exit 1
    fi
    work=$out/corpus/$t
    art=$out/artifacts/$t
    log=$out/logs/$t.log
    mkdir -p "$work" "$art" "$out/logs" "$FUZZ_TMPDIR"
    extra=""
    asan=${ASAN_OPTIONS:-}
    case $t in
        fuzz_tcp_framing) extra="-max_len=140000" ;;   # room for 65535-byte messages
        fuzz_zonefile|fuzz_tsig)
            [ "$t" = fuzz_zonefile ] && extra="-max_len=16384"
            # ldns has no frame pointers: only the slow unwinder sees which
            # ldns function leaked, which the suppressions need.
            asan="fast_unwind_on_malloc=0${asan:+:$asan}" ;;
    esac

    # ldns and LMDB are not instrumented: a dictionary gives the fuzzer their words.
    dict=$srcdir/tests/fuzz/dictionaries/$t.dict
    [ -f "$dict" ] && extra="$extra -dict=$dict"

    # Known bugs first: every regression input must pass the instrumented build too.
    regs=$srcdir/tests/fuzz/regressions/$t
    if [ -d "$regs" ] && [ -n "$(ls -A "$regs" 2>/dev/null)" ]; then
        if ! ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
                "$bin" -runs=0 "$regs"/* >"$out/logs/$t.regressions.log" 2>&1; then
            echo "$t: a regression input fails again: see $out/logs/$t.regressions.log"
            summary="$summary$(printf '%-18s REGRESSION (see %s)' "$t" "$out/logs/$t.regressions.log")
"
            failed=1
            continue
        fi
    fi

    echo "fuzzing $t for $seconds s (log: $log)"
    before=$(ls "$art" | wc -l)
    # shellcheck disable=SC2086
    ASAN_OPTIONS="$asan" "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 -rss_limit_mb=2048 \
        -artifact_prefix="$art/" $extra "$work" "$srcdir/tests/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    after=$(ls "$art" | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1)
    cov=$(printf '%s\n' "$done_line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$done_line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(printf '%s\n' "$done_line" | sed -n 's/.*corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p')
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
        failed=1
        verdict="CRASH: $(ls -t "$art" | head -n 1) (in $art)"
        grep -E 'ERROR: |fuzz invariant broken|SUMMARY: ' "$log" | head -n 3 | sed "s/^/  $t: /"
    else
        verdict="ok"
    fi
    summary="$summary$(printf '%-18s execs %-10s exec/s %-7s cov %-5s ft %-6s corpus %-12s %s' \
        "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$verdict")
"
done
rm -rf "$FUZZ_TMPDIR"

echo
echo "fuzzing summary ($seconds s per target):"
printf '%s' "$summary"
if [ "$failed" -ne 0 ]; then
    echo "make fuzz: FAILED: fix the bug, keep the input in tests/fuzz/regressions/TARGET/" >&2
    exit 1
fi
