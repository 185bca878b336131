#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The i2sbseg demo: on a fresh Debian 12 machine, installs the packages,
# builds, fetches a real street-camera clip (OpenCV's vtest.avi, 768x576, from
# the opencv-doc package), shrinks it to a low resolution, and runs the
# default model over it with the i2sbseg GStreamer element. Writes
#   out/demo/overlay.avi        the x4 overlay video (MJPEG in AVI)
#   out/demo/contact_sheet.png  sampled frames: LR input (enlarged) | overlay,
#                               with a legend of the model's class colours
#   out/demo/frames/            every input / overlay frame as PNG
# and prints the frames per second it achieved.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: bash pipelines/demo.sh [--model PATH] [--frames N] [--size WxH] [--rate N] [--out DIR]
                             [--device D] [--no-install]

  --model PATH   model bundle (default models/default.i2sb)
  --frames N     frames to segment (default 100)
  --size WxH     low-resolution input size; the output is the model's scale
                 factor times it (default 96x72 -> 384x288 with the x4 model)
  --rate N       frames per second taken from the 10 fps clip (default 5)
  --out DIR      output folder (default out/demo)
  --device D     i2sbseg device: auto, cpu, cuda, cuda:N (default auto)
  --no-install   skip scripts/install-deps.sh (packages already present)
USAGE
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
model=models/default.i2sb frames=100 size=96x72 rate=5 out=out/demo device=auto install=1
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --frames) frames="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --no-install) install=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$size" =~ ^([0-9]+)x([0-9]+)$ ]] || { echo "demo: --size must be WxH, got '$size'" >&2; exit 2; }
width="${BASH_REMATCH[1]}" height="${BASH_REMATCH[2]}"
[[ "$frames" =~ ^[1-9][0-9]*$ ]] || { echo "demo: --frames must be a positive integer" >&2; exit 2; }
[[ "$rate" =~ ^[1-9][0-9]*$ ]] || { echo "demo: --rate must be a positive integer" >&2; exit 2; }

# 1. Packages (the decoder for vtest.avi's DivX 3 is in gstreamer1.0-libav).
if [ "$install" -eq 1 ]; then
  bash scripts/install-deps.sh
fi

