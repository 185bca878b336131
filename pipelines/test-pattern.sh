#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# videotestsrc -> i2sbseg -> a window (autovideosink), or, with no display or
# with --out, an MJPEG AVI file; --fakesink just runs it (a smoke test).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<'USAGE'
usage: bash pipelines/test-pattern.sh [--model PATH] [--pattern NAME] [--size WxH] [--frames N]
                                      [--out FILE.avi | --fakesink]

  --pattern  videotestsrc pattern (default ball; smpte, snow, pinwheel, ...)
  --size     input size (default 64x48; the overlay is the model's scale x it)
  --frames   frames to run (default 50)
  --out      write an MJPEG AVI instead of opening a window
  --fakesink discard the output (headless check)
Without --out/--fakesink it opens a window when $DISPLAY or $WAYLAND_DISPLAY
is set, else writes out/test-pattern.avi.
USAGE
}

model="$root/models/default.i2sb" pattern=ball size=64x48 frames=50 out="" fake=0
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --pattern) pattern="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --frames) frames="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --fakesink) fake=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "test-pattern: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$size" =~ ^([0-9]+)x([0-9]+)$ ]] || { echo "test-pattern: --size must be WxH" >&2; exit 2; }
w="${BASH_REMATCH[1]}" h="${BASH_REMATCH[2]}"
need_i2sbseg
need_model "$model"

if [ "$fake" -eq 1 ]; then
  sink=(fakesink)
elif [ -z "$out" ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  sink=(autovideosink)
else
  out="${out:-$root/out/test-pattern.avi}"
  mkdir -p "$(dirname "$out")"
  sink=(jpegenc ! avimux ! filesink location="$out")
fi
gst-launch-1.0 -e videotestsrc pattern="$pattern" num-buffers="$frames" \
  ! "video/x-raw,width=$w,height=$h,framerate=10/1" ! videoconvert \
  ! i2sbseg model="$model" ! videoconvert ! "${sink[@]}"
[ -z "$out" ] || [ "$fake" -eq 1 ] || echo "test-pattern: wrote $out"
