#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds data/teacher: real photographs from Debian packages labelled by the
# pretrained teachers (scripts/label-with-teachers.py; classes background,
# person, vehicle, animal, vegetation; 255 where the teachers are unsure).
# Packages are fetched with apt-get download into .debcache/ (never
# installed, never committed); each image's package, version, file and
# licence go into data/teacher/provenance.jsonl, the per-package counts into
# data/teacher/SOURCES.md. opencv-doc is never used: it is held out.
#
# Then composites: the teachers' own cutouts (persons, vehicles, animals
# from the training photos) and Tux Paint's photographic stamps (animals,
# vehicles, plants as vegetation) pasted over the labelled photos with
# make-dataset --labelled-backgrounds --realism, into data/teacher-composites,
# and data/teacher-mix: both sets in one folder (links), what training reads.
#
#   bash scripts/make-teacher-dataset.sh [--out DIR] [--jobs N] [--count N] [--tool PATH]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/deb-fetch.sh
source scripts/deb-fetch.sh
out=data/teacher jobs=$(nproc) count=3000 tool=build/tools/i2sbseg
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --tool) tool=$2; shift 2 ;;
    *) echo "make-teacher-dataset: unknown argument $1" >&2; exit 2 ;;
  esac
done
py=/usr/bin/python3
cache="$repo/.debcache"
root="$cache/teacher-x"
stage="$cache/teacher-stage"

# package -> photographs in it (globs under the unpacked root). Screened by
# eye for photographs: wallpapers that are artwork (Sway, most of MATE's
# and UKUI's, Lomiri 20.04's but one), jigzo's character map and GCompris's
# paintings and drawings are left out. Photos of animals and plants are in:
# the teachers label them.
declare -A photos=(
  [lomiri-wallpapers-16.04]="usr/share/backgrounds/*.jpg"
  [lomiri-wallpapers-20.04]="usr/share/backgrounds/Infinite-Sea_by_Aury88.jpg"
  [mate-backgrounds]="usr/share/backgrounds/mate/nature/*.jpg"
  [tuxpaint-data]="usr/share/tuxpaint/templates/*.jpg"
  [palapeli-data]="usr/share/palapeli/collection/*.jpg"
  [python3-skimage]="usr/lib/python3/dist-packages/skimage/data/astronaut.png
    usr/lib/python3/dist-packages/skimage/data/chelsea.png usr/lib/python3/dist-packages/skimage/data/coffee.png
    usr/lib/python3/dist-packages/skimage/data/rocket.jpg"
  [libjxl-testdata]="usr/share/libjxl-testdata/jxl/hdr_room.png usr/share/libjxl-testdata/jxl/flower/flower.png"
)
# Plasma: one picture per photographic wallpaper (the largest size).
plasma_photos=(BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow FallenLeaf Grey Kite OneStandsOut Path
               summer_1am)
# GCompris keeps its photos (WebP) inside Qt resource files.
gcompris_rcc=(categorization lang clickgame explore_world_animals erase)

unpack() {  # once per package version
  local pkg=$1 deb
  deb=$(deb_cached "$cache" "$pkg")
  [ -f "$root/.unpacked-$(basename "$deb")" ] && return
  echo "make-teacher-dataset: unpacking $pkg" >&2
  dpkg-deb -x "$deb" "$root"
  touch "$root/.unpacked-$(basename "$deb")"
}
version_of() { dpkg-deb -f "$(deb_newest "$cache" "$1")" Version; }
licence_of() {  # the package's main licence, and where the per-file ones are
  local c="$root/usr/share/doc/$1/copyright" l
  l=$(grep -m1 '^License:' "$c" | sed 's/^License: *//')
  echo "${l:-see copyright} (per file: /usr/share/doc/$1/copyright)"
}

mkdir -p "$root"
rm -rf "$stage"
mkdir -p "$stage"
prov="$stage/provenance.json"
echo "{" >"$prov"
sep=""
add() {  # add PACKAGE FILE [LICENCE [SUBFOLDER]]: link FILE into the stage, record it
  local pkg=$1 f=$2 lic=${3:-} sub=${4:-} rel
  rel="$pkg/${sub:+$sub/}$(basename "$f")"
  [ -e "$stage/$rel" ] && { echo "make-teacher-dataset: two files would be $rel (the second: $f)" >&2; exit 1; }
  mkdir -p "$(dirname "$stage/$rel")"
  ln -sf "$f" "$stage/$rel"
  [ -n "$lic" ] || lic=$(licence_of "$pkg")
  printf '%s "%s": {"package": "%s", "version": "%s", "file": "%s", "licence": "%s"}\n' "$sep" "$rel" "$pkg" \
    "$(version_of "$pkg")" "${f#"$root"}" "${lic//\"/\'}" >>"$prov"
  sep=","
}

for pkg in "${!photos[@]}"; do
  unpack "$pkg"
  for g in ${photos[$pkg]}; do
    for f in $root/$g; do
      [ -f "$f" ] || { echo "make-teacher-dataset: $pkg has no $g" >&2; exit 1; }
      add "$pkg" "$f"
    done
  done
