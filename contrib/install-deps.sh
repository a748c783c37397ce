#!/bin/sh
# Installs the Debian 12 packages certdns needs to build and test, if missing.
# usage: contrib/install-deps.sh [--bench]   (--bench adds Knot, NSD and dnsperf)
set -eu
pkgs="build-essential autoconf automake libtool pkg-config
      libldns-dev libuv1-dev liblmdb-dev libssl-dev libcurl4-openssl-dev libjansson-dev
      libcmocka-dev lmdb-utils ldnsutils knot-dnsutils dnsutils
      python3 python3-dnspython python3-pytest knot nsd pebble unbound openssl"
if [ "${1:-}" = "--bench" ]; then
    pkgs="$pkgs dnsperf"
fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
# shellcheck disable=SC2086
$sudo apt-get install -y --no-install-recommends $missing