# 2. Build (only what the demo runs: the tests take much longer to compile).
[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"
[ -f build/build.ninja ] || meson setup build
meson compile -C build gsti2sbseg contact_sheet tools/i2sbseg:executable
plugin_dir="$root/build/gst-plugin"
sheet_tool="$root/build/pipelines/contact_sheet"
[ -f "$plugin_dir/libgsti2sbseg.so" ] || { echo "demo: the build has no GStreamer plugin ($plugin_dir/libgsti2sbseg.so); is libgstreamer1.0-dev installed?" >&2; exit 1; }
[ -x "$sheet_tool" ] || { echo "demo: the build has no $sheet_tool (needs OpenCV: libopencv-dev)" >&2; exit 1; }
[ -f "$model" ] || { echo "demo: no model file '$model' (models/default.i2sb ships with the repository)" >&2; exit 1; }
export GST_PLUGIN_PATH="$plugin_dir${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
gst-inspect-1.0 avdec_msmpeg4 >/dev/null 2>&1 || { echo "demo: no DivX 3 decoder (avdec_msmpeg4): install gstreamer1.0-libav" >&2; exit 1; }

# 3. The clip, from the opencv-doc package, cached in .debcache/.
clip=".debcache/opencv-doc/usr/share/doc/opencv-doc/examples/data/vtest.avi"
if [ ! -f "$clip" ]; then
  mkdir -p .debcache
  deb="$(ls .debcache/opencv-doc_*_all.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    echo "demo: downloading opencv-doc (~96 MB) for vtest.avi"
    # A machine whose package lists were cleaned needs an update first.
    if ! (cd .debcache && apt-get download opencv-doc); then
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      $SUDO apt-get update -q
      (cd .debcache && apt-get download opencv-doc) || { echo "demo: cannot download opencv-doc (needs Debian's apt sources and network)" >&2; exit 1; }
    fi
    deb="$(ls .debcache/opencv-doc_*_all.deb | head -n1)"
  fi
  mkdir -p .debcache/opencv-doc
  # Only the clip; the package is mostly HTML docs.
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C .debcache/opencv-doc "./${clip#.debcache/opencv-doc/}"
fi
[ -f "$clip" ] || { echo "demo: $clip is missing after unpacking opencv-doc" >&2; exit 1; }

# LibTorch in the element's streaming thread runs on one core unless told
# otherwise (measured: 2 threads are ~1.4x faster on a 2-core machine).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"

# 4. Two pipelines. First the clip -> low-resolution PNG frames (cheap);
# then exactly N of them -> i2sbseg -> overlay video + overlay PNGs, timed.
# (A frame limit inside one pipeline, identity eos-after, proved unreliable
# after decodebin/videorate: it let through N, N+1 or many more frames.)
rm -rf "$out"
mkdir -p "$out/frames"
log="$out/pipeline.log"
gst-launch-1.0 -q -e \
  filesrc location="$clip" ! decodebin ! videoconvert ! videorate ! videoscale add-borders=false \
  ! "video/x-raw,format=RGB,width=$width,height=$height,framerate=$rate/1,pixel-aspect-ratio=1/1" \
  ! pngenc ! multifilesink location="$out/frames/input_%05d.png" \
  > "$out/decode.log" 2>&1 || { echo "demo: decoding the clip failed:" >&2; tail -n 30 "$out/decode.log" >&2; exit 1; }
have=$(ls "$out/frames" | grep -c '^input_' || true)
[ "$have" -gt 0 ] || { echo "demo: no frames decoded from $clip; see $out/decode.log" >&2; exit 1; }
if [ "$have" -lt "$frames" ]; then frames=$have; fi
# Keep only the frames segmented, so the contact sheet pairs match.
for ((i = frames; i < have; i++)); do rm -f "$out/frames/$(printf 'input_%05d.png' "$i")"; done

echo "demo: segmenting $frames frames of $clip at ${width}x${height} (${rate} fps of the clip) with $model, $OMP_NUM_THREADS threads"
start=$(date +%s.%N)
gst-launch-1.0 -m -e \
  multifilesrc location="$out/frames/input_%05d.png" index=0 stop-index=$((frames - 1)) \
    caps="image/png,framerate=$rate/1" ! pngdec ! videoconvert ! video/x-raw,format=RGB \
  ! i2sbseg model="$model" device="$device" mode=overlay post-messages=true ! tee name=hr \
    hr. ! queue ! videoconvert ! jpegenc quality=90 ! avimux ! filesink location="$out/overlay.avi" \
    hr. ! queue ! videoconvert ! pngenc ! multifilesink location="$out/frames/overlay_%05d.png" \
  > "$log" 2>&1 || { echo "demo: the pipeline failed; its output:" >&2; tail -n 30 "$log" >&2; exit 1; }
end=$(date +%s.%N)

count=$(ls "$out/frames" | grep -c '^overlay_' || true)
[ "$count" -gt 0 ] || { echo "demo: no overlay frames were written; see $log" >&2; exit 1; }
# Inference time per frame, from the element's messages (inference-time in ns).
read -r runs infer_ms < <(grep -o 'inference-time=(guint64)[0-9]*' "$log" \
  | awk -F')' '{n++; s+=$2} END {if (n) printf "%d %.1f\n", n, s/n/1e6; else print "0 0"}')
wall=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b-a}')
fps=$(awk -v n="$count" -v t="$wall" 'BEGIN {printf "%.2f", n/t}')
model_fps=$(awk -v ms="$infer_ms" 'BEGIN {if (ms > 0) printf "%.2f", 1000/ms; else print "n/a"}')
out_size=$(file -b "$out/frames/overlay_00000.png" 2>/dev/null | grep -o '[0-9]* x [0-9]*' | tr -d ' ' || true)

"$sheet_tool" --input-pattern "$out/frames/input_%05d.png" --overlay-pattern "$out/frames/overlay_%05d.png" \
  --count "$count" --samples 5 --out "$out/contact_sheet.png" --model "$model" \
  --title "i2sbseg $(basename "$model"): vtest.avi at ${width}x${height} -> overlay, $fps fps end to end" >/dev/null

