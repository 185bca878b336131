#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Cuts the objects the teachers were sure of out of a teacher-labelled
dataset as RGBA cutouts for make-dataset: for every box painted by GrabCut
(and the matte, for persons) in a train-split image, the box's crop with
alpha 255 where the mask has the box's class and 0 elsewhere (other
classes, background and unsure pixels alike). Validation images give none,
so no validation photo's object is pasted into training composites.

    python3 scripts/teachers/extract_cutouts.py DATA OUT

Writes OUT/<class>/<stem>_<k>.png and OUT/cutouts.jsonl (source image,
box, class, score, opaque pixels).
"""
import json
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import teacher_rules as tr  # noqa: E402

PAINTED = ("grabcut", "grabcut+matte")


def main(data, out):
    train = set(open(os.path.join(data, "train.txt")).read().split())
    names = [c for c, _ in tr.CLASSES]
    os.makedirs(out, exist_ok=True)
    records = []
    with open(os.path.join(data, "provenance.jsonl")) as f:
        lines = [json.loads(line) for line in f]
    for r in lines:
        if r["stem"] not in train:
            continue
        boxes = [b for b in r["boxes"] if b["state"] in PAINTED]
        if not boxes:
            continue
        img = cv2.imread(os.path.join(data, "images", r["stem"] + ".jpg"), cv2.IMREAD_COLOR)
        mask = cv2.imread(os.path.join(data, "masks", r["stem"] + ".png"), cv2.IMREAD_UNCHANGED)
        for k, b in enumerate(boxes):
            cls = names.index(b["class"])
            x0, y0 = max(0, int(b["box"][0])), max(0, int(b["box"][1]))
            x1, y1 = min(img.shape[1], int(np.ceil(b["box"][2]))), min(img.shape[0], int(np.ceil(b["box"][3])))
            alpha = np.where(mask[y0:y1, x0:x1] == cls, 255, 0).astype(np.uint8)
            opaque = int((alpha > 0).sum())
            if opaque == 0:
                continue  # painted over by a nearer object
            rgba = np.dstack([img[y0:y1, x0:x1], alpha])
            name = "%s_%d.png" % (r["stem"], k)
            os.makedirs(os.path.join(out, b["class"]), exist_ok=True)
            cv2.imwrite(os.path.join(out, b["class"], name), rgba)
            records.append({"cutout": "%s/%s" % (b["class"], name), "stem": r["stem"], "source": r["source"],
                            "box": b["box"], "class": b["class"], "score": b["score"], "opaque_pixels": opaque})
    with open(os.path.join(out, "cutouts.jsonl"), "w") as f:
        for rec in records:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
    counts = {}
    for rec in records:
        counts[rec["class"]] = counts.get(rec["class"], 0) + 1
    print("extract-cutouts: %d cutouts into %s %s" % (len(records), out, counts))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
