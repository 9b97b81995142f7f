#!/usr/bin/env python
"""The zoo: every architecture side by side, from a `make bench` run, as a table and a plot.

    python scripts/zoo.py [--results runs/bench.md] [--out runs/zoo.md] [--plot runs/zoo.png]
                          [--import MODULE ...]

Test top-1 comes from the table ``scripts/demo.py`` wrote for the training run (``make bench``:
every architecture trained with its synthetic config, one recipe for all). Everything else is
measured here on models built from the same configs:

- parameters, and GMACs per clip (fvcore multiply-adds) at the benchmark size (the config's
  trunk, T and crop) and at the papers' size (8 segments, 224x224, 400 classes, a ResNet-50
  trunk for every row on a plain ResNet; rows on another trunk keep it: TEA and its TSN
  reference on Res2Net-50);
- training throughput (clips/s: forward, backward and an SGD step on a random batch of the
  config's batch size) and inference throughput (eval mode, no autograd): all models in one
  process, timed round-robin, median of ``--steps`` steps after 2 warm-up steps, with all of
  this machine's threads;
- peak memory of training: in a fresh process per model, the peak resident set (VmHWM, reset
  through /proc/self/clear_refs) over 3 training steps, above the memory held once the model
  and batch exist (Linux only).

Every measured figure is also given relative to TSN on the same trunk from the same run
(``tsn@<trunk>`` rows, which ``scripts/demo.py --arch all`` trains for a module whose config
has another trunk than TSN's: TEA on Res2Net-50), else to TSN.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from demo import config_for, resolved_config, short_name  # noqa: E402  (scripts/ is not a package)

from lightning_vid.checkpoint import model_from_config  # noqa: E402
from lightning_vid.models import build_model, get_architecture  # noqa: E402
from lightning_vid.models.complexity import count_gmacs, count_params  # noqa: E402


def read_results(path: Path) -> dict[str, float]:
    """``{arch: test top-1 in %}`` from the Markdown table ``scripts/demo.py`` writes."""
    rows = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\|\s*([\w@.]+)\s*\|\s*([\d.]+) %", line)
        if m:
            rows[m.group(1)] = float(m.group(2))
    if not rows:
        raise SystemExit(f"{path}: no result rows (expected the table scripts/demo.py writes)")
    return rows


def build_from_config(arch: str) -> tuple[torch.nn.Module, dict]:
    """The model of the architecture's synthetic config, as the CLI builds it, and the config's
    data section (the config resolved as the CLI reads it: sub-config files, defaults) with
    the trunk it names under ``"backbone"``."""
    path, overrides = config_for(arch)
    cfg = resolved_config(path, *overrides)
    backbone = cfg["model"]["model"]["init_args"]["backbone"]
    data = dict(cfg["data"]["init_args"],
                backbone=backbone or get_architecture(arch.partition("@")[0]).backbone)
    return model_from_config(cfg, num_classes=8), data


def paper_model(arch: str, backbone: str) -> torch.nn.Module:
    """``arch`` (``ARCH@BACKBONE`` too) at the papers' size: 8 segments, 224x224, 400 classes,
    on ResNet-50 if the bench trunk ``backbone`` is a plain ResNet, else on ``backbone``."""
    trunk = "resnet50" if re.fullmatch(r"resnet\d+", backbone) else backbone
    return build_model(arch.partition("@")[0], num_classes=400, num_segments=8, backbone=trunk,
                       input_size=224)


def reference(row: dict, rows: list[dict]) -> dict:
    """The TSN row that ``row``'s relative figures divide by: TSN on ``row``'s trunk if the
    run has one, else the ``tsn`` row."""
    same = f"tsn@{row['backbone']}"
    return next((r for r in rows if r["arch"] == same),
                next(r for r in rows if r["arch"] == "tsn"))


def _setup(arch: str) -> tuple[torch.nn.Module, dict, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model, data = build_from_config(arch)
    batch, crop = data["batch_size"], data["crop_size"]
    frames = data["num_segments"] * data.get("frames_per_segment", 1)
    return model, data, torch.randn(batch, frames, 3, crop, crop), torch.randint(8, (batch,))


def _train_step(model: torch.nn.Module, opt: torch.optim.Optimizer, clip: torch.Tensor,
                target: torch.Tensor) -> float:
    start = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(clip), target).backward()
    opt.step()
    return time.perf_counter() - start


def _infer_step(model: torch.nn.Module, clip: torch.Tensor) -> float:
    start = time.perf_counter()
    with torch.inference_mode():
        model(clip)
    return time.perf_counter() - start


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def peak_memory(arch: str, steps: int = 3) -> float:
    """MiB the resident set peaks above its level once the model and batch exist, over
    ``steps`` training steps. Run in a fresh process (an allocator that has served other
    models would hide growth); the peak (VmHWM) is reset first through /proc (Linux)."""
    model, _, clip, target = _setup(arch)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    model.train()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := VmRSS, so that imports' transient peaks do not count
    base_kib = _status_kib("VmRSS")
    for _ in range(steps):
        _train_step(model, opt, clip, target)
    return (_status_kib("VmHWM") - base_kib) / 1024


def measure(archs: list[str], steps: int, memory: bool = True,
            modules: tuple[str, ...] = ()) -> list[dict]:
    """Every architecture's figures at the benchmark size. Timings interleave the models
    (round-robin over ``steps`` after 2 warm-up steps each, the median kept), so that a
    drift of the machine's speed does not favour one of them."""
    built = {arch: _setup(arch) for arch in archs}
    opts = {arch: torch.optim.SGD(built[arch][0].parameters(), lr=1e-3, momentum=0.9)
            for arch in archs}
    train_s: dict[str, list[float]] = {arch: [] for arch in archs}
    infer_s: dict[str, list[float]] = {arch: [] for arch in archs}
    for arch in archs:  # warm-up
        model, _, clip, target = built[arch]
        model.train()
        for _ in range(2):
            _train_step(model, opts[arch], clip, target)
    for _ in range(steps):
        for arch in archs:
            model, _, clip, target = built[arch]
            train_s[arch].append(_train_step(model.train(), opts[arch], clip, target))
    for arch in archs:
        for _ in range(2):
            _infer_step(built[arch][0].eval(), built[arch][2])
    for _ in range(steps):
        for arch in archs:
            infer_s[arch].append(_infer_step(built[arch][0].eval(), built[arch][2]))
    rows = []
    for arch in archs:
        model, data, clip, _ = built[arch]
        batch = clip.shape[0]
        paper = paper_model(arch, data["backbone"])
        mib = float("nan")
        if memory:
            out = subprocess.run([sys.executable, __file__, "--peak-memory", arch,
                                  "--import", *modules],
                                 capture_output=True, text=True, check=True)
            mib = float(out.stdout.strip().splitlines()[-1])
        rows.append({"arch": arch, "params": count_params(model),
                     "gmacs_bench": count_gmacs(model, data["crop_size"]),
                     "gmacs_r50": count_gmacs(paper, 224),
                     "train_cps": batch / statistics.median(train_s[arch]),
                     "infer_cps": batch / statistics.median(infer_s[arch]),
                     "peak_mib": mib, "batch": batch, "frames": clip.shape[1],
                     "crop": data["crop_size"], "threads": torch.get_num_threads(),
                     "backbone": data["backbone"]})
        print(f"{arch}: measured", flush=True)
    return rows


