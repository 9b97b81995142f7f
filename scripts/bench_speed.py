#!/usr/bin/env python
"""Forward+backward time per clip of every architecture relative to TSN, beside its FLOPs ratio.

    python scripts/bench_speed.py [--backbone resnet50] [--size 224] [--batch 2] [--repeats 5]
    python scripts/bench_speed.py --device cuda --batch 32 --precision bf16 --channels-last

All models are built and timed in one run, interleaved (round-robin over repeats, the fastest
repeat kept), on the same trunk, T = 8, training mode. A module that cannot be built on that
trunk (TEA: Res2Net only) runs on its paper's trunk, and a TSN on that trunk is added
(``tsn@res2net50_26w_4s``) as the reference of its ratios. The rule of thumb checked in the last
column: a module's time ratio to TSN should stay within 1.25x its GMAC ratio to TSN
(``time_ratio <= 1.25 * gmac_ratio``). GMACs are fvcore's (elementwise work is not counted,
which is exactly what the rule makes visible). ``--device cuda`` (synchronised timing),
``--precision bf16`` (autocast) and ``--channels-last`` give the GPU throughput figures; the
table then also lists clips/s.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
import torch.nn.functional as F

from lightning_vid.models import build_model, get_architecture, list_models
from lightning_vid.models.complexity import count_gmacs


def step_time(model: torch.nn.Module, clip: torch.Tensor, target: torch.Tensor,
              precision: str = "fp32") -> float:
    device = clip.device.type
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    model.zero_grad(set_to_none=True)
    with torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16"):
        loss = F.cross_entropy(model(clip), target)
    loss.backward()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="*", default=None)
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--channels-last", action="store_true")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    torch.set_num_threads(args.threads)
    archs = args.arch or list_models()
    trunks = {"tsn": args.backbone}  # row -> trunk; ARCH@TRUNK rows: not on --backbone
    for arch in (a for a in archs if a != "tsn"):
        spec = get_architecture(arch)
        if spec.accepts(args.backbone):
            trunks[arch] = args.backbone
        else:
            trunks[f"tsn@{spec.backbone}"] = trunks[f"{arch}@{spec.backbone}"] = spec.backbone
    archs = list(trunks)
    models, clips, best, gmacs = {}, {}, {}, {}
    target = torch.zeros(args.batch, dtype=torch.long, device=device)
    for arch in archs:
        torch.manual_seed(0)
        m = build_model(arch.partition("@")[0], num_classes=400, num_segments=8,
                        backbone=trunks[arch], input_size=args.size).train()
        gmacs[arch] = count_gmacs(m, args.size)
        models[arch] = m = m.to(device, memory_format=fmt)
        n = m.num_segments * m.frames_per_segment
        clips[arch] = torch.randn(args.batch, n, 3, args.size, args.size, device=device)
        step_time(m, clips[arch], target, args.precision)  # warm-up
        best[arch] = float("inf")
    for _ in range(args.repeats):
        for arch in archs:
            best[arch] = min(best[arch], step_time(models[arch], clips[arch], target,
                                                   args.precision))
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"{args.threads} threads"
    print(f"{args.backbone}, T=8, {args.size}x{args.size}, batch {args.batch}, {where}, "
          f"{args.precision}{', channels-last' if args.channels_last else ''}, "
          f"fastest of {args.repeats}; forward+backward; ARCH@TRUNK rows on TRUNK, every ratio "
          "to TSN on the same trunk\n")
    print("| model | GMACs/clip | ms/clip | clips/s | GMAC ratio | time ratio | "
          "time <= 1.25 x GMAC ratio |")
    print("|---|---|---|---|---|---|---|")
    for arch in archs:
        ref = f"tsn@{trunks[arch]}" if f"tsn@{trunks[arch]}" in archs else "tsn"
        g, t = gmacs[arch] / gmacs[ref], best[arch] / best[ref]
        print(f"| {arch} | {gmacs[arch]:.2f} | {1e3 * best[arch] / args.batch:.0f} | "
              f"{args.batch / best[arch]:.1f} | {g:.3f} | {t:.3f} | "
              f"{'yes' if t <= 1.25 * g else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
