#!/usr/bin/env python
"""Forward+backward time per clip of every architecture relative to TSN, beside its FLOPs ratio.

    python scripts/bench_speed.py [--backbone resnet50] [--size 224] [--batch 2] [--repeats 5]
    python scripts/bench_speed.py --device cuda --batch 32 --precision bf16 --channels-last
    python scripts/bench_speed.py --compile [--backbone resnet18 --size 64 --segments 8]

All models are built and timed in one run, interleaved (round-robin over repeats, the fastest
repeat kept), on the same trunk, T = 8, training mode. A module that cannot be built on that
trunk (TEA: Res2Net only) runs on its paper's trunk, and a TSN on that trunk is added
(``tsn@res2net50_26w_4s``) as the reference of its ratios. The rule of thumb checked in the last
column: a module's time ratio to TSN should stay within 1.25x its GMAC ratio to TSN
(``time_ratio <= 1.25 * gmac_ratio``). GMACs are fvcore's (elementwise work is not counted,
which is exactly what the rule makes visible). ``--device cuda`` (synchronised timing),
``--precision bf16`` (autocast; ``--dtype bf16`` is the same) and ``--channels-last`` give the
GPU throughput figures; the table then also lists clips/s.

``--compile`` adds a second table: training (forward+backward) and inference (eval mode, no
autograd) clips/s of each model eager and ``torch.compile``-d (inductor, default mode) side
by side, and their ratio. The compiled model is a copy with the same weights; before it is
timed its eval-mode logits are checked against the eager ones (``max |diff|`` relative to the
largest logit, which must stay below 1e-3 in fp32 and 5e-2 in bf16: a check that the compiled
graph computes the model, not a test of its rounding). Compilation (one graph per mode) happens
in the warm-up and is not timed.
"""

from __future__ import annotations

import argparse
import copy
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


def infer_time(model: torch.nn.Module, clip: torch.Tensor, precision: str = "fp32") -> float:
    """Seconds of one eval-mode forward pass without autograd."""
    device = clip.device.type
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16,
                                         enabled=precision == "bf16"):
        model(clip)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def compiled_difference(eager: torch.nn.Module, compiled: torch.nn.Module, clip: torch.Tensor,
                        precision: str = "fp32") -> float:
    """max |compiled - eager| eval-mode logits over the largest eager logit."""
    eager.eval(), compiled.eval()
    with torch.no_grad(), torch.autocast(clip.device.type, dtype=torch.bfloat16,
                                         enabled=precision == "bf16"):
        a, b = eager(clip).float(), compiled(clip).float()
    eager.train(), compiled.train()
    return float((b - a).abs().max() / a.abs().max().clamp_min(1e-12))


def compile_table(archs: list[str], models: dict, clips: dict, target: torch.Tensor,
                  args: argparse.Namespace) -> list[str]:
    """The eager / compiled throughput rows (markdown) of ``archs``."""
    compiled, diffs = {}, {}
    limit = 5e-2 if args.precision == "bf16" else 1e-3
    # every architecture is a VideoRecognizer: one forward code object, whose compiled graphs
    # (train and eval for each model) count against dynamo's per-code limit of 8, past which
    # it runs that forward eagerly (the 5th model on was timed eager)
    dynamo = torch._dynamo.config
    dynamo.recompile_limit = max(dynamo.recompile_limit, 4 * len(archs))
    dynamo.accumulated_recompile_limit = max(dynamo.accumulated_recompile_limit,
                                             4 * len(archs))
    for arch in archs:  # compile (train and eval graphs) and check, untimed
        compiled[arch] = c = copy.deepcopy(models[arch])  # the same weights and BN statistics
        c.compile(backend=args.compile_backend)
        diffs[arch] = compiled_difference(models[arch], c, clips[arch], args.precision)
        step_time(c, clips[arch], target, args.precision)  # the training graph
        if diffs[arch] > limit:
            raise SystemExit(f"{arch}: compiled logits differ from eager by {diffs[arch]:.2e} "
                             f"of the largest (limit {limit})")
    runs = {(arch, kind, mode): float("inf") for arch in archs for kind in ("eager", "compiled")
            for mode in ("train", "infer")}
    for _ in range(args.repeats):  # interleaved: every model, both modes, each round
        for arch in archs:
            for kind, m in (("eager", models[arch]), ("compiled", compiled[arch])):
                t = step_time(m.train(), clips[arch], target, args.precision)
                runs[arch, kind, "train"] = min(runs[arch, kind, "train"], t)
                t = infer_time(m.eval(), clips[arch], args.precision)
                runs[arch, kind, "infer"] = min(runs[arch, kind, "infer"], t)
                m.train()
    rows = ["| model | train clips/s eager | compiled | ratio | infer clips/s eager | compiled "
            "| ratio | max abs diff / max logit |", "|---|---|---|---|---|---|---|---|"]
    for arch in archs:
        cps = {k: args.batch / v for k, v in runs.items() if k[0] == arch}
        tr = cps[arch, "compiled", "train"] / cps[arch, "eager", "train"]
        inf = cps[arch, "compiled", "infer"] / cps[arch, "eager", "infer"]
        rows.append(f"| {arch} | {cps[arch, 'eager', 'train']:.1f} | "
                    f"{cps[arch, 'compiled', 'train']:.1f} | {tr:.2f}x | "
                    f"{cps[arch, 'eager', 'infer']:.1f} | {cps[arch, 'compiled', 'infer']:.1f} | "
                    f"{inf:.2f}x | {diffs[arch]:.1e} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="*", default=None)
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--segments", type=int, default=8, help="T (default 8)")
    parser.add_argument("--precision", "--dtype", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true",
                        help="also eager vs torch.compile training and inference clips/s")
    parser.add_argument("--compile-backend", default="inductor",
                        help="torch.compile backend (default inductor)")
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
        m = build_model(arch.partition("@")[0], num_classes=400, num_segments=args.segments,
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
    print(f"{args.backbone}, T={args.segments}, {args.size}x{args.size}, batch {args.batch}, "
          f"{where}, {args.precision}{', channels-last' if args.channels_last else ''}, "
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
    if args.compile:
        print(f"\neager vs torch.compile ({args.compile_backend}), clips/s, fastest of "
              f"{args.repeats}, torch {torch.__version__}\n")
        print("\n".join(compile_table(archs, models, clips, target, args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
