#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the unseen-background check into data/unseen: the default dataset's
# cutouts (same stamps, same class mapping) pasted onto ten photographs from
# a Debian package that training never uses, opencv-doc's examples/data
# (aerial views, a street, a building, a circuit board, a desk, books, toys,
# a graffiti wall). Evaluate with `--split all`: every background is unseen;
# the cutouts are the default dataset's, so about 80 % were seen in training.
#
#   bash scripts/make-unseen-dataset.sh [--count N] [--out DIR] [--tool PATH]
#
# It only reports how a model does on photos unlike its training ones: never
# choose settings with it (choose on data/default's validation split).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/deb-fetch.sh
. "$repo/scripts/deb-fetch.sh"
count=1500 out="$repo/data/unseen" tool=${I2SBSEG_TOOL:-$repo/build/tools/i2sbseg}
need_value() { [ $# -ge 2 ] || { echo "make-unseen-dataset: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --count) need_value "$@"; count=$2; shift 2 ;;
    --out) need_value "$@"; out=$2; shift 2 ;;
    --tool) need_value "$@"; tool=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "make-unseen-dataset: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $count =~ ^[0-9]+$ ]] || { echo "make-unseen-dataset: '$count' is not a number" >&2; exit 2; }
case $out in /*) ;; *) out="$PWD/$out" ;; esac
case $tool in /*) ;; *) tool="$PWD/$tool" ;; esac
[ -x "$tool" ] || { echo "make-unseen-dataset: no i2sbseg at $tool (build it, or pass --tool)" >&2; exit 1; }

cache="$repo/.debcache"
stamps="$cache/x/usr/share/tuxpaint/stamps"
[ -d "$stamps" ] || { echo "make-unseen-dataset: no stamps in $stamps (run scripts/make-default-dataset.sh first)" >&2; exit 1; }
ocv="$cache/opencv-doc"
if [ ! -f "$ocv/usr/share/doc/opencv-doc/examples/data/leuvenA.jpg" ]; then
  deb=$(deb_cached "$cache" opencv-doc "~96 MB")
  dpkg-deb -x "$deb" "$ocv"
fi
# Colour photographs without animals, plants in close-up, food or vehicles
# as their subject (the birds over home.jpg, the fruit, the baboon are out).
photos=(aero1.jpg aero3.jpg board.jpg building.jpg ela_original.jpg graf1.png left.jpg leuvenA.jpg rubberwhale1.png
        stuff.jpg)
stage="$cache/unseen-backgrounds"
rm -rf "$stage"
mkdir -p "$stage"
for f in "${photos[@]}"; do
  src="$ocv/usr/share/doc/opencv-doc/examples/data/$f"
  [ -f "$src" ] || { echo "make-unseen-dataset: opencv-doc has no examples/data/$f" >&2; exit 1; }
  ln -sr "$src" "$stage/$f"
done
"$tool" make-dataset --cutouts "$stamps" --backgrounds "$stage" --out "$out" --size 128 --count "$count" --seed 1
cp "$cache/opencv-doc/usr/share/doc/opencv-doc/copyright" "$out/opencv-doc.copyright"
echo "unseen-background check: $out (backgrounds: opencv-doc examples/data, licence in $out/opencv-doc.copyright)"
