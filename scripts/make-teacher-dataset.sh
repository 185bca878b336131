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
# make-dataset --labelled-backgrounds --realism, into data/teacher-composites;
# Scratch 1.4's photographed costumes (people, animals, vehicles: GIFs,
# 256 colours, so screened by eye rather than by colour count) pasted small
# and several to an image, far pedestrians among them, into data/teacher-far;
# and data/teacher-mix: all three sets in one folder (links), what training
# reads. --no-far leaves the far set out (not made, not in the mix): the
# shipped default's data (models/README.md).
#
#   bash scripts/make-teacher-dataset.sh [--out DIR] [--jobs N] [--count N] [--tool PATH] [--no-far]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/deb-fetch.sh
source scripts/deb-fetch.sh
out=data/teacher jobs=$(nproc) count=3000 tool=build/tools/i2sbseg far=1
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --tool) tool=$2; shift 2 ;;
    --no-far) far=0; shift ;;
    *) echo "make-teacher-dataset: unknown argument $1" >&2; exit 2 ;;
  esac
done
py=/usr/bin/python3
command -v gdk-pixbuf-thumbnailer >/dev/null ||
  { echo "make-teacher-dataset: no gdk-pixbuf-thumbnailer (it reads Scratch's GIFs): apt-get install libgdk-pixbuf2.0-bin, or bash scripts/install-deps.sh" >&2; exit 1; }
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
# Scratch 1.4: the backgrounds' JPEGs (the colour test drops the drawn ones)
# and the costumes that are photographs, screened by eye (the others are
# drawings; the ants are no COCO animal). Media/* is CC-BY-SA-3.0.
scratch_licence="CC-BY-SA-3.0 (Media/*: /usr/share/doc/scratch/copyright)"
scratch_media=usr/share/scratch/Media
scratch_costumes=(
  People/{amon1,anjuli-{1,2,3,4,5},anna-{1,2,3},breakdancer-{1,2,3,4},breakdancer{1,2,3},calvrett{,-jumping,-thinking}}.gif
  People/{cassy-{chillin,dancing-{1,2,3,4},jumping-{1,2},phone-1,sitting-1,standing-1},chamak{1,2},dan{1,2,3,4,5,6}}.gif
  People/{ed,football-run,football-stand,jay,jodi{1,2},lee-fan,mako-{laughing,screaming,stop}}.gif
  People/{marissa{,-crouching,-sitting},nathan,nina1,paul1,referee{1,2},ribbon-dancer,sam,thai-dancer{,2}}.gif
  Animals/{buffalo1,bird-flying,cow1,elephant}.gif Animals/squirrel1.png
  Transportation/{airplane,bike,bus,car-blue,car-bug,car-cow,sail-boat,train,tug-boat,yacht}.gif
  Transportation/street-cleaner-mit.png
)

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
unpack scratch
for f in "$root/$scratch_media"/Backgrounds/*/*.jpg; do
  add scratch "$f" "$scratch_licence" "$(basename "$(dirname "$f")")"
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

# Far objects: Scratch's photographed costumes, as RGBA PNGs of their own
# size (gdk-pixbuf reads the GIFs' transparency), several to an image and
# small (a pedestrian of the street clip is 0.14 of its frame's height).
rm -rf "$out-far"
if [ "$far" = 1 ]; then
scuts="$cache/teacher-scratch-cutouts"
rm -rf "$scuts"
declare -A costume_class=([People]=person [Animals]=animal [Transportation]=vehicle)
: >"$cache/teacher-scratch-cutouts.jsonl"
for c in "${scratch_costumes[@]}"; do
  src="$root/$scratch_media/Costumes/$c"
  [ -f "$src" ] || { echo "make-teacher-dataset: scratch has no $c" >&2; exit 1; }
  cls=${costume_class[${c%%/*}]}
  dst="$scuts/scratch/$cls/$(basename "${c%.*}").png"
  mkdir -p "$(dirname "$dst")"
  side=$($py -c 'import struct, sys
b = open(sys.argv[1], "rb").read(24)
print(max(struct.unpack("<HH", b[6:10]) if b[:3] == b"GIF" else struct.unpack(">II", b[16:24])))' "$src")
  gdk-pixbuf-thumbnailer -s "$side" "$src" "$dst"
  printf '{"cutout": "scratch/%s/%s", "class": "%s", "package": "scratch", "version": "%s", "file": "/%s", "licence": "%s"}\n' \
    "$cls" "$(basename "$dst")" "$cls" "$(version_of scratch)" "$scratch_media/Costumes/$c" "$scratch_licence" \
    >>"$cache/teacher-scratch-cutouts.jsonl"
done
mv "$cache/teacher-scratch-cutouts.jsonl" "$scuts/cutouts.jsonl"
"$tool" make-dataset --cutouts "$scuts" --labelled-backgrounds "$out" --classes scripts/teachers/composite-classes.json \
  --out "$out-far" --size 128 --count "$((count / 2))" --val-fraction 0.15 --seed 2 --realism --threads "$jobs" \
  --min-colours 0 --paste-scale 0.1 0.6 --max-cutouts 6
cp "$scuts/cutouts.jsonl" "$out-far/cutouts.jsonl"
fi

# One folder for training: the photos and the composites, linked.
mix="$out-mix"
rm -rf "$mix"
mkdir -p "$mix/images" "$mix/masks"
names() { $py -c 'import json, sys; print([c["name"] for c in json.load(open(sys.argv[1]))["classes"]])' "$1"; }
sets=("$out" "$out-composites")
[ "$far" = 1 ] && sets+=("$out-far")
for other in "${sets[@]:1}"; do
  [ "$(names "$out/classes.json")" = "$(names "$other/classes.json")" ] ||
    { echo "make-teacher-dataset: $out and $other have other classes" >&2; exit 1; }
done
cp "$out/classes.json" "$mix/classes.json"
# The two composite sets number their images alike: the far set's get a
# prefix.
: >"$mix/train.txt"
: >"$mix/val.txt"
for src in "${sets[@]}"; do
  pre=""
  [ "$src" = "$out-far" ] && pre=far_
  for f in "$src"/images/* "$src"/masks/*; do
    rel=${f#"$src"/}
    ln -s "$repo/$f" "$mix/$(dirname "$rel")/$pre$(basename "$rel")"
  done
  for split in train val; do sed "s/^/$pre/" "$src/$split.txt" >>"$mix/$split.txt"; done
done
echo "make-teacher-dataset: $mix: $(wc -l <"$mix/train.txt") train, $(wc -l <"$mix/val.txt") val images"
