#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Writes i2sbseg's class-index masks (mode=mask: GRAY8, pixel value = class
# index, at the model's scale x the input size) of a video file or an image
# sequence to numbered PNG files.
#
#   bash pipelines/mask-to-png.sh --input clip.avi --out masks/
#   bash pipelines/mask-to-png.sh --input 'frames/img_%05d.png' --out masks/
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<'USAGE'
usage: bash pipelines/mask-to-png.sh --input FILE|PATTERN --out DIR [--model PATH] [--size WxH] [--frames N]

  --input     a video file (anything decodebin reads), or a printf pattern of
              PNG/JPEG images such as 'dir/img_%05d.png' (numbered from 0)
  --out DIR   where mask_00000.png, mask_00001.png, ... go (created)
  --model     model bundle (default models/default.i2sb)
  --size WxH  scale the input to this size first (default: keep its size)
  --frames N  stop after N frames (default: all)
Mask pixel values are class indices; see `build/tools/i2sbseg info MODEL` for the names.
USAGE
}

input="" out="" model="$root/models/default.i2sb" size="" frames=""
while [ $# -gt 0 ]; do
  case "$1" in
    --input) input="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --frames) frames="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "mask-to-png: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$input" ] && [ -n "$out" ] || { usage >&2; exit 2; }
need_i2sbseg
need_model "$model"

if [[ "$input" == *%* ]]; then
  first=$(printf "$input" 0)
  [ -f "$first" ] || { echo "mask-to-png: no first image '$first' for pattern '$input'" >&2; exit 1; }
  case "${input,,}" in
    *.png) dec="pngdec" ;;
    *.jpg|*.jpeg) dec="jpegdec" ;;
    *) echo "mask-to-png: image patterns must end in .png, .jpg or .jpeg" >&2; exit 2 ;;
  esac
  src=(multifilesrc location="$input" index=0 caps="image/${dec%dec},framerate=1/1")
  # multifilesrc counts images itself (identity eos-after would drop one).
  [ -z "$frames" ] || src+=(stop-index=$((frames - 1)))
  src+=(! "$dec")
  frames=""
else
  [ -f "$input" ] || { echo "mask-to-png: no input file '$input'" >&2; exit 1; }
  src=(filesrc location="$input" ! decodebin)
fi
scale=(videoscale)
if [ -n "$size" ]; then
  [[ "$size" =~ ^([0-9]+)x([0-9]+)$ ]] || { echo "mask-to-png: --size must be WxH" >&2; exit 2; }
  scale=(videoscale ! "video/x-raw,width=${BASH_REMATCH[1]},height=${BASH_REMATCH[2]}")
fi
limit=()
[ -z "$frames" ] || limit=(identity eos-after="$frames" !)

mkdir -p "$out"
gst-launch-1.0 -q -e "${src[@]}" ! videoconvert ! "${scale[@]}" ! "${limit[@]}" \
  i2sbseg model="$model" mode=mask ot-ode=true ! pngenc ! multifilesink location="$out/mask_%05d.png"
echo "mask-to-png: $(ls "$out" | grep -c '^mask_') masks in $out (pixel value = class index)"
