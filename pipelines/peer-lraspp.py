#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Times a peer segmenter, torchvision's LR-ASPP MobileNetV3-Large, on the
CPU at an output size and thread count, for docs/performance.md's side-by-side
rows (pipelines/bench-with-peer.sh runs it right after `i2sbseg bench`).

Random weights: the time is all it measures. The input is the full output
size (LR-ASPP reads the HR frame; i2sbseg reads one scale factor smaller),
channels-last, eager, in inference mode, the argmax included.
Needs Debian's python3-torchvision."""
import argparse
import json
import statistics
import sys
import time

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="384x288", help="output (and input) size WxH")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--frames", type=int, default=20, help="timed runs (the median is reported)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json-out", help="write the rows here too")
    a = ap.parse_args()
    try:
        w, h = (int(v) for v in a.size.split("x"))
    except ValueError:
        sys.exit(f"peer-lraspp: --size must be WxH, got '{a.size}'")
    try:
        import torch
        import torchvision
    except ImportError as e:
        sys.exit(f"peer-lraspp: {e.name} is missing: apt-get install python3-torchvision")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    seg = torchvision.models.segmentation
    rows = {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": a.threads,
            "size": {"width": w, "height": h}, "frames": a.frames}
    x = torch.rand(1, 3, h, w).to(memory_format=torch.channels_last)
    for name in ("lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large"):
        m = getattr(seg, name)(weights=None, weights_backbone=None, num_classes=a.classes).eval()
        m = m.to(memory_format=torch.channels_last)
        times = []
        with torch.inference_mode():
            for i in range(a.warmup + a.frames):
                t = time.perf_counter()
                m(x)["out"].argmax(1)
                if i >= a.warmup:
                    times.append((time.perf_counter() - t) * 1000)
        rows[name + "_ms"] = statistics.median(times)
        print(f"{name}: {rows[name + '_ms']:.1f} ms/frame at {w}x{h}, {a.threads} threads", flush=True)
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(rows, f, indent=1)

if __name__ == "__main__":
    main()
