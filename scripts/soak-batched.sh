#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Soak test of batching (docs/reliability.md): STREAMS i2sbseg elements with
# batch-size STREAMS on one model in one gst-launch-1.0 process, endless test
# patterns, for MINUTES minutes; the process's resident memory is sampled
# every minute and printed as a table (minute, RSS MiB, frames per stream so
# far). Growth after the first minutes would be a leak.
#
#   bash scripts/soak-batched.sh [MINUTES] [STREAMS] [MODEL]
#
# Needs a build in build/ (GST_PLUGIN_PATH=build/gst-plugin). Exits nonzero
# when the pipeline dies before the time is up.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
minutes=${1:-30} streams=${2:-4} model=${3:-$repo/models/default.i2sb}
for n in "$minutes" "$streams"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "soak-batched: '$n' is not a positive number" >&2; exit 2; }
done
[ -f "$model" ] || { echo "soak-batched: no model at $model" >&2; exit 1; }
export GST_PLUGIN_PATH=$repo/build/gst-plugin

# One branch per stream, each with its own pattern and seed. The model runs
# are counted from the element's LOG lines ("frame N: batch of K").
branches=()
patterns=(smpte ball snow circular)
for ((i = 0; i < streams; i++)); do
  branches+=(videotestsrc "pattern=${patterns[i % 4]}" is-live=false !
             video/x-raw,width=96,height=72,format=RGB !
             i2sbseg "model=$model" "batch-size=$streams" batch-timeout=50 "seed=$((i + 1))" threads=2 !
             fakesink sync=false)
done

log=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
GST_DEBUG=i2sbseg:6 gst-launch-1.0 -q "${branches[@]}" 2>"$log" >/dev/null &
pid=$!

echo "| minute | RSS (MiB) | model runs so far |"
echo "| --- | --- | --- |"
for ((m = 1; m <= minutes; m++)); do
  sleep 60
  kill -0 "$pid" 2>/dev/null || { echo "soak-batched: the pipeline died at minute $m" >&2; tail -20 "$log" >&2; exit 1; }
  rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
  runs=$(grep -c "batch of" "$log" || true)
  echo "| $m | $rss | $runs |"
done
