#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the default copy-paste segmentation dataset (docs/design.md §6) into
# data/default: photographic Tux Paint stamps pasted onto real photos from
# Debian packages. The packages are fetched with `apt-get download` and
# unpacked into .debcache/ (git-ignored); nothing is installed on the system.
#
#   bash scripts/make-default-dataset.sh [--size PX] [--count N] [--seed S] [--out DIR]
#                                        [--tool PATH] [--with-artwork]
#
# --tool: the i2sbseg binary (default $I2SBSEG_TOOL, else build/tools/i2sbseg).
# --with-artwork: also use the Plasma wallpapers that are digital art, not photos.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/deb-fetch.sh
. "$repo/scripts/deb-fetch.sh"
size=128 count=6000 seed=1 out="$repo/data/default" tool=${I2SBSEG_TOOL:-$repo/build/tools/i2sbseg} artwork=0

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
need_value() { [ $# -ge 2 ] || { echo "make-default-dataset: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --size) need_value "$@"; size=$2; shift 2 ;;
    --count) need_value "$@"; count=$2; shift 2 ;;
    --seed) need_value "$@"; seed=$2; shift 2 ;;
    --out) need_value "$@"; out=$2; shift 2 ;;
    --tool) need_value "$@"; tool=$2; shift 2 ;;
    --with-artwork) artwork=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "make-default-dataset: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$size" "$count" "$seed"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "make-default-dataset: '$n' is not a number" >&2; exit 2; }
