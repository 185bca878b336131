#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes v2 models with the shipped recipe: default.i2sb (LR encoder -> bridge
# -> sub-pixel decoder; what the element and demo load) and direct.i2sb (the
# direct baseline: the same classifier and LR encoder, no bridge), then
# evaluates both on the validation split. About 31-40 minutes on a 2-core CPU.
# The shipped models (2026-12-08) were made with DATA=data/teacher-mix (from
# scripts/make-teacher-dataset.sh --no-far) OUT=data/train-A/models
# WORK=data/train-A, then copied into models/ (models/README.md); without
# DATA it trains on the earlier composites-only data/default.
# The bridge network is conv_bn (folds at load, docs/design.md §4).
# OUT=DIR writes the models there instead of models/ (to compare before
# replacing); checkpoints and logs go to data/train-default/ (WORK=DIR); RESUME=1
# continues an interrupted run; THREADS=N sets the CPU threads (2);
# DEVICE=cuda trains on a GPU (same recipe and seed; GPU kernels are not
# bit-identical to the CPU's, so expect close, not equal, figures; not yet
# run on one). DATA=PATH trains and evaluates on another dataset folder or
# packed file: on a GPU machine, the compact pack of data/default that
# `GST=0 FULL_PACK=85 bash scripts/make-gpu-kit.sh` makes (pipelines/gpu-train.sh).
# The v1 recipe the earlier models were made with: models/v1/train-v1.sh.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
tool=${I2SBSEG_TOOL:-build/tools/i2sbseg}
out=${OUT:-models}
work=${WORK:-data/train-default}
data=${DATA:-data/default}
mkdir -p "$work" "$out"
if [ "$data" = data/default ]; then
  [ -f data/default/classes.json ] || bash scripts/make-default-dataset.sh --tool "$tool"
elif [ ! -e "$data" ]; then
  echo "train-default: DATA=$data does not exist" >&2
  exit 1
fi

resume=()
[ "${RESUME:-0}" = 1 ] && resume=(--resume)
# BRIDGE_ONLY=1: the last three stages (bridge, decoder fine-tune, end to
# end) alone, from the direct baseline the first two stages wrote (INIT,
# default models/direct.i2sb; `train --init`): how the shipped conv_bn
# default was made on 2026-12-04 from the direct model of 2026-11-30 (~12
# minutes on 2 cores).
if [ "${BRIDGE_ONLY:-0}" = 1 ]; then
  init=${INIT:-models/direct.i2sb}
  [ -f "$init" ] || { echo "train-default: BRIDGE_ONLY=1 needs the direct model $init" >&2; exit 1; }
  [ "$init" -ef "$out/direct.i2sb" ] || cp "$init" "$out/direct.i2sb"  # the eval's baseline below
  "$tool" train --init "$init" --data "$data" --threads ${THREADS:-2} --seed 1 --device "${DEVICE:-cpu}" \
    --class-weights none --checkpoint-every 500 \
    --bridge-type conv_bn --bridge-channels 32 --bridge-blocks 2 --nfe 1 --bridge-iters 5000 --finetune-iters 1000 \
    --e2e-iters 2000 "${resume[@]}" --out "$out/default.i2sb" \
    --checkpoint "$work/default.ckpt" --log "$work/default.log.jsonl"
else
# The flags spell out the defaults of `i2sbseg train`, so the recipe reads
# here. --direct-out writes the direct baseline (the classifier and LR
# encoder, no bridge) when the LR-encoder stage ends: the baseline differs
# from the bridge model only by the bridge, the decoder fine-tune and the
# end-to-end stage. Settings chosen on the validation split (models/README.md).
"$tool" train --arch v2 --data "$data" --scale 4 --crop 128 --batch 8 --threads ${THREADS:-2} --seed 1 \
  --device "${DEVICE:-cpu}" \
  --class-weights none --checkpoint-every 500 --classifier-iters 6000 --direct-iters 4000 \
  --bridge-type conv_bn --bridge-channels 32 --bridge-blocks 2 --nfe 1 --bridge-iters 5000 --finetune-iters 1000 \
  --e2e-iters 2000 "${resume[@]}" --out "$out/default.i2sb" --direct-out "$out/direct.i2sb" \
  --checkpoint "$work/default.ckpt" --log "$work/default.log.jsonl"
fi

"$tool" eval "$out/default.i2sb" --data "$data" --split val --baseline "$out/direct.i2sb" --threads ${THREADS:-2} \
  --device "${DEVICE:-cpu}" \
  --json-out "$work/eval.json" | tee "$work/eval.txt"
