#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes models/v1/default.i2sb (the v1 bridge model the element and demo
# shipped with until the v2 models)
# and models/v1/direct.i2sb (the direct baseline: the classifier fine-tuned on
# LR-up input, no bridge), then evaluates both on the validation split.
# About 50 minutes on a 2-core CPU. Checkpoints and logs go to data/train-default/;
# rerun with RESUME=1 to continue an interrupted run; THREADS=N sets the CPU threads (2).
# The settings spelled out below were `i2sbseg train`'s defaults (TrainOptions)
# until v2 became the default; the direct run takes v1 from its --init bundle.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
tool=${I2SBSEG_TOOL:-build/tools/i2sbseg}
work=data/train-v1
mkdir -p "$work"
[ -f data/default/classes.json ] || bash scripts/make-default-dataset.sh --tool "$tool"

resume=()
[ "${RESUME:-0}" = 1 ] && resume=(--resume)
common=(--data data/default --scale 4 --crop 96 --batch 8 --threads ${THREADS:-2} --seed 1 --checkpoint-every 250)

"$tool" train "${common[@]}" "${resume[@]}" --out models/v1/default.i2sb \
  --checkpoint "$work/default.ckpt" --log "$work/default.log.jsonl" \
  --arch v1 --widths 24 48 96 --latent-channels 64 --bridge-channels 64 --bridge-blocks 3 --nfe 2 \
  --classifier-iters 2000 --bridge-iters 3500 --finetune-iters 500

"$tool" train "${common[@]}" --direct --init models/v1/default.i2sb --out models/v1/direct.i2sb \
  --checkpoint "$work/direct.ckpt" --log "$work/direct.log.jsonl" --direct-iters 700

"$tool" eval models/v1/default.i2sb --data data/default --split val --baseline models/v1/direct.i2sb --threads ${THREADS:-2} \
  --json-out "$work/eval.json" | tee "$work/eval.txt"
