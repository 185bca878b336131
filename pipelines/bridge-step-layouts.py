#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Times one bridge step of the shipped v2 shape on a CUDA GPU, in four
forms, to see where its ~1 ms at a 320x180 latent (docs/performance.md)
goes: GroupNorm as the library has it or no norm (what a folded BatchNorm
costs at inference), each in channels-last and in contiguous (NCHW) fp16.
A stand-in with random weights and the same layers as BridgeNetImpl
(lib/src/model/networks.cpp): in conv 64->32, 2 ResBlocks of 32 channels
(GroupNorm, SiLU, 3x3 conv, time-embedding add, GroupNorm, SiLU, 3x3
conv, identity skip), out GroupNorm, SiLU, conv 32->64. Replayed as a CUDA
graph, as the frame path is; ms per step, median of 5 runs of 50.

    python3 pipelines/bridge-step-layouts.py [OUT.json] [--size 320x180]
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, ch, norm):
        super().__init__()
        self.n1, self.n2 = norm(ch), norm(ch)
        self.c1, self.c2 = nn.Conv2d(ch, ch, 3, padding=1), nn.Conv2d(ch, ch, 3, padding=1)
        self.emb = nn.Linear(64, ch)

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x))) + self.emb(e)[:, :, None, None]
        return x + self.c2(F.silu(self.n2(h)))


class Step(nn.Module):
    def __init__(self, norm, latent=64, ch=32):
        super().__init__()
        self.inp = nn.Conv2d(latent, ch, 3, padding=1)
        self.blocks = nn.ModuleList([Block(ch, norm), Block(ch, norm)])
        self.out_norm, self.out = norm(ch), nn.Conv2d(ch, latent, 3, padding=1)

    def forward(self, x, cond, e):
        h = self.inp(x) + cond
        for b in self.blocks:
            h = b(h, e)
        return self.out(F.silu(self.out_norm(h)))


def timed(norm_name, channels_last, w, h):
    norm = (lambda c: nn.GroupNorm(8, c)) if norm_name == "groupnorm" else (lambda c: nn.Identity())
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    m = Step(norm).cuda().half().eval().to(memory_format=fmt)
    x = torch.randn(1, 64, h, w, device="cuda").half().contiguous(memory_format=fmt)
    cond = torch.randn(1, 32, h, w, device="cuda").half().contiguous(memory_format=fmt)
    e = torch.randn(1, 64, device="cuda").half()
    with torch.inference_mode():
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                m(x, cond, e)
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            m(x, cond, e)
        runs = []
        for _ in range(5):
            torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(50):
                g.replay()
            torch.cuda.synchronize()
            runs.append((time.perf_counter() - t) / 50 * 1000)
    return sorted(runs)[2]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    size = "320x180"
    if "--size" in sys.argv:
        size = sys.argv[sys.argv.index("--size") + 1]
        args = [a for a in args if a != size]
    w, h = (int(v) for v in size.split("x"))
    torch.backends.cudnn.benchmark = True
    rows = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "latent": f"64x{h}x{w}", "ms": {}}
    for norm in ("groupnorm", "none"):
        for cl in (True, False):
            key = f"{norm}, {'channels-last' if cl else 'contiguous'}"
            rows["ms"][key] = timed(norm, cl, w, h)
            print(f"bridge step {rows['latent']} fp16, {key:28s} {rows['ms'][key]:.3f} ms", flush=True)
    if args:
        json.dump(rows, open(args[0], "w"), indent=1)


if __name__ == "__main__":
    main()
