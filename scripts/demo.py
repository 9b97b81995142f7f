#!/usr/bin/env python
"""Train and test architectures on the synthetic motion benchmark through the CLI.

    python scripts/demo.py [--data data/synthetic] [--arch tsn tsm ...] [--out runs/demo.md]

For each architecture it runs ``lightning-vid fit`` then ``lightning-vid test`` (best
checkpoint) with ``lightning_vid/configs/<arch>_*_synthetic.yaml`` and prints a Markdown
table: test top-1/top-5, parameters, training time and epochs (``scripts/zoo.py`` adds
GMACs, throughput and memory for ``make bench``).
TSN cannot tell a class from its time-reversed partner, so it stays at or below 50 % (32-34 %
measured); a working temporal module gets near 100 % (README, "Measured").
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from pathlib import Path

import torch

from lightning_vid.cli import cli_main
from lightning_vid.data.synthetic import generate
from lightning_vid.models.complexity import count_params

CONFIGS = Path(__file__).resolve().parents[1] / "lightning_vid" / "configs"


def config_for(arch: str) -> str:
    found = sorted(glob.glob(str(CONFIGS / f"{arch}_*_synthetic.yaml")))
    if not found:
        raise SystemExit(f"no synthetic config for {arch!r} in {CONFIGS}")
    return found[0]


def run(arch: str, data: str, extra: list[str]) -> dict:
    config = config_for(arch)
    common = ["--config", config, "--data.root", data, *extra]
    start = time.perf_counter()
    fit = cli_main(["fit", *common])
    train_s = time.perf_counter() - start
    best = fit.trainer.checkpoint_callback.best_model_path or "last"
    test = cli_main(["test", *common, "--ckpt_path", best])
    metrics = {k: float(v) for k, v in test.trainer.callback_metrics.items()}
    return {"arch": arch, "config": os.path.relpath(config), "acc1": metrics["test/acc1"],
            "acc5": metrics["test/acc5"], "params": count_params(fit.model.model),
            "train_s": train_s, "epochs": fit.trainer.current_epoch}


def table(rows: list[dict]) -> str:
    lines = ["| model | test top-1 | test top-5 | params | train time | epochs | config |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['arch']} | {100 * r['acc1']:.1f} % | {100 * r['acc5']:.1f} % | "
                     f"{r['params'] / 1e6:.2f} M | {r['train_s'] / 60:.1f} min | {r['epochs']} | "
                     f"{r['config']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/synthetic")
    parser.add_argument("--arch", nargs="+", default=["tsn", "tsm"])
    parser.add_argument("--out", default="runs/demo.md", help="also write the table here")
    parser.add_argument("cli_args", nargs="*", help="extra CLI overrides, after --")
    args = parser.parse_args(argv)
    generate(args.data)
    rows = [run(arch, args.data, args.cli_args) for arch in args.arch]
    text = (f"{table(rows)}\n\nMachine: {os.cpu_count()} CPU cores, "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads.\n")
    print("\n" + text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
