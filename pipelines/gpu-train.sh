#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The CUDA variant of models/train-default.sh on a GPU machine without
# OpenCV or a package registry: builds the i2sbseg tool against that
# machine's PyTorch (no GStreamer, no tests), then trains the shipped
# recipe on the compact pack of data/default that the kit carries and
# evaluates it on the pack's validation split.
#
#   here:  GST=0 FULL_PACK=85 bash scripts/make-gpu-kit.sh   (.gpukit, ~41 MB)
#   there: bash pipelines/gpu-train.sh                       (carry .gpukit)
#
# Models, log and evaluation go to $OUT (default out/gpu-train):
# default.i2sb, direct.i2sb (about 6 MB each), eval.txt, default.log.jsonl.
# Evaluate them here on the PNG validation split before shipping them.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
out=${OUT:-out/gpu-train}
mkdir -p "$out"
exec > >(tee -a "$out/gpu-train.log") 2>&1
# The kit's ninja and headers, CUDA's bin; gpu_env_jpeg, gpu_env_torch, gpu_meson_setup.
# shellcheck source=SCRIPTDIR/gpu-env.sh
. pipelines/gpu-env.sh
pack="$kit/default.pack"
[ -f "$pack" ] || { echo "gpu-train: no $pack (GST=0 FULL_PACK=85 bash scripts/make-gpu-kit.sh)"; exit 1; }
# The kit's libjpeg decodes the pack's images.
gpu_env_jpeg
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || exit 1
gpu_env_torch || exit 1
build="build-gpu-train"
gpu_meson_setup "$build" -Dtests=disabled -Dgstreamer=disabled || exit 1
grep -qiE "JPEG packed datasets \(libjpeg\): *(true|yes)" "$out/meson-setup.log" ||
  { echo "gpu-train: this build has no libjpeg to read the pack"; grep -i jpeg "$out/meson-setup.log"; exit 1; }
ninja -C "$build" tools/i2sbseg >"$out/build.log" 2>&1 || { grep -m5 -A12 error "$out/build.log"; exit 1; }
echo "built in ${SECONDS}s"
start=$SECONDS
I2SBSEG_TOOL="$build/tools/i2sbseg" DATA="$pack" DEVICE=cuda OUT="$out" WORK="$out/work" THREADS=${THREADS:-8} \
  bash models/train-default.sh
status=$?
cp "$out/work/default.log.jsonl" "$out/work/eval.txt" "$out/" 2>/dev/null
echo "gpu-train: exit $status after $((SECONDS - start)) s of training and evaluation"
exit $status