# The clip has no labels, so no mIoU: how steady the classes are instead,
# against the direct model (no bridge) on the same frames (i2sbseg flicker).
flicker_line="n/a"
direct="$(dirname "$model")/direct.i2sb"
if [ "$count" -gt 1 ] && [ -f "$direct" ] && [ "$(realpath "$direct")" != "$(realpath "$model")" ]; then
  flicker_line=$(build/tools/i2sbseg flicker --model "$model" --baseline "$direct" \
    --input-pattern "$out/frames/input_%05d.png" --count "$count" --device "$device" --json 2>"$out/flicker.log" |
    awk -F'[:,]' '/"flicker"/ {v[++n]=$2} /"ratio"/ {r=$2} END {if (n == 2) printf "%.4f (direct model %.4f, ratio %.2f)", v[2], v[1], r}' ||
    true)
  [ -n "$flicker_line" ] || flicker_line="not measured (see $out/flicker.log)"
fi

# A labelled clip (pipelines/labelled-clip/: a moving camera over validation
# composites, made by i2sbseg make-clip): LR-up, direct and bridge scored
# against its ground truth, when the models have its classes (the
# composites' list, before the five camera classes).
clip=pipelines/labelled-clip clip_report="  (not scored: no $clip or no direct model)"
if [ -f "$clip/clip.json" ] && [ -f "$direct" ] && [ "$(realpath "$direct")" != "$(realpath "$model")" ]; then
  clip_frames=$(grep -o '"frames": [0-9]*' "$clip/clip.json" | head -1 | grep -o '[0-9]*$')
  if build/tools/i2sbseg flicker --model "$model" --baseline "$direct" --lr-up --device "$device" \
      --classes "$clip/classes.json" --input-pattern "$clip/lr_%03d.png" --masks-pattern "$clip/mask_%03d.png" \
      --count "$clip_frames" >"$out/clip_scores.txt" 2>"$out/clip_scores.log"; then
    clip_report=$(sed -e 's/^  baseline  /  direct    /' -e 's/^  model     /  bridge    /' -e 's/^/  /' "$out/clip_scores.txt")
  else
    clip_report="  (not scored: $(tail -n 1 "$out/clip_scores.log"))"
  fi
fi

# The held-out street clip (pipelines/street-clip/: 48 vtest.avi frames
# labelled by the teachers; never trained on): scored only when the models'
# classes are the clip's (flicker --classes refuses others, saying so).
street=pipelines/street-clip street_report="  (not scored: no $street or no direct model)"
if [ -f "$street/clip.json" ] && [ -f "$direct" ] && [ "$(realpath "$direct")" != "$(realpath "$model")" ]; then
  street_frames=$(grep -o '"frames": [0-9]*' "$street/clip.json" | head -1 | grep -o '[0-9]*$')
  if build/tools/i2sbseg flicker --model "$model" --baseline "$direct" --lr-up --device "$device" \
      --classes "$street/classes.json" --input-pattern "$street/lr_%03d.png" --masks-pattern "$street/mask_%03d.png" \
      --count "$street_frames" >"$out/street_scores.txt" 2>"$out/street_scores.log"; then
    street_report=$(sed -e 's/^  baseline  /  direct    /' -e 's/^  model     /  bridge    /' -e 's/^/  /' "$out/street_scores.txt")
  else
    street_report="  (not scored: $(tail -n 1 "$out/street_scores.log"))"
  fi
fi

cat <<REPORT

demo: done
  overlay video   $out/overlay.avi (${out_size:-?}, MJPEG, $count frames)
  contact sheet   $out/contact_sheet.png
  frames          $out/frames/input_*.png, overlay_*.png
  pipeline log    $log
  speed           $count frames in $wall s: $fps fps end to end (model load, PNG decode, encode included);
                  model alone: $infer_ms ms/frame over $runs frames = $model_fps fps
  flicker         $flicker_line: share of pixels whose class changes
                  from one frame to the next (the clip has no labels to score)

labelled clip ($clip: camera over unseen validation composites; mIoU,
pixel accuracy, boundary F at 2 px, flicker, and flicker where the truth
holds still):
$clip_report

held-out street clip ($street: 48 frames of vtest.avi labelled by the
teachers, never trained on; the same scores, and IoU per class):
$street_report
REPORT
