#!/bin/sh
# tests/fuzz/run.sh - build the input-parsing fuzz target (fuzz_input.c)
# with clang's libFuzzer, ASan and UBSan, then fuzz it for a while.
#
#   tests/fuzz/run.sh [BUILD_DIR]        (default /tmp/cpa-fuzz)
#   FUZZ_SECONDS=N                        run time (default 30)
#   CC=clang-14                           another clang
#
# The seed corpus in tests/fuzz/corpus is copied into BUILD_DIR/corpus, so
# new inputs never land in the source tree.  A crash leaves its input in
# BUILD_DIR/artifacts/ and makes this script exit non-zero; replay it with
#   BUILD_DIR/fuzz_input BUILD_DIR/artifacts/crash-...
# Needs clang and libclang-rt-14-dev (Debian 12) plus the build deps.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-/tmp/cpa-fuzz}
seconds=${FUZZ_SECONDS:-30}
cc=${CC:-clang}

case $seconds in
''|*[!0-9]*) echo "run.sh: FUZZ_SECONDS must be a whole number" >&2; exit 2 ;;
esac
command -v "$cc" >/dev/null 2>&1 || {
	echo "run.sh: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 2
}

pkgs="jansson libpq hiredis fcgi libcrypto libargon2"
cflags=$(pkg-config --cflags $pkgs)
libs=$(pkg-config --libs $pkgs)

# The library sources the target reaches, compiled straight in.
srcs=""
for f in arena crypto validate form json request; do
	srcs="$srcs $repo/common/$f.c"
done

mkdir -p "$out/corpus" "$out/artifacts"
echo "run.sh: building $out/fuzz_input"
# shellcheck disable=SC2086
"$cc" -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    -std=c11 -D_GNU_SOURCE -Wall -Wextra -I"$repo/common" $cflags \
    "$here/fuzz_input.c" $srcs -o "$out/fuzz_input" $libs

cp "$here"/corpus/* "$out/corpus/"

echo "run.sh: fuzzing for $seconds s"
# libFuzzer exits non-zero on a crash, a leak, a sanitizer report or a
# timeout; set -e passes that on.
"$out/fuzz_input" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$out/corpus"
echo "run.sh: no crash in $seconds s"