done
case $out in /*) ;; *) out="$PWD/$out" ;; esac
case $tool in /*) ;; *) tool="$PWD/$tool" ;; esac
[ -x "$tool" ] || { echo "make-default-dataset: no i2sbseg at $tool (build it, or pass --tool)" >&2; exit 1; }

cache="$repo/.debcache"
root="$cache/x"
packages=(tuxpaint-stamps-default plasma-workspace-wallpapers python3-skimage libjxl-testdata
          lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 mate-backgrounds tuxpaint-data)
# opencv-doc's photographs are never used here: they are the unseen-background
# check (scripts/make-unseen-dataset.sh).

# Unpacks a package once (its .deb cached, downloaded when missing); an
# earlier unpack (its copyright file) counts.
unpack() {
  local pkg=$1 deb
  [ -f "$root/.unpacked-$pkg" ] && return
  if [ ! -f "$root/usr/share/doc/$pkg/copyright" ]; then
    echo "unpacking $pkg" >&2
    deb=$(deb_cached "$cache" "$pkg")
    dpkg-deb -x "$deb" "$root"
  fi
  touch "$root/.unpacked-$pkg"
}

mkdir -p "$root"
for pkg in "${packages[@]}"; do unpack "$pkg"; done

# Backgrounds: one picture per wallpaper (the largest; other sizes and dark
# variants are near-copies that could land in both splits), and the colour
# photographs among the skimage and libjxl test images. Links keep the
# selection in one folder the tool can read.
photo_wallpapers=(BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow FallenLeaf Grey Kite OneStandsOut Path
                  summer_1am)
# Photographs whose content is one of our classes (the cat in chelsea, the
# astronaut, the motorcycle, the coffee cup, libjxl's flowers) would be
# labelled background under a pasted cutout: leave them out.
skimage_photos=(rocket.jpg)
libjxl_photos=(jxl/hdr_room.png)
# The other desktop wallpapers and Tux Paint's photo templates, screened the
# same way: photographs only (no artwork), and none whose subject is an
# animal, a plant close-up, food or a vehicle (the dragonfly, the dogs, the
# fig, the flowers, the leaves, the sheep, the corn maze, the jellyfish).
# Distant scenery with grass and trees stays: it is what "background" is.
debian_photos=(
  "lomiri-wallpapers-16.04:/usr/share/backgrounds:Bridge_by_Sander_Klootwijk.jpg Picture_1A_by_freespace.jpg
   Wine_by_Jakkub_Mede.jpg aitzgorri_by_Aitzol_Berasategi.jpg analogpattern_by_Peter_Nerlich.jpg
   greentock_by_Peter_Nerlich.jpg life_by_Aitzol_Berasategi.jpg picosdeeuropa_by_Aitzol_Berasategi.jpg
   sunset_by_Aitzol_Berasategi.jpg"
  "lomiri-wallpapers-20.04:/usr/share/backgrounds:Infinite-Sea_by_Aury88.jpg"
  "mate-backgrounds:/usr/share/backgrounds/mate/nature:Aqua.jpg Storm.jpg Wood.jpg"
  "tuxpaint-data:/usr/share/tuxpaint/templates:burnt_bark.jpg cliff.jpg lighthouse.jpg mossy_bark.jpg mudstone.jpg
   ocean_splash.jpg ocean_waves.jpg rocks.jpg sun_behind_clouds.jpg wool_mill_machine.jpg"
)
walls="$root/usr/share/wallpapers"
skimage="$root/usr/lib/python3/dist-packages/skimage/data"
libjxl="$root/usr/share/libjxl-testdata"
stage="$cache/backgrounds"
rm -rf "$stage"
mkdir -p "$stage/wallpapers" "$stage/skimage" "$stage/libjxl"
sources=()  # "link <- package: path" lines for SOURCES.md

largest_image() {  # by the WxH in the file name
  local best="" best_px=0 f name px
  for f in "$1"/contents/images/*; do
    name=$(basename "${f%.*}")
    [[ $name =~ ^([0-9]+)x([0-9]+)$ ]] || continue
    px=$((BASH_REMATCH[1] * BASH_REMATCH[2]))
    if [ "$px" -gt "$best_px" ]; then best=$f best_px=$px; fi
  done
  echo "$best"
}
if [ "$artwork" = 1 ]; then
  mapfile -t wall_names < <(find "$walls" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | LC_ALL=C sort)
else
  wall_names=("${photo_wallpapers[@]}")
fi
for name in "${wall_names[@]}"; do
  f=$(largest_image "$walls/$name")
  [ -n "$f" ] || { echo "make-default-dataset: no image in $walls/$name" >&2; exit 1; }
  ext=${f##*.}
  ln -sr "$f" "$stage/wallpapers/$name.$ext"
  meta="$walls/$name/metadata.json"
  author=$(sed -n 's/^ *"Name": *"\(.*\)",\{0,1\}$/\1/p' "$meta" | head -n 1)
  licence=$(sed -n 's/^ *"License": *"\(.*\)",\{0,1\}$/\1/p' "$meta" | head -n 1)
  sources+=("wallpapers/$name.$ext <- plasma-workspace-wallpapers: ${f#"$root"} (by $author; metadata.json: $licence)")
done
for f in "${skimage_photos[@]}"; do
  ln -sr "$skimage/$f" "$stage/skimage/$f"
  sources+=("skimage/$f <- python3-skimage: ${skimage#"$root"}/$f")
done
for f in "${libjxl_photos[@]}"; do
  ln -sr "$libjxl/$f" "$stage/libjxl/$(basename "$f")"
  sources+=("libjxl/$(basename "$f") <- libjxl-testdata: ${libjxl#"$root"}/$f")
done
for entry in "${debian_photos[@]}"; do
  IFS=: read -r pkg dir names <<< "${entry//$'\n'/ }"
  mkdir -p "$stage/$pkg"
  for f in $names; do
    [ -f "$root$dir/$f" ] || { echo "make-default-dataset: $pkg has no $dir/$f" >&2; exit 1; }
    ln -sr "$root$dir/$f" "$stage/$pkg/$f"
    sources+=("$pkg/$f <- $pkg: $dir/$f")
  done
done

# Relative paths from the repository root, so dataset.json does not depend on
# where the checkout lives.
cd "$repo"
stamps=".debcache/x/usr/share/tuxpaint/stamps"
args=(make-dataset --cutouts "$stamps" --backgrounds ".debcache/backgrounds" --out "$out"
      --size "$size" --count "$count" --seed "$seed")
start=$SECONDS
"$tool" "${args[@]}"
elapsed=$((SECONDS - start))

# Origin and licences, next to the data.
mkdir -p "$out/licenses"
version_of() {
  local deb
  deb=$(deb_newest "$cache" "$1")
  if [ -n "$deb" ]; then dpkg-deb -f "$deb" Version; else echo "unknown"; fi
}
{
  echo "# Sources of this dataset"
  echo
  echo "Built by \`scripts/make-default-dataset.sh\` with"
  echo "\`i2sbseg ${args[*]/#"$out"/<out>}\`."
  echo "\`dataset.json\` records every cutout and background used, per split, and every paste."
  echo
  echo "## Debian packages (bookworm)"
  echo
  echo "| package | version | used for | licences in its copyright file |"
  echo "| --- | --- | --- | --- |"
  for pkg in "${packages[@]}"; do
    case $pkg in
      tuxpaint-stamps-default) use="cutouts: /usr/share/tuxpaint/stamps (photographs only)" ;;
      plasma-workspace-wallpapers) use="backgrounds: /usr/share/wallpapers" ;;
      python3-skimage) use="backgrounds: skimage/data photographs" ;;
      libjxl-testdata) use="backgrounds: test photographs" ;;
      lomiri-wallpapers-*) use="backgrounds: /usr/share/backgrounds photographs" ;;
      mate-backgrounds) use="backgrounds: /usr/share/backgrounds/mate/nature photographs" ;;
      tuxpaint-data) use="backgrounds: /usr/share/tuxpaint/templates photographs" ;;
    esac
    lic=$(sed -n 's/^License: *//p' "$root/usr/share/doc/$pkg/copyright" | LC_ALL=C sort -u | paste -sd, - | sed 's/,/, /g')
    cp "$root/usr/share/doc/$pkg/copyright" "$out/licenses/$pkg.copyright"
    echo "| $pkg | $(version_of "$pkg") | $use | $lic (full text: licenses/$pkg.copyright) |"
  done
  echo
  echo "Per image, as the packages state:"
  echo
  echo "- Tux Paint stamps: \"GPL-2\", whose text says version 2 or later (copyright: Bill Kendrick and contributors)."
  echo "- Plasma wallpapers: GPL-2+ in the Debian copyright file; each wallpaper's metadata.json names its author"
  echo "  and says LGPLv3 (listed per background below)."
  echo "- skimage rocket (SpaceX, public domain; skimage/data/_fetchers.py docstring); the package as a whole"
  echo "  is BSD-3-Clause."
  echo "- libjxl-testdata jxl/hdr_room: BSD-3-clause-Google (\"Files: *\")."
  echo "- lomiri-wallpapers-16.04/-20.04, mate-backgrounds, tuxpaint-data: as their copyright files say"
  echo "  (licenses/<package>.copyright; the author is in each lomiri file name)."
  echo
  echo "The generated images contain GPL-2 material (stamps, wallpapers): distribute them under GPL-2 terms."
  echo
  echo "## Backgrounds (.debcache/backgrounds)"
  echo
  for s in "${sources[@]}"; do echo "- $s"; done
} > "$out/SOURCES.md"

echo
echo "dataset: $out ($(wc -l < "$out/train.txt") train + $(wc -l < "$out/val.txt") val images, ${size}x${size}, ${elapsed} s)"
echo "per class instances and pixels: see the tables above; sources and licences: $out/SOURCES.md"
