#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One run for docs/performance.md's side-by-side CPU table: `i2sbseg bench`
# on a model, then the torchvision LR-ASPP peer (pipelines/peer-lraspp.py) at
# the same output size and thread count, then the ratios.
#
#   bash pipelines/bench-with-peer.sh [--model PATH] [--size WxH] [--threads N] [--frames N] [--out DIR]
#
# Writes DIR/bench.json, DIR/peer.json and DIR/table.md (default out/bench-peer).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
model=models/default.i2sb size=384x288 threads=2 frames=20 out=out/bench-peer
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --frames) frames="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-with-peer: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
tool=${I2SBSEG_TOOL:-build/tools/i2sbseg}
[ -x "$tool" ] || { echo "bench-with-peer: no i2sbseg at $tool (meson compile -C build)" >&2; exit 1; }
# Debian's interpreter: its python3-torchvision (another python3 may come first on PATH).
py=/usr/bin/python3
"$py" -c 'import torchvision' 2>/dev/null || {
  echo "bench-with-peer: python3-torchvision is missing (apt-get install python3-torchvision)" >&2; exit 1; }
mkdir -p "$out"
"$tool" bench --model "$model" --size "$size" --no-pixel --no-element --threads "$threads" --nfe 1 4 \
  --frames "$frames" --json-out "$out/bench.json"
classes=$("$tool" info "$model" --json | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)["config"]["classes"]))')
# The peer's process keeps freed memory (glibc's tunables, its process only):
# what i2sbseg's frame path gets from its CPU block cache. Without it LR-ASPP
# measured 3x slower here (page faults; docs/performance.md).
MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296 \
"$py" pipelines/peer-lraspp.py --size "$size" --threads "$threads" --frames "$frames" --classes "$classes" \
  --json-out "$out/peer.json"
"$py" - "$out" <<'PY'
import json, sys, datetime, platform
out = sys.argv[1]
b = json.load(open(f"{out}/bench.json")); p = json.load(open(f"{out}/peer.json"))
peer = p["lraspp_mobilenet_v3_large_ms"]
u = b["unet_ms"]; L = b["latent_ms"]; F = b["frame_ms"]
br = b.get("bridge") or {}
rows = [
  "| date | bridge | direct (unet) | latent NFE 1 | latent NFE 4 | frame NFE 1 | frame NFE 4 | LR-ASPP-MNv3 | DeepLabV3-MNv3 | latent 4 / unet | frame 1 / unet | frame 1 / LR-ASPP |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  f"| {datetime.date.today()} | {br.get('type', 'none')} {br.get('channels', '')}x{br.get('blocks', '')} | {u:.1f} | {L['1']:.1f} | {L['4']:.1f} | {F['1']:.1f} | {F['4']:.1f} | {peer:.1f} | "
  f"{p['deeplabv3_mobilenet_v3_large_ms']:.1f} | {L['4'] / u:.2f} | {F['1'] / u:.2f} | {F['1'] / peer:.2f} |",
]
text = "\n".join(rows) + f"\n\n{b['size']['width']}x{b['size']['height']} output, {b['threads']} threads, {platform.processor() or platform.machine()}, ms/frame (medians)\n"
open(f"{out}/table.md", "w").write(text)
print(text)
PY
