#!/bin/sh
# Runs every test of certdns: the cmocka unit tests, then the integration suite
# (pytest + dnspython + kdig/dig against a real certdnsd on loopback ports).
# Prints one closing line "N passed, N failed" and exits non-zero on any failure.
#
# usage: tests/run-tests.sh BUILDDIR SRCDIR [UNIT_TEST_BINARY ...]
set -u
builddir=$(cd "${1:?builddir}" && pwd)
srcdir=$(cd "${2:?srcdir}" && pwd)
shift 2

passed=0
failed=0
skipped=0

# --- unit tests (TAP output from cmocka) ---
for t in "$@"; do
    out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$builddir/$t" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | grep -c '^ok ')
    f=$(printf '%s\n' "$out" | grep -c '^not ok ')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $t exited with status $rc"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done

# --- integration tests ---
python=/usr/bin/python3
[ -x "$python" ] || python=python3
junit="$builddir/tests/integration-results.xml"
mkdir -p "$builddir/tests"
rm -f "$junit"
CERTDNSD="$builddir/certdnsd" CERTDNSCTL="$builddir/certdnsctl" CERTDNS_SRCDIR="$srcdir" \
    "$python" -m pytest -p no:cacheprovider -q -rfEs --junitxml="$junit" \
    "$srcdir/tests/integration"
if [ -f "$junit" ]; then
    counts=$("$python" - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = f = s = 0
for su in suites:
    t += int(su.get("tests", 0))
    f += int(su.get("failures", 0)) + int(su.get("errors", 0))
    s += int(su.get("skipped", 0))
print(t - f - s, f, s)
PY
)
    set -- $counts
    passed=$((passed + $1))
    failed=$((failed + $2))
    skipped=$((skipped + $3))
else
    echo "integration suite did not run"
    failed=$((failed + 1))
fi

echo
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
