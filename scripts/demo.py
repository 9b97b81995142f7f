#!/usr/bin/env python
"""Train and test architectures on the synthetic motion benchmark through the CLI.

    python scripts/demo.py [--data data/synthetic] [--arch tsn tsm ... | all] [--out runs/demo.md]
                           [--import MODULE ...] [-- CLI overrides]

For each architecture it runs ``lightning-vid fit`` then ``lightning-vid test`` (best
checkpoint) with ``lightning_vid/configs/<arch>_*_synthetic.yaml`` and prints a Markdown
table: test top-1/top-5, parameters, training time and epochs (``scripts/zoo.py`` adds
GMACs, throughput and memory for ``make bench``). ``--arch all`` is every registered
architecture (``list_models()``); one without a synthetic config of its own runs TSN's with
its model class in place (``--import`` the module of a block registered outside
lightning_vid). ``ARCH@BACKBONE`` runs an architecture's config on another trunk
(``tsn@res2net50_26w_4s``); ``--arch all`` adds TSN on every other trunk a config uses
(TEA's Res2Net-50), next to it, so that each temporal module has a TSN on its own trunk.
TSN cannot tell a class from its time-reversed partner, so it stays at or below 50 % (32-34 %
measured); a working temporal module gets near 100 % (README, "Measured").
"""

from __future__ import annotations

import argparse
import glob
import importlib
import os
import re
import sys
import time
import warnings
from pathlib import Path

import torch
import yaml

from lightning_vid.cli import VideoCLI, cli_main
from lightning_vid.data.synthetic import generate
from lightning_vid.models import get_architecture, list_models
from lightning_vid.models.complexity import count_params
from lightning_vid.system import VideoClassifier

CONFIGS = Path(__file__).resolve().parents[1] / "lightning_vid" / "configs"


def short_name(backbone: str) -> str:
    """``resnet18`` -> ``r18``, ``res2net50_26w_4s`` -> ``r2n50``, as config names write them."""
    return re.sub(r"^res2net(\d+)_26w_4s$", r"r2n\1", re.sub(r"^resnet(\d+)$", r"r\1", backbone))


def config_for(arch: str) -> tuple[str, list[str]]:
    """The synthetic config of ``arch`` and the CLI overrides it needs: its own
    ``<arch>_*_synthetic.yaml``, else TSN's with the architecture's model class and run name.
    ``ARCH@BACKBONE``: that config on the trunk ``BACKBONE``, under its own run name."""
    arch, _, backbone = arch.partition("@")
    found = sorted(glob.glob(str(CONFIGS / f"{arch}_*_synthetic.yaml")))
    spec = get_architecture(arch)
    if found:
        config, overrides = found[0], []
    else:
        cls = spec.model_class
        config, overrides = str(CONFIGS / "tsn_r18_4x1_synthetic.yaml"), [
            f"--model.model={cls.__module__}.{cls.__qualname__}",
            "--model.model.init_args.backbone=resnet18",
            f"--data.init_args.frames_per_segment={spec.frames_per_segment}",
            f"--run_name={arch}_r18_4x{spec.frames_per_segment}_synthetic"]
    if backbone:
        spec.check_trunk(backbone)
        name = f"{arch}_{short_name(backbone)}_4x{spec.frames_per_segment}_synthetic"
        overrides = [o for o in overrides if "backbone=" not in o and "--run_name" not in o]
        overrides += [f"--model.model.init_args.backbone={backbone}", f"--run_name={name}"]
    return config, overrides


def config_backbone(arch: str) -> str:
    """The trunk ``arch``'s synthetic config builds (the registration's default if unset)."""
    path, overrides = config_for(arch)
    backbone = resolved_config(path, *overrides)["model"]["model"]["init_args"]["backbone"]
    return backbone or get_architecture(arch.partition("@")[0]).backbone


def with_references(archs: list[str]) -> list[str]:
    """``archs`` with ``tsn@<trunk>`` before the first one whose config uses another trunk
    than TSN's config (TEA: Res2Net-50), so that every module has a TSN on its own trunk."""
    base, out = config_backbone("tsn"), []
    for arch in archs:
        if arch.partition("@")[0] != "tsn" and "@" not in arch:
            trunk = config_backbone(arch)
            ref = f"tsn@{trunk}"
            if trunk != base and ref not in out and ref not in archs:
                out.append(ref)
        out.append(arch)
    return out


class _ParseOnly(VideoCLI):
    """Parse, link and check the config; build nothing, make no run folder."""

    def before_instantiate_classes(self) -> None:
        pass

    def instantiate_classes(self) -> None:
        pass

    def after_instantiate_classes(self) -> None:
        pass


def resolved_config(config: str, *overrides: str) -> dict:
    """``config`` as the CLI reads it (its sub-config files included, defaults filled in)."""
    cli = _ParseOnly(VideoClassifier, subclass_mode_data=True, run=False,
                     save_config_callback=None, auto_configure_optimizers=False,
                     args=["--config", config, *overrides])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return yaml.safe_load(cli.parser.dump(cli.config, skip_none=False))


def run(arch: str, data: str, extra: list[str]) -> dict:
    config, overrides = config_for(arch)
    common = ["--config", config, *overrides, "--data.root", data, *extra]
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
    parser.add_argument("--arch", nargs="+", default=["tsn", "tsm"],
                        help="architectures (ARCH@BACKBONE: on another trunk), or 'all' (every "
                        "registered one, TSN first, and TSN on each other trunk used)")
    parser.add_argument("--out", default="runs/demo.md", help="also write the table here")
    parser.add_argument("--import", dest="modules", nargs="*", default=[], metavar="MODULE",
                        help="modules to import first (blocks registered outside lightning_vid)")
    parser.add_argument("cli_args", nargs="*", help="extra CLI overrides, after --")
    args = parser.parse_args(argv)
    for module in args.modules:
        importlib.import_module(module)
    archs = args.arch
    if archs == ["all"]:
        archs = with_references(sorted(list_models(), key=lambda a: (a != "tsn", a)))
    generate(args.data)
    rows = [run(arch, args.data, args.cli_args) for arch in archs]
    text = (f"{table(rows)}\n\nMachine: {os.cpu_count()} CPU cores, "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads.\n")
    print("\n" + text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
