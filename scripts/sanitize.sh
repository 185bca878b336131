#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds i2sbseg with sanitizers in a folder of its own and runs tests there.
#
#   bash scripts/sanitize.sh address [meson test args]  # ASan + UBSan, build-asan/, the whole suite
#   bash scripts/sanitize.sh thread  [meson test args]  # TSan, build-tsan/, the concurrency and batching tests
#
# Both use meson's own b_sanitize option; tests/meson.build then sets the
# sanitizer options (stop at the first report) and the suppression files in
# scripts/sanitizers/ (third-party libraries only). CUDA and the fuzzer are
# left out: nvcc code is not instrumented, the fuzzer has its own ASan build.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-address}
[ $# -gt 0 ] && shift
case "$kind" in
  address) dir=build-asan sanitize=address,undefined ;;
  thread) dir=build-tsan sanitize=thread ;;
  *) echo "sanitize: the first argument is 'address' or 'thread', not '$kind'" >&2; exit 2 ;;
esac
bash scripts/install-deps.sh
options=(-Dtests=enabled -Db_sanitize=$sanitize -Db_lundef=false -Dcuda=disabled -Dfuzzer=disabled)
if [ -f "$dir/build.ninja" ]; then
  meson setup --reconfigure "$dir" "${options[@]}"
else
  meson setup "$dir" "${options[@]}"
fi
if [ "$kind" = thread ]; then
  # Only what the threaded tests need (the library, the plugin, the tests).
  meson compile -C "$dir" gst-plugin/gsti2sbseg tests/test_element_concurrency tests/test_concurrency \
    tests/test_element_batching
  [ $# -gt 0 ] || set -- concurrency element-concurrency element-batching
else
  meson compile -C "$dir"
fi
# Instrumented code runs a few times slower: the tests' own time limits
# (300-600 s) are scaled by 4, else the training tests time out under ASan.
meson test -C "$dir" --print-errorlogs --timeout-multiplier 4 "$@"
