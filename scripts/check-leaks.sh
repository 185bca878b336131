#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Valgrind memcheck over what users run: (1) train -> save -> load (`i2sbseg
# eval` loads and runs the bundle the training wrote), (2) a pipeline of N
# frames through the element. Fails on any memcheck error or definitely-lost
# byte that scripts/valgrind.supp does not name; that file suppresses only
# GLib/GStreamer/LibTorch/glibc internals, each entry with its reason.
#
#   bash scripts/check-leaks.sh [--frames N] [--build DIR]
#
# Needs the build (meson compile -C build), valgrind, and data/default (or it
# makes a 16-image dataset with scripts/make-default-dataset.sh). Slow:
# LibTorch under valgrind runs some 50x slower; about 10 minutes on 2 cores.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
frames=100 build="$repo/build"
while [ $# -gt 0 ]; do
  case "$1" in
    --frames) frames=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "check-leaks: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "check-leaks: valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
tool="$build/tools/i2sbseg"
[ -x "$tool" ] || { echo "check-leaks: no $tool: build first (meson setup build && meson compile -C build)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/i2sbseg-leaks-XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 GST_PLUGIN_PATH="$build/gst-plugin" GST_REGISTRY="$work/registry.bin"
gst-inspect-1.0 i2sbseg >/dev/null  # the registry, written outside valgrind

vg() {
  local name=$1; shift
  echo "check-leaks: $name: valgrind $*" >&2
  local rc=0
  valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --suppressions="$repo/scripts/valgrind.supp" --num-callers=40 --error-exitcode=99 \
    --log-file="$work/$name.log" "$@" || rc=$?
  grep -E "definitely lost|ERROR SUMMARY" "$work/$name.log" | sed "s/^==[0-9]*==/  $name:/" >&2
  if [ "$rc" -ne 0 ]; then
    echo "check-leaks: $name failed (exit $rc); the report:" >&2
    cat "$work/$name.log" >&2
    exit 1
  fi
}

# 1. train -> save -> load on 16 images.
src="$repo/data/default"
if [ ! -f "$src/classes.json" ]; then
  bash "$repo/scripts/make-default-dataset.sh" --count 16 --size 64 --out "$work/made" --tool "$tool" >&2
  src="$work/made"
fi
mkdir -p "$work/data/images" "$work/data/masks"
cp "$src/classes.json" "$work/data/"
for stem in $(ls "$src/masks" | head -n 16 | sed 's/\.png$//'); do
  cp "$src/images/$stem".* "$work/data/images/"
  cp "$src/masks/$stem.png" "$work/data/masks/"
  echo "$stem"
done > "$work/all.txt"
head -n 12 "$work/all.txt" > "$work/data/train.txt"
tail -n 4 "$work/all.txt" > "$work/data/val.txt"
vg train "$tool" train --data "$work/data" --out "$work/m.i2sb" --latent-channels 4 \
  --bridge-channels 8 --bridge-blocks 1 --crop 32 --batch 2 --threads 1 --classifier-iters 4 --direct-iters 4 \
  --bridge-iters 4 --finetune-iters 0 --e2e-iters 0 \
  --checkpoint-every 2 --quiet
vg load "$tool" eval "$work/m.i2sb" --data "$work/data" --split val --nfe 1 2 --threads 1
# 2. The element: N frames on the model just trained (the shipped model's
#    wider networks take far longer under valgrind; the code paths are the same).
vg pipeline gst-launch-1.0 -q videotestsrc num-buffers="$frames" pattern=ball ! \
  video/x-raw,format=RGB,width=16,height=12 ! i2sbseg model="$work/m.i2sb" alpha=0.5 ! fakesink

echo "check-leaks: no memcheck errors and no definitely-lost bytes outside scripts/valgrind.supp" >&2
