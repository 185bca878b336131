# SPDX-License-Identifier: MIT
"""How teacher outputs become a mask: the class table, NMS, the GrabCut and
matte masks per box, the vegetation rule and the ignore (255) bands.

Pure functions of numpy arrays (OpenCV for GrabCut and morphology), so the
tests can check each rule; scripts/label-with-teachers.py drives them.
docs/design.md §6 has the table and the rules in words.
"""
import cv2
import numpy as np

IGNORE = 255

# The dataset's classes (index = mask value) and their overlay colours.
CLASSES = [
    ("background", (0, 0, 0)),
    ("person", (220, 20, 60)),
    ("vehicle", (0, 0, 142)),
    ("animal", (255, 165, 0)),
    ("vegetation", (107, 142, 35)),
]
BACKGROUND, PERSON, VEHICLE, ANIMAL, VEGETATION = range(5)

# COCO's 80 detector classes (NanoDet's output order) -> dataset class.
# Classes not listed are background: a detected chair is part of the scene.
# A potted plant is vegetation only where the green rule agrees (the pot is
# left unsure).
COCO_NAMES = (
    "person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant stop_sign "
    "parking_meter bench bird cat dog horse sheep cow elephant bear zebra giraffe backpack umbrella "
    "handbag tie suitcase frisbee skis snowboard sports_ball kite baseball_bat baseball_glove skateboard "
    "surfboard tennis_racket bottle wine_glass cup fork knife spoon bowl banana apple sandwich orange "
    "broccoli carrot hot_dog pizza donut cake chair couch potted_plant bed dining_table toilet tv laptop "
    "mouse remote keyboard cell_phone microwave oven toaster sink refrigerator book clock vase scissors "
    "teddy_bear hair_drier toothbrush").split()
assert len(COCO_NAMES) == 80
COCO_TO_CLASS = {0: PERSON}
COCO_TO_CLASS.update({c: VEHICLE for c in range(1, 9)})
COCO_TO_CLASS.update({c: ANIMAL for c in range(14, 24)})
POTTED_PLANT = 58


class Rules:
    """The thresholds, in one place (the provenance records them)."""
    sure_score = 0.45      # a box at or above this is painted
    unsure_score = 0.30    # between the two: the box is left 255
    nms_iou = 0.5
    rival_iou = 0.5        # boxes overlapping this much name the same thing
    rival_ratio = 0.6      # a rival of another class scoring this share of
                           # a sure box's score makes the box unsure
    cut_side = 160         # GrabCut runs with the crop's longer side at most this
    box_margin = 0.15      # GrabCut's crop: the box grown by this share a side
    grabcut_iters = 4
    min_fg_share = 0.12    # GrabCut keeping less (or more) of its box than
    max_fg_share = 0.97    # this is a failed cut: the box is left 255
    matte_on = 0.6         # selfie probability agreeing with GrabCut on "person"
    band_share = 0.04      # ignore band: this share of the box's short side
    exg_on = 24.0          # excess green 2G-R-B (0..255 scale) for vegetation
    exg_off = 10.0         # between off and on: unsure
    min_texture = 3.0      # mean |Laplacian| under it: flat green (a sign)
    min_veg_share = 0.002  # vegetation blobs smaller than this share: unsure
    veg_band = 2           # px of ignore around vegetation's edge


def is_photograph(rgb, min_colours):
    """make-dataset's photograph test (docs/design.md §6), on the whole
    image: over min_colours distinct colours and under half of adjacent
    pixel pairs identical (drawings are flat; noise-free renders too)."""
    flat = rgb.reshape(-1, 3).astype(np.uint32)
    colours = np.unique((flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]).size
    same_x = (rgb[:, 1:] == rgb[:, :-1]).all(axis=2)
    same_y = (rgb[1:, :] == rgb[:-1, :]).all(axis=2)
    identical = (same_x.sum() + same_y.sum()) / float(same_x.size + same_y.size)
    return colours > min_colours and identical < 0.5


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms(raw, iou_threshold, min_score):
    """Greedy per-class NMS over the worker's candidates, best score first."""
    keep = []
    for d in sorted((d for d in raw if d["score"] >= min_score), key=lambda d: -d["score"]):
        if all(k["cls"] != d["cls"] or iou(k["box"], d["box"]) < iou_threshold for k in keep):
            keep.append(d)
    return keep


def dataset_class(coco):
    """The dataset class a COCO class paints (background for the rest)."""
    return COCO_TO_CLASS.get(coco, BACKGROUND)


def judge(dets, rules):
    """Each kept detection with a verdict: "sure", "unsure" (score between
    the thresholds), "rivals" (a box of another dataset class nearly as
    likely over the same place: the teachers disagree) or "duplicate" (an
    unsure box over a sure one of the same dataset class)."""
    out = []
    for d in dets:
        c = dataset_class(d["cls"])
        same_place = [o for o in dets if o is not d and iou(o["box"], d["box"]) >= rules.rival_iou]
        if d["score"] >= rules.sure_score:
            rivals = [o for o in same_place if dataset_class(o["cls"]) != c
                      and o["score"] >= rules.rival_ratio * d["score"]]
            verdict = "rivals" if rivals else "sure"
        else:
            dup = any(dataset_class(o["cls"]) == c and o["score"] >= rules.sure_score for o in same_place)
            verdict = "duplicate" if dup else "unsure"
        out.append((d, verdict))
    return out


