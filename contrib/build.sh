#!/bin/sh
# Builds certdns.
#
#   contrib/build.sh [CONFIGURE_ARGS...]
#       Configures (once) and builds in the source tree: ./certdnsd, ./certdnsctl.
#       Extra arguments go to configure.
#
#   contrib/build.sh --sanitizers [DIR]
#       Builds a second copy instrumented with AddressSanitizer and UBSan in DIR
#       (default: build/asan, ignored by git): DIR/certdnsd, DIR/certdnsctl.
#
# Why a copy and not a VPATH build: automake refuses a VPATH build while the
# source directory is configured in place, and the in-place build is the one
# demo.sh and everyone's edit-compile loop use.  So DIR gets a copy of the files
# git knows (tracked, plus new files not ignored, as they are in the work tree,
# modification times kept) and is configured in place.  Running this again
# refreshes the copy and rebuilds only what changed.
set -eu
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--sanitizers" ]; then
    [ -x configure ] || autoreconf --install
    [ -f Makefile ] || ./configure "$@"
    exec make -j"$(nproc)"
fi

dir=${2:-build/asan}
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "contrib/build.sh --sanitizers: $(pwd) is not a git work tree; the copy is made" \
         "from 'git ls-files' (build by hand: ./configure --enable-sanitizers in a clean tree)" >&2
    exit 1
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
case "$dir/" in
    "$(pwd)/"?*)                # inside the tree: git must ignore it, or it copies itself
        if ! git check-ignore -q "$dir/"; then
            echo "contrib/build.sh --sanitizers: $dir is inside the source tree and not" \
                 "ignored by git; use build/NAME or a directory outside the tree" >&2
            exit 1
        fi ;;
    "$(pwd)/")
        echo "contrib/build.sh --sanitizers: DIR must not be the source tree itself" >&2
        exit 1 ;;
esac
manifest="$dir/.certdns-source-files"
# Files copied last time go first, so that a file deleted or renamed here
# does not live on in the copy (kept modification times keep make incremental).
if [ -f "$manifest" ]; then
    (cd "$dir" && xargs -0 rm -f < "$manifest")
fi
git ls-files -z --cached --others --exclude-standard --deduplicate > "$manifest.new"
# --ignore-failed-read: a tracked file deleted in the work tree is not copied (tar says so).
tar --null --files-from="$manifest.new" --ignore-failed-read -cf - \
    | tar -xpf - -C "$dir"
mv "$manifest.new" "$manifest"

cd "$dir"
[ -x configure ] || autoreconf --install
[ -f Makefile ] || ./configure --enable-sanitizers
make -j"$(nproc)"
