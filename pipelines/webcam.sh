#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Live segmentation of a V4L2 camera: v4l2src -> videoconvert -> videoscale
# (to a low resolution the CPU can keep up with) -> i2sbseg -> a window.
# The camera's frames are shrunk first: i2sbseg's output is the model's scale
# factor times its input, so 96x72 in gives 384x288 out with the x4 model.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<'USAGE'
usage: bash pipelines/webcam.sh [--device /dev/videoN] [--model PATH] [--size WxH] [--interval N]

  --device    V4L2 device (default /dev/video0)
  --size      size fed to i2sbseg (default 96x72)
  --interval  run the model every Nth frame, reuse its map between (default 2)
  --model     model bundle (default models/default.i2sb)
Needs a display (autovideosink). On a CUDA machine try --size 160x120.
USAGE
}

cam=/dev/video0 model="$root/models/default.i2sb" size=96x72 interval=2
while [ $# -gt 0 ]; do
  case "$1" in
    --device) cam="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "webcam: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$size" =~ ^([0-9]+)x([0-9]+)$ ]] || { echo "webcam: --size must be WxH" >&2; exit 2; }
w="${BASH_REMATCH[1]}" h="${BASH_REMATCH[2]}"
[ -c "$cam" ] || { echo "webcam: no camera at $cam (is one plugged in? list them with: ls /dev/video*)" >&2; exit 1; }
[ -r "$cam" ] && [ -w "$cam" ] || { echo "webcam: no permission on $cam (add yourself to the 'video' group)" >&2; exit 1; }
[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || { echo "webcam: no display (\$DISPLAY / \$WAYLAND_DISPLAY unset) for autovideosink" >&2; exit 1; }
need_i2sbseg
need_model "$model"
gst-inspect-1.0 v4l2src >/dev/null 2>&1 || { echo "webcam: no v4l2src element: install gstreamer1.0-plugins-good" >&2; exit 1; }

# leaky queue: drop camera frames rather than fall behind when the model is slow.
gst-launch-1.0 -e v4l2src device="$cam" ! videoconvert ! videoscale ! "video/x-raw,width=$w,height=$h" \
  ! queue leaky=downstream max-size-buffers=1 \
  ! i2sbseg model="$model" interval="$interval" ! videoconvert ! autovideosink sync=false
