#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Packs what pipelines/gpu-check.sh needs beyond PyTorch, CMake, meson and nvcc
# into .gpukit/ (git-ignored, ~31 MB), for a GPU machine without a package
# registry: header-only libraries, Gloo's headers, GoogleTest's sources,
# ninja, and Debian's GStreamer with pkg-config in .gpukit/gst
# (scripts/make-gst-kit.sh; GST=0 leaves it out, saving ~27 MB). Run here
# (after scripts/install-deps.sh), then carry .gpukit with the tree.
# FULL_PACK=Q (e.g. 85) also packs all of data/default with JPEG images of
# that quality (~37 MB at 85) and Debian's libjpeg to read it, for
# pipelines/gpu-train.sh; with GST=0 the kit then fits the 64 MiB a call carries.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/deb-fetch.sh
. "$repo/scripts/deb-fetch.sh"
kit="$repo/.gpukit"
rm -rf "$kit"
mkdir -p "$kit/include" "$kit/bin" "$kit/src"
cp -r /usr/include/nlohmann /usr/include/CLI "$kit/include/"
# Gloo's headers (libgloo-dev): PyTorch's wheels have c10d's but not these,
# without which meson builds no distributed training (seen on an H200).
# Apart: gpu-check uses them only if c10d's Gloo header compiles with them.
mkdir -p "$kit/gloo/include"
cp -r /usr/include/gloo "$kit/gloo/include/"
cp -r /usr/src/googletest/googletest "$kit/src/"
cp /usr/bin/ninja "$kit/bin/"
[ "${GST:-1}" = 0 ] || bash "$repo/scripts/make-gst-kit.sh"
# A small packed training set (the GPU build has no OpenCV to read image
# folders): 64 images per split of data/default, ~8 MB, for the training
# throughput step. Needs the dataset and a built tool here.
tool=${I2SBSEG_TOOL:-$repo/build/tools/i2sbseg}
if [ -n "${FULL_PACK:-}" ]; then
  [ -d "$repo/data/default" ] && [ -x "$tool" ] ||
    { echo "make-gpu-kit: FULL_PACK needs data/default and $tool" >&2; exit 1; }
  "$tool" pack "$repo/data/default" --out "$kit/default.pack" --jpeg-quality "$FULL_PACK"
  deb_unpack "$kit/jpeg" libjpeg62-turbo libjpeg62-turbo-dev
  rm -rf "$kit/jpeg/usr/share" "$kit/jpeg/usr/lib/x86_64-linux-gnu/libjpeg.a"  # the shared library is enough
elif [ -d "$repo/data/default" ] && [ -x "$tool" ]; then
  "$tool" pack "$repo/data/default" --out "$kit/train.pack" --max-per-split 64
else
  echo "make-gpu-kit: no data/default or no $tool: the kit has no training set (gpu-check skips that step)"
fi
du -sh "$kit"
