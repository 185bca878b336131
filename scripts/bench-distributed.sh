#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Training throughput (images/s of the classifier stage) for 1 process and
# for N processes on this machine, as docs/distributed.md reports it.
#   bash scripts/bench-distributed.sh [--data DIR] [--procs N] [--iters K] [--batch B]
# --batch is per process; each process runs one LibTorch thread, and the
# single-process rows run with 1 and with N threads.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
data="$repo/data/default" procs=2 iters=40 batch=8 tool=${I2SBSEG_TOOL:-$repo/build/tools/i2sbseg}
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --procs) procs=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    *) echo "bench-distributed: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -d "$data" ] || { echo "bench-distributed: no dataset at $data (bash scripts/make-default-dataset.sh)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/i2sbseg-bench-dist-XXXXXX")
trap 'rm -rf "$work"' EXIT
# v1, as docs/distributed.md measured (v2's BatchNorm statistics are per rank).
args=(--arch v1 --data "$data" --crop 96 --classifier-iters "$iters" --bridge-iters 1 --finetune-iters 0 --e2e-iters 0 --log-every "$iters" --quiet)
# images/s of the classifier stage from a run's log.
ips() { grep '"stage":"classifier"' "$1" | tail -n 1 | sed 's/.*"images_per_s":\([0-9.]*\).*/\1/'; }

OMP_NUM_THREADS=1 "$tool" train "${args[@]}" --batch "$batch" --threads 1 --out "$work/a.i2sb"
echo "1 process, 1 thread, batch $batch: $(ips "$work/a.i2sb.log.jsonl") images/s"
OMP_NUM_THREADS=$procs "$tool" train "${args[@]}" --batch $((batch * procs)) --threads "$procs" --out "$work/b.i2sb"
echo "1 process, $procs threads, batch $((batch * procs)): $(ips "$work/b.i2sb.log.jsonl") images/s"
port=$((29500 + RANDOM % 1000))
for r in $(seq 0 $((procs - 1))); do
  WORLD_SIZE=$procs RANK=$r MASTER_PORT=$port OMP_NUM_THREADS=1 \
    "$tool" train "${args[@]}" --batch "$batch" --threads 1 --out "$work/c.i2sb" &
done
wait
echo "$procs processes, 1 thread each, batch $batch each: $(ips "$work/c.i2sb.log.jsonl") images/s"
