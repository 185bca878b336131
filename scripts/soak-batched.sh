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
# when the pipeline dies before the time is up. For a short GPU run
# (pipelines/gpu-check.sh) these change the defaults: SOAK_SECONDS (instead
# of MINUTES), SOAK_SAMPLE_S (60), SOAK_BUILD (build/), SOAK_SIZE (96x72,
# the input) and SOAK_ELEMENT (threads=2: more element properties). Where
# nvidia-smi answers, the GPU's used memory is sampled too.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
minutes=${1:-30} streams=${2:-4} model=${3:-$repo/models/default.i2sb}
for n in "$minutes" "$streams"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "soak-batched: '$n' is not a positive number" >&2; exit 2; }
done
[ -f "$model" ] || { echo "soak-batched: no model at $model" >&2; exit 1; }
seconds=${SOAK_SECONDS:-$((minutes * 60))} sample=${SOAK_SAMPLE_S:-60}
size=${SOAK_SIZE:-96x72} element=${SOAK_ELEMENT:-threads=2}
for n in "$seconds" "$sample"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "soak-batched: '$n' is not a positive number of seconds" >&2; exit 2; }
done
[[ $size =~ ^[1-9][0-9]*x[1-9][0-9]*$ ]] || { echo "soak-batched: SOAK_SIZE '$size' is not WxH" >&2; exit 2; }
export GST_PLUGIN_PATH=${SOAK_BUILD:-$repo/build}/gst-plugin
gpu=0
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits >/dev/null 2>&1 && gpu=1

# One branch per stream, each with its own pattern and seed. The model runs
# are counted from the element's LOG lines ("frame N: batch of K").
branches=()
patterns=(smpte ball snow circular)
for ((i = 0; i < streams; i++)); do
  # shellcheck disable=SC2206  # SOAK_ELEMENT: properties, word by word
  branches+=(videotestsrc "pattern=${patterns[i % 4]}" is-live=false !
             "video/x-raw,width=${size%x*},height=${size#*x},format=RGB" !
             i2sbseg "model=$model" "batch-size=$streams" batch-timeout=50 "seed=$((i + 1))" $element !
             fakesink sync=false)
done

log=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
GST_DEBUG=i2sbseg:6 gst-launch-1.0 -q "${branches[@]}" 2>"$log" >/dev/null &
pid=$!

gpu_head="" gpu_rule=""
[ $gpu = 0 ] || gpu_head=" GPU memory used (MiB) |" gpu_rule=" --- |"
echo "| second | RSS (MiB) |$gpu_head model runs so far |"
echo "| --- | --- |$gpu_rule --- |"
for ((t = sample; t <= seconds; t += sample)); do
  sleep "$sample"
  kill -0 "$pid" 2>/dev/null || { echo "soak-batched: the pipeline died at second $t" >&2; tail -20 "$log" >&2; exit 1; }
  rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
  mem=""
  [ $gpu = 0 ] || mem=" $(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1) |"
  runs=$(grep -c "batch of" "$log" || true)
  echo "| $t | $rss |$mem $runs |"
done