def table(rows: list[dict], top1: dict[str, float]) -> str:
    def rel(r: dict, key: str, fmt: str) -> str:
        return f"{format(r[key], fmt)} ({r[key] / reference(r, rows)[key]:.2f}x)"

    b = rows[0]
    lines = [f"| model | trunk | test top-1 | params | GMACs 8x224² | GMACs bench | "
             f"train clips/s | infer clips/s | train peak memory |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['arch']} | {short_name(r['backbone'])} | {top1[r['arch']]:.1f} % | "
                     f"{r['params'] / 1e6:.2f} M | "
                     f"{rel(r, 'gmacs_r50', '.2f')} | {rel(r, 'gmacs_bench', '.3f')} | "
                     f"{rel(r, 'train_cps', '.1f')} | {rel(r, 'infer_cps', '.1f')} | "
                     f"{rel(r, 'peak_mib', '.0f')} MiB |")
    lines.append("")
    tdn = next((r["frames"] for r in rows if r["arch"] == "tdn"), None)
    lines.append(f"Bench size: each synthetic config's trunk (r18: ResNet-18, r2n50: "
                 f"Res2Net-50 26w4s), {b['frames']} frames per clip"
                 f"{f' (TDN: {tdn}, 5 per segment)' if tdn else ''}"
                 f" at {b['crop']}x{b['crop']}, batch {b['batch']}; "
                 f"{b['threads']} threads on {os.cpu_count()} CPU cores, "
                 f"torch {torch.__version__}. "
                 "GMACs 8x224²: ResNet-50 for the r18 rows, Res2Net-50 for the r2n50 rows, "
                 "400 classes. (x) = relative to TSN on the same trunk in the same run.")
    return "\n".join(lines)


def plot(rows: list[dict], top1: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, key, label in ((axes[0], "train_cps", "training throughput (x TSN, same trunk)"),
                           (axes[1], "gmacs_r50", "GMACs at 8x224² (x TSN, same trunk)")):
        for r in rows:
            x = r[key] / reference(r, rows)[key]
            ax.scatter(x, top1[r["arch"]], s=20 + 4 * r["params"] / 1e6)
            ax.annotate(r["arch"], (x, top1[r["arch"]]), xytext=(4, 4),
                        textcoords="offset points", fontsize=8)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("synthetic test top-1 (%)")
    fig.suptitle("lightning_vid zoo on the synthetic benchmark (marker area ~ params)",
                 fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="runs/bench.md", help="the table of `make bench`")
    parser.add_argument("--out", default="runs/zoo.md")
    parser.add_argument("--plot", default="runs/zoo.png")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per model")
    parser.add_argument("--import", dest="modules", nargs="*", default=[], metavar="MODULE",
                        help="modules to import first (blocks registered outside lightning_vid)")
    parser.add_argument("--peak-memory", help=argparse.SUPPRESS)  # child: one architecture
    args = parser.parse_args(argv)
    for module in args.modules:
        importlib.import_module(module)
    if args.peak_memory:
        print(peak_memory(args.peak_memory))
        return 0
    top1 = read_results(Path(args.results))
    if "tsn" not in top1:
        raise SystemExit(f"{args.results}: no tsn row; the zoo is relative to TSN")
    archs = ["tsn"] + [a for a in top1 if a != "tsn"]
    rows = measure(archs, args.steps, modules=tuple(args.modules))
    text = table(rows, top1) + f"\n\nTest top-1 from {args.results}.\n"
    print("\n" + text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    plot(rows, top1, Path(args.plot))
    print(f"wrote {args.out} and {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