done
unpack plasma-workspace-wallpapers
for name in "${plasma_photos[@]}"; do
  f=$(ls -S "$root/usr/share/wallpapers/$name/contents/images/"* | head -n 1)
  lic=$(sed -n 's/^ *"License": *"\(.*\)",\{0,1\}$/\1/p' "$root/usr/share/wallpapers/$name/metadata.json" | head -n 1)
  add plasma-workspace-wallpapers "$f" "$lic (metadata.json)" "$name"
done
unpack gcompris-qt-data
for r in "${gcompris_rcc[@]}"; do
  $py scripts/rcc-extract.py "$root/usr/share/gcompris-qt/rcc/$r.rcc" "$root/gcompris-x/$r" --only .webp >/dev/null
  while IFS= read -r f; do add gcompris-qt-data "$f" "" "$r"; done < <(find "$root/gcompris-x/$r" -name '*.webp' | LC_ALL=C sort)
done
echo "}" >>"$prov"

rm -rf "$out"  # rebuilt whole: the labels follow the teachers and the lists
$py scripts/label-with-teachers.py --images "$stage" --provenance "$prov" --out "$out" --jobs "$jobs" --min-colours 1500

# SOURCES.md: what came from where.
$py - "$out" <<'EOF'
import collections, json, sys
out = sys.argv[1]
rows = collections.defaultdict(lambda: collections.Counter())
lic = {}
for line in open(out + "/provenance.jsonl"):
    r = json.loads(line)
    p = r["source"]["package"]
    rows[p]["images"] += 1
    rows[p][r["split"]] += 1
    lic[p] = r["source"]["licence"] if p != "plasma-workspace-wallpapers" else "per wallpaper (metadata.json)"
    for b in r["boxes"]:
        if b["class"] and b["state"] in ("grabcut", "grabcut+matte"):
            rows[p][b["class"]] += 1
with open(out + "/SOURCES.md", "w") as f:
    f.write("# data/teacher: sources\n\nMade by scripts/make-teacher-dataset.sh; every image's own line is in "
            "provenance.jsonl. Painted instances per class (boxes the teachers were sure of).\n\n"
            "| package | images | train | val | person | vehicle | animal | licence |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
    total = collections.Counter()
    for p in sorted(rows):
        c = rows[p]
        total.update(c)
        f.write("| %s | %d | %d | %d | %d | %d | %d | %s |\n" % (p, c["images"], c["train"], c["val"], c["person"],
                                                               c["vehicle"], c["animal"], lic[p]))
    f.write("| all | %d | %d | %d | %d | %d | %d | |\n" % (total["images"], total["train"], total["val"], total["person"],
                                                          total["vehicle"], total["animal"]))
print(open(out + "/SOURCES.md").read())
EOF

# Composites over the labelled photos.
[ -x "$tool" ] || { echo "make-teacher-dataset: no $tool (build first: meson compile -C build)" >&2; exit 1; }
unpack tuxpaint-stamps-default
cuts="$cache/teacher-cutouts"
rm -rf "$cuts" "$out-cutouts"
$py scripts/teachers/extract_cutouts.py "$out" "$out-cutouts"
mkdir -p "$cuts"
stamps="$root/usr/share/tuxpaint/stamps"
# Hard links, not symlinks: make-dataset's folder walk does not follow links.
for d in animals vehicles military plants; do cp -rl "$stamps/$d" "$cuts/$d"; done
cp -rl "$repo/$out-cutouts" "$cuts/teacher"
rm -rf "$out-composites"
"$tool" make-dataset --cutouts "$cuts" --labelled-backgrounds "$out" --classes scripts/teachers/composite-classes.json \
  --out "$out-composites" --size 128 --count "$count" --val-fraction 0.15 --seed 1 --realism --threads "$jobs"

# One folder for training: the photos and the composites, linked.
mix="$out-mix"
rm -rf "$mix"
mkdir -p "$mix/images" "$mix/masks"
names() { $py -c 'import json, sys; print([c["name"] for c in json.load(open(sys.argv[1]))["classes"]])' "$1"; }
[ "$(names "$out/classes.json")" = "$(names "$out-composites/classes.json")" ] ||
  { echo "make-teacher-dataset: $out and $out-composites have other classes" >&2; exit 1; }
cp "$out/classes.json" "$mix/classes.json"
for src in "$out" "$out-composites"; do
  for f in "$src"/images/* "$src"/masks/*; do ln -s "$repo/$f" "$mix/${f#"$src"/}"; done
done
cat "$out/train.txt" "$out-composites/train.txt" >"$mix/train.txt"
cat "$out/val.txt" "$out-composites/val.txt" >"$mix/val.txt"
echo "make-teacher-dataset: $mix: $(wc -l <"$mix/train.txt") train, $(wc -l <"$mix/val.txt") val images"
