#!/bin/sh
# The README's first command: installs what is missing, builds, loads the demo
# zones from zones/ into ./demo-db and runs certdnsd on 127.0.0.1:5353 in the
# foreground (Ctrl-C stops it).  No root needed except to install packages.
set -eu
cd "$(dirname "$0")/.."
contrib/install-deps.sh
contrib/build.sh
db=./demo-db
for zone in zones/*.zone; do
    ./certdnsctl --db "$db" zone import "$zone"
done
cat <<TXT

certdnsd is starting on 127.0.0.1:5353 with the demo zone example.test. Try, in another shell:
    kdig @127.0.0.1 -p 5353 www.example.test A
    dig @127.0.0.1 -p 5353 _acme-challenge.example.test TXT +norec
    kdig @127.0.0.1 -p 5353 +tcp nothere.example.test A
Stop it with Ctrl-C.

TXT
exec ./certdnsd --db "$db" --listen 127.0.0.1:5353
