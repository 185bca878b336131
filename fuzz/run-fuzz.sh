#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs a fuzzer (the bundle's, or the packed codec's) for SECONDS over fresh
# seeds (valid inputs its MAKE_SEEDS program writes) and fails on any crash,
# hang, leak or sanitizer report.
#   run-fuzz.sh FUZZER MAKE_SEEDS SECONDS [CORPUS_DIR]
# CORPUS_DIR keeps what the run found (default: a temporary folder).
set -euo pipefail
fuzzer=$1 make_seeds=$2 seconds=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/i2sbseg-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
corpus=${4:-$work/corpus}
mkdir -p "$corpus" "$work/seeds" "$work/artifacts"
"$make_seeds" "$work/seeds"
# -timeout: an input taking over 10 s is a hang; -rss_limit_mb: a bundle that
# makes the loader allocate gigabytes is a bug too.
if ! "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$corpus" "$work/seeds" 2>"$work/log"; then
  tail -n 60 "$work/log"
  for f in "$work"/artifacts/*; do
    [ -e "$f" ] && { echo "failing input ($f):"; od -A d -t x1 "$f" | head -n 40; }
  done
  exit 1
fi
grep -E "^(stat::|#[0-9]+.*DONE)" "$work/log" || tail -n 5 "$work/log"
