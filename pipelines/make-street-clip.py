#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Makes pipelines/street-clip/: 48 frames spread over OpenCV's vtest.avi
(held out: never trained on or used to choose settings), labelled by the
teachers (scripts/label-with-teachers.py at the clip's full 768x576), as
the demo sees them: LR input lr_NNN.png at 96x72 (area average) and the
truth mask_NNN.png at 384x288, where a 2x2 block of the full-size labels
that does not agree is 255. Writes clip.json (frames, source, command),
SHA256SUMS (the test checks them) and previews/ (git-ignored: the by-eye
check) beside them.

    /usr/bin/python3 pipelines/make-street-clip.py [--video PATH] [--out DIR]
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIDEO = os.path.join(ROOT, ".debcache/opencv-doc/usr/share/doc/opencv-doc/examples/data/vtest.avi")
FRAMES = list(range(0, 768, 16))  # 48 frames over the clip's 795
LR, TRUTH = (96, 72), (384, 288)


def reduce_mask(mask, factor):
    """Block reduction: a block's class where the whole block agrees, else 255."""
    h, w = mask.shape
    b = mask[:h - h % factor, :w - w % factor].reshape(h // factor, factor, w // factor, factor)
    first = b[:, :1, :, :1]
    same = (b == first).all(axis=(1, 3))
    return np.where(same, first[:, 0, :, 0], 255).astype(np.uint8)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", default=VIDEO)
    p.add_argument("--out", default=os.path.join(ROOT, "pipelines", "street-clip"))
    a = p.parse_args()
    if not os.path.exists(a.video):
        sys.exit("make-street-clip: no %s (bash pipelines/demo.sh fetches opencv-doc)" % a.video)
    tmp = tempfile.mkdtemp(prefix="street-clip-")
    data = os.path.join(tmp, "data")
    cmd = [sys.executable, os.path.join(ROOT, "scripts", "label-with-teachers.py"), "--video", a.video,
           "--frames", ",".join(map(str, FRAMES)), "--out", data, "--package", "opencv-doc",
           "--package-version", "4.6.0+dfsg-12", "--licence", "Apache-2.0 AND BSD-3-Clause (opencv-doc debian/copyright, Files: *)", "--split", "val",
           "--max-side", "768", "--previews"]
    subprocess.run(cmd, check=True)
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(os.path.join(a.out, "previews"), exist_ok=True)
    frames, cap, i = {}, cv2.VideoCapture(a.video), 0
    while len(frames) < len(FRAMES):
        ok, bgr = cap.read()
        if not ok:
            sys.exit("make-street-clip: %s ended at frame %d" % (a.video, i))
        if i in FRAMES:
            frames[i] = bgr
        i += 1
    sums, ignore = [], []
    for k, f in enumerate(FRAMES):
        stem = "vtest_f%06d" % f
        rgb = frames[f]  # BGR, as decoded: the labeller's copy is a JPEG
        mask = cv2.imread(os.path.join(data, "masks", stem + ".png"), cv2.IMREAD_UNCHANGED)
        truth = reduce_mask(mask, mask.shape[1] // TRUTH[0])
        lr = cv2.resize(rgb, LR, interpolation=cv2.INTER_AREA)
        for name, img in (("lr_%03d.png" % k, lr), ("mask_%03d.png" % k, truth)):
            path = os.path.join(a.out, name)
            cv2.imwrite(path, img)
            with open(path, "rb") as fh:
                sums.append("%s  %s\n" % (hashlib.sha256(fh.read()).hexdigest(), name))
        shutil.copyfile(os.path.join(data, "previews", stem + ".png"), os.path.join(a.out, "previews", "%03d.png" % k))
        ignore.append(float((truth == 255).mean()))
    for name in ("provenance.jsonl", "classes.json"):
        shutil.copyfile(os.path.join(data, name), os.path.join(a.out, name))
    with open(os.path.join(a.out, "SHA256SUMS"), "w") as fh:
        fh.writelines(sums)
    info = {"frames": len(FRAMES), "source_frames": FRAMES, "video": "vtest.avi (opencv-doc 4.6.0+dfsg-12)",
            "lr_size": list(LR), "truth_size": list(TRUTH), "ignore_share": round(float(np.mean(ignore)), 4),
            "command": "/usr/bin/python3 pipelines/make-street-clip.py"}
    with open(os.path.join(a.out, "clip.json"), "w") as fh:
        json.dump(info, fh, indent=1)
    shutil.rmtree(tmp)
    print("make-street-clip: %d frames into %s, %.1f %% of truth pixels 255"
          % (len(FRAMES), a.out, 100 * info["ignore_share"]))


if __name__ == "__main__":
    main()
