#!/usr/bin/env python
"""Time and peak memory of TCM's pure-PyTorch local correlation against the direct reference.

Usage:  python scripts/bench_correlation.py [--sizes 28 56] [--repeats 2] [--device cpu|cuda]

Compares ``local_correlation`` (one row-band matmul per vertical offset, hand-written
backward) with ``dense_local_correlation`` (a matmul of all H*W x H*W positions, then a
gather of each window) on N = B*T = 16 pairs of C = 64 maps, R = 7 (225 displacements),
the setting of TCM after res3 of ResNet-50 (28 x 28 at 224 px; 56 x 56 after res2).
Prints a Markdown table: best-of-``repeats`` wall time of the forward and of
forward + backward, the peak memory allocated during each (CUDA:
``torch.cuda.max_memory_allocated``; CPU: the torch profiler's allocation records, summed
in time order), and that peak as a multiple of the correlation volume returned (inputs
not counted). About 25 s on 2 idle CPU cores. On a loaded CPU, ``--threads 1`` avoids
OpenMP stalls that hit the 15 small matmuls per call far more than the reference's one.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Callable

import torch
from torch import Tensor

from lightning_vid.blocks.correlation import dense_local_correlation, local_correlation

MiB = 2.0**20


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _run(fn: Callable, f1: Tensor, f2: Tensor, radius: int, backward: bool) -> None:
    a, b = f1.detach().requires_grad_(backward), f2.detach().requires_grad_(backward)
    out = fn(a, b, radius)
    if backward:
        out.backward(torch.ones_like(out))


def best_time(fn: Callable, f1: Tensor, f2: Tensor, radius: int, backward: bool,
              repeats: int) -> float:
    """Best wall time in seconds over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        _sync(f1.device)
        start = time.perf_counter()
        _run(fn, f1, f2, radius, backward)
        _sync(f1.device)
        times.append(time.perf_counter() - start)
    return min(times)


def peak_bytes(fn: Callable, f1: Tensor, f2: Tensor, radius: int, backward: bool) -> int:
    """Peak bytes allocated during one run, beyond what was allocated before it."""
    if f1.device.type == "cuda":
        torch.cuda.synchronize(f1.device)
        base = torch.cuda.memory_allocated(f1.device)
        torch.cuda.reset_peak_memory_stats(f1.device)
        _run(fn, f1, f2, radius, backward)
        torch.cuda.synchronize(f1.device)
        return torch.cuda.max_memory_allocated(f1.device) - base
    activity = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activity, profile_memory=True) as prof:
        _run(fn, f1, f2, radius, backward)
    records = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    current = peak = 0
    for event in sorted(records, key=lambda e: e.start_ns()):
        current += event.nbytes()
        peak = max(peak, current)
    return peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 56])
    parser.add_argument("--pairs", type=int, default=16, help="N = B*T feature-map pairs")
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--radius", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    impls = {"local_correlation (ours)": local_correlation,
             "dense reference (bmm + gather)": dense_local_correlation}
    d2 = (2 * args.radius + 1) ** 2
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"N={args.pairs}, C={args.channels}, R={args.radius} ({d2} displacements)\n")
    rows = ["| H x W | implementation | forward ms | fwd+bwd ms | peak fwd MiB | "
            "peak fwd+bwd MiB | volume MiB | peak fwd / volume | max abs diff |",
            "|---|---|---|---|---|---|---|---|---|"]
    for size in args.sizes:
        gen = torch.Generator().manual_seed(0)
        shape = (args.pairs, args.channels, size, size)
        f1 = torch.randn(shape, generator=gen).to(device)
        f2 = torch.randn(shape, generator=gen).to(device)
        with torch.no_grad():
            reference = dense_local_correlation(f1, f2, args.radius)
        volume = reference.numel() * reference.element_size()
        for name, fn in impls.items():
            with torch.no_grad():  # also the warm-up
                diff = (fn(f1, f2, args.radius) - reference).abs().max().item()
            t_fwd = best_time(fn, f1, f2, args.radius, False, args.repeats)
            t_all = best_time(fn, f1, f2, args.radius, True, args.repeats)
            m_fwd = peak_bytes(fn, f1, f2, args.radius, False)
            m_all = peak_bytes(fn, f1, f2, args.radius, True)
            rows.append(f"| {size} x {size} | {name} | {1e3 * t_fwd:.1f} | {1e3 * t_all:.1f} | "
                        f"{m_fwd / MiB:.1f} | {m_all / MiB:.1f} | {volume / MiB:.1f} | "
                        f"{m_fwd / volume:.2f} | {diff:.1e} |")
            print(rows[-1], flush=True)
    print("\n" + "\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