def ignore_band(mask, width):
    """The pixels within `width` of the mask's edge, inside and out."""
    if width <= 0:
        return np.zeros_like(mask, dtype=bool)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    m = mask.astype(np.uint8)
    return cv2.dilate(m, k).astype(bool) & ~cv2.erode(m, k).astype(bool)


def crop_window(box, shape, margin):
    """Integer crop (x0, y0, x1, y1) of the box grown by `margin` a side."""
    h, w = shape[:2]
    bw, bh = box[2] - box[0], box[3] - box[1]
    x0 = int(max(0, np.floor(box[0] - margin * bw)))
    y0 = int(max(0, np.floor(box[1] - margin * bh)))
    x1 = int(min(w, np.ceil(box[2] + margin * bw)))
    y1 = int(min(h, np.ceil(box[3] + margin * bh)))
    return x0, y0, x1, y1


def grabcut_box(bgr, box, rules):
    """GrabCut initialised by the box, on a crop around it scaled so its
    longer side is at most rules.cut_side (the cut's cost grows with the
    pixels; the mask is scaled back). Returns the crop window and its
    foreground (bool), or None when the cut failed."""
    x0, y0, x1, y1 = crop_window(box, bgr.shape, rules.box_margin)
    cw, ch = x1 - x0, y1 - y0
    if cw < 4 or ch < 4 or box[2] - box[0] < 3 or box[3] - box[1] < 3:
        return None
    s = min(1.0, rules.cut_side / float(max(cw, ch)))
    sw, sh = max(4, int(round(cw * s))), max(4, int(round(ch * s)))
    crop = cv2.resize(bgr[y0:y1, x0:x1], (sw, sh), interpolation=cv2.INTER_AREA) if s < 1 else \
        np.ascontiguousarray(bgr[y0:y1, x0:x1])
    fx, fy = sw / float(cw), sh / float(ch)
    rx0 = int(round((box[0] - x0) * fx))
    ry0 = int(round((box[1] - y0) * fy))
    rw = max(1, min(sw - rx0, int(round((box[2] - box[0]) * fx))))
    rh = max(1, min(sh - ry0, int(round((box[3] - box[1]) * fy))))
    gc = np.zeros((sh, sw), np.uint8)
    bg_model = np.zeros((1, 65), np.float64)
    fg_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means draws from OpenCV's global RNG
    try:
        cv2.grabCut(crop, gc, (rx0, ry0, rw, rh), bg_model, fg_model, rules.grabcut_iters, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return None  # e.g. a box whose inside and outside are one colour
    fg = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.uint8)
    if s < 1:
        fg = cv2.resize(fg, (cw, ch), interpolation=cv2.INTER_NEAREST)
    fg = fg.astype(bool)
    inside = np.zeros_like(fg)
    bx0, by0 = int(round(box[0])) - x0, int(round(box[1])) - y0
    inside[by0:int(round(box[3])) - y0, bx0:int(round(box[2])) - x0] = True
    fg &= inside
    share = fg.sum() / float(max(1, inside.sum()))
    if share < rules.min_fg_share or share > rules.max_fg_share:
        return None
    return (x0, y0, x1, y1), fg


def matte_window(box, shape):
    """The square crop (clipped to the image) that the selfie model sees for
    a person box: the box's longer side plus a fifth, centred."""
    h, w = shape[:2]
    side = 1.2 * max(box[2] - box[0], box[3] - box[1])
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    return x0, y0, x1, y1


def vegetation(rgb, rules):
    """Excess green with texture: returns (vegetation, unsure) bool masks.
    Flat saturated green (signs, cones, painted walls) and small blobs are
    unsure, not vegetation; so is the band around every vegetation edge."""
    f = rgb.astype(np.float32)
    exg = 2 * f[..., 1] - f[..., 0] - f[..., 2]
    lit = f.max(axis=2) > 25  # in the dark the chromaticity is noise
    on = (exg >= rules.exg_on) & lit
    unsure = (exg >= rules.exg_off) & ~on & lit
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    texture = cv2.blur(np.abs(cv2.Laplacian(grey, cv2.CV_32F)), (9, 9))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(on.astype(np.uint8), connectivity=8)
    min_area = rules.min_veg_share * rgb.shape[0] * rgb.shape[1]
    veg = np.zeros_like(on)
    if n > 1:
        sums = np.bincount(lab.ravel(), weights=texture.ravel(), minlength=n)
        mean_tex = sums / np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
        good = (stats[:, cv2.CC_STAT_AREA] >= min_area) & (mean_tex >= rules.min_texture)
        good[0] = False
        veg = good[lab]
        unsure |= on & ~veg
    band = ignore_band(veg, rules.veg_band)  # both sides of every vegetation edge
    return veg & ~band, unsure | band
