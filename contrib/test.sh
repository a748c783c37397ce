#!/bin/sh
# The README's second command: installs what is missing, builds, runs every test
# (cmocka unit tests and the integration suite against a real certdnsd).
set -eu
cd "$(dirname "$0")/.."
contrib/install-deps.sh
contrib/build.sh
make -s --no-print-directory check
