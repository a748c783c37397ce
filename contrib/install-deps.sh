#!/bin/sh
# Installs the Debian 12 packages certdns needs to build and test, if missing.
# usage: contrib/install-deps.sh [--bench]   (--bench adds Knot, NSD and dnsperf)
set -eu
pkgs="build-essential autoconf automake libtool pkg-config
      libldns-dev libuv1-dev liblmdb-dev libssl-dev libcurl4-openssl-dev libjansson-dev
      libcmocka-dev lmdb-utils ldnsutils knot-dnsutils dnsutils
      python3 python3-dnspython python3-pytest knot nsd pebble unbound openssl valgrind"
if [ "${1:-}" = "--bench" ]; then
    pkgs="$pkgs dnsperf"
fi
# Optional: clang and libFuzzer for `make fuzz` (tests/fuzz).  The build and
# `make check` do not need them, so failing to install them is only a warning.
fuzz_pkgs="clang libfuzzer-14-dev"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
fuzz_missing=""
for p in $fuzz_pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || fuzz_missing="$fuzz_missing $p"
done
[ -z "$missing$fuzz_missing" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
if [ -n "$missing" ]; then
    echo "installing:$missing"
    # shellcheck disable=SC2086
    $sudo apt-get install -y --no-install-recommends $missing
fi
if [ -n "$fuzz_missing" ]; then
    echo "installing (optional, for make fuzz):$fuzz_missing"
    # shellcheck disable=SC2086
    $sudo apt-get install -y --no-install-recommends $fuzz_missing ||
        echo "warning: could not install$fuzz_missing: the build and make check work" \
             "without them, make fuzz does not" >&2
fi
