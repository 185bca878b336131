#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Where one bridge step's milliseconds go on the CPU, layer by layer, for
both bridge types at a latent grid (default 96x72: the demo's 384x288 output
at x4), in NCHW and channels-last (docs/performance.md, "Where a bridge step
goes"). Stand-ins with random weights and the layers of the library's nets
(lib/src/model/networks.cpp GroupNormBridgeImpl, bridge_net_conv_bn.cpp
ConvBnBridgeImpl as folded: time MLP and BatchNorm gone); the same LibTorch
(Debian's python3-torch) and oneDNN as the C++ library. Each layer alone:
the minimum over --runs calls (the least disturbed on a shared machine),
then the whole step the same way.

    /usr/bin/python3 pipelines/bridge-step-cpu.py [--size 96x72] [--threads 2] [--runs 40] [--json OUT]
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F


def best_ms(f, runs):
    for _ in range(3):
        f()
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best * 1000


def layers(kind, fmt, w, h, latent=64, ch=32, blocks=2, td=64):
    r = lambda *s: torch.randn(*s) * 0.1
    t4 = lambda x: x.contiguous(memory_format=fmt)
    zt, cond32 = t4(r(1, latent, h, w)), t4(r(1, ch, h, w))
    x32 = t4(r(1, ch, h, w))
    out = []  # (name, callable)
    if kind == "groupnorm":
        w_in, w_b, w_out = t4(r(ch, latent, 3, 3)), t4(r(ch, ch, 3, 3)), t4(r(latent, ch, 3, 3))
        b_ch, b_lat = r(ch), r(latent)
        l1, l2, lb = (r(4 * td, td), r(4 * td)), (r(4 * td, 4 * td), r(4 * td)), (r(ch, 4 * td), r(ch))
        sinus = r(1, td)
        out.append(("time MLP (2 Linear + SiLU)", lambda: F.linear(F.silu(F.linear(sinus, *l1)), *l2)))
        out.append(("in conv3x3 64->32 + cond", lambda: F.conv2d(zt, w_in, padding=1) + cond32))
        for b in range(blocks):
            out.append((f"block {b}: GroupNorm + SiLU", lambda: F.silu(F.group_norm(x32, 8))))
            out.append((f"block {b}: conv3x3 32->32", lambda: F.conv2d(x32, w_b, b_ch, padding=1)))
            out.append((f"block {b}: embedding Linear + add", lambda: x32 + F.linear(r(1, 4 * td), *lb)[:, :, None, None]))
            out.append((f"block {b}: GroupNorm + SiLU", lambda: F.silu(F.group_norm(x32, 8))))
            out.append((f"block {b}: conv3x3 32->32 + skip", lambda: F.conv2d(x32, w_b, b_ch, padding=1) + x32))
        out.append(("out GroupNorm + SiLU", lambda: F.silu(F.group_norm(x32, 8))))
        out.append(("out conv3x3 32->64", lambda: F.conv2d(x32, w_out, b_lat, padding=1)))
    else:
        w_in, w_b, w_out = t4(r(ch, latent, 1, 1)), t4(r(ch, ch, 3, 3)), t4(r(latent, ch, 1, 1))
        bias, b_lat = r(ch), r(latent)
        out.append(("in conv1x1 64->32 + cond + SiLU", lambda: F.silu(F.conv2d(zt, w_in) + cond32)))
        for b in range(blocks):
            out.append((f"block {b}: conv3x3 32->32 (step bias) + SiLU + add",
                        lambda: x32 + F.silu(F.conv2d(x32, w_b, bias, padding=1))))
        out.append(("out conv1x1 32->64", lambda: F.conv2d(x32, w_out, b_lat)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="96x72")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--json")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    report = {"torch": torch.__version__, "threads": a.threads, "latent": f"64x{h}x{w}", "rows": {}}
    with torch.inference_mode():
        for kind in ("groupnorm", "conv_bn"):
            for fmt_name, fmt in (("nchw", torch.contiguous_format), ("channels-last", torch.channels_last)):
                rows = layers(kind, fmt, w, h)
                ms = [(name, best_ms(f, a.runs)) for name, f in rows]
                whole = best_ms(lambda: [f() for _, f in rows], a.runs)
                key = f"{kind}, {fmt_name}"
                report["rows"][key] = {"layers": ms, "sum_ms": sum(v for _, v in ms), "step_ms": whole}
                print(f"\n{key}: step {whole:.2f} ms (layers alone sum to {sum(v for _, v in ms):.2f})")
                for name, v in ms:
                    print(f"  {name:48s} {v:6.3f} ms")
    if a.json:
        json.dump(report, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
