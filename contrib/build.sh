#!/bin/sh
# Configures (once) and builds certdns in the source tree.  Extra arguments go to configure.
set -eu
cd "$(dirname "$0")/.."
[ -x configure ] || autoreconf --install
[ -f Makefile ] || ./configure "$@"
make -j"$(nproc)"
