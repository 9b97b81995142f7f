#!/usr/bin/env python
"""Forward+backward time per clip of every architecture relative to TSN, beside its FLOPs ratio.

    python scripts/bench_speed.py [--backbone resnet50] [--size 224] [--batch 2] [--repeats 5]

All models are built and timed in one run, interleaved (round-robin over repeats, the fastest
repeat kept), on the same trunk, T = 8, training mode. The rule of thumb checked in the last
column: a module's time ratio to TSN should stay within 1.25x its GMAC ratio to TSN
(``time_ratio <= 1.25 * gmac_ratio``). GMACs are fvcore's (elementwise work is not counted,
which is exactly what the rule makes visible).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
import torch.nn.functional as F

from lightning_vid.models import build_model, list_models
from lightning_vid.models.complexity import count_gmacs


def step_time(model: torch.nn.Module, clip: torch.Tensor, target: torch.Tensor) -> float:
    start = time.perf_counter()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(clip), target).backward()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="*", default=None)
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    archs = args.arch or list_models()
    archs = ["tsn"] + [a for a in archs if a != "tsn"]
    models, clips, best, gmacs = {}, {}, {}, {}
    for arch in archs:
        torch.manual_seed(0)
        m = build_model(arch, num_classes=400, num_segments=8, backbone=args.backbone,
                        input_size=args.size).train()
        models[arch] = m
        n = m.num_segments * m.frames_per_segment
        clips[arch] = torch.randn(args.batch, n, 3, args.size, args.size)
        gmacs[arch] = count_gmacs(m, args.size)
        step_time(m, clips[arch], torch.zeros(args.batch, dtype=torch.long))  # warm-up
        best[arch] = float("inf")
    target = torch.zeros(args.batch, dtype=torch.long)
    for _ in range(args.repeats):
        for arch in archs:
            best[arch] = min(best[arch], step_time(models[arch], clips[arch], target))
    print(f"{args.backbone}, T=8, {args.size}x{args.size}, batch {args.batch}, "
          f"{args.threads} threads, fastest of {args.repeats}; forward+backward\n")
    print("| model | GMACs/clip | ms/clip | GMAC ratio | time ratio | time <= 1.25 x GMAC ratio |")
    print("|---|---|---|---|---|---|")
    for arch in archs:
        g, t = gmacs[arch] / gmacs["tsn"], best[arch] / best["tsn"]
        print(f"| {arch} | {gmacs[arch]:.2f} | {1e3 * best[arch] / args.batch:.0f} | {g:.3f} | "
              f"{t:.3f} | {'yes' if t <= 1.25 * g else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
