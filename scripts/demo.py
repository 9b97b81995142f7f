#!/usr/bin/env python
"""Train and test architectures on the synthetic motion benchmark through the CLI.

    python scripts/demo.py [--data data/synthetic] [--arch tsn tsm ... | all] [--jobs N]
                           [--out runs/demo.md] [--plot PNG] [--import MODULE ...]
                           [-- CLI overrides]

For each architecture it runs ``lightning-vid fit`` then ``lightning-vid test`` (best
checkpoint) with ``lightning_vid/configs/<arch>_*_synthetic.yaml`` and prints a Markdown
table: test top-1/top-5, parameters, training time and epochs (``scripts/zoo.py`` adds
GMACs, throughput and memory for ``make bench``). A second table and a figure (``--plot``,
default the ``--out`` file with ``.png``; needs matplotlib, the ``viz`` extra) give each
time-reversal pair's test accuracy: top-1 over the 8 classes on the pair's clips, and the
direction within the pair (the pair's two scores compared: 50 % is chance), computed again
from the best checkpoint's scores on the test clips (their top-1 must equal the test's).
``--jobs N`` (default: one per core, at most one per architecture) trains N architectures at
once, each in its own process with ``cores // N`` threads, and with one thread, no loader
worker (decoding in the training process; a worker would compete for its core): on 2 cores,
TSN and TSM side by side take 0.74x the time of one after the other with 2 threads each
(docs/measurements.md); ``make bench`` keeps ``--jobs 1``, each model's time its own.
``--arch all`` is every registered architecture (``list_models()``); one without a
synthetic config of its own runs TSN's with
its preset's model config in place (``--import`` the module of a block registered outside
lightning_vid). ``ARCH@BACKBONE`` runs an architecture's config on another trunk
(``tsn@res2net50_26w_4s``); ``--arch all`` adds TSN on every other trunk a config uses
(TEA's Res2Net-50), next to it, so that each temporal module has a TSN on its own trunk.
TSN cannot tell a class from its time-reversed partner, so it stays at or below 50 % (32-34 %
measured); a working temporal module gets near 100 % (docs/measurements.md).
"""

from __future__ import annotations

import argparse
import glob
import importlib
import json
import os
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import torch
import yaml

from lightning_vid.cli import VideoCLI, cli_main
from lightning_vid.data.synthetic import FORMAT_VERSION, generate
from lightning_vid.models import get_architecture, list_models
from lightning_vid.models.complexity import count_params
from lightning_vid.system import VideoClassifier

CONFIGS = Path(__file__).resolve().parents[1] / "lightning_vid" / "configs"


def short_name(backbone: str) -> str:
    """``resnet18`` -> ``r18``, ``res2net50_26w_4s`` -> ``r2n50``, as config names write them."""
    return re.sub(r"^res2net(\d+)_26w_4s$", r"r2n\1", re.sub(r"^resnet(\d+)$", r"r\1", backbone))


def config_for(arch: str) -> tuple[str, list[str]]:
    """The synthetic config of ``arch`` and the CLI overrides it needs: its own
    ``<arch>_*_synthetic.yaml``, else TSN's with the architecture's model config and run name.
    ``ARCH@BACKBONE``: that config on the trunk ``BACKBONE``, under its own run name."""
    arch, _, backbone = arch.partition("@")
    found = sorted(glob.glob(str(CONFIGS / f"{arch}_*_synthetic.yaml")))
    spec = get_architecture(arch)
    if found:
        config, overrides = found[0], []
    else:
        config, overrides = str(CONFIGS / "tsn_r18_4x1_synthetic.yaml"), [
            f"--model.model={json.dumps(spec.config(backbone='resnet18'))}",
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


def pair_accuracy(score: torch.Tensor, label: torch.Tensor, names: list[str]) -> list[dict]:
    """Per time-reversal pair (classes ``2k``, ``2k + 1``) of scored clips ``score`` (N, K)
    with labels ``label`` (N,): ``top1``, the argmax right among all K classes, and
    ``direction``, the true class scored above its partner (``label ^ 1``; 50 % is chance),
    over the pair's clips (``nan`` when it has none).

    >>> score = torch.tensor([[2., 1, 0, 0], [2., 1, 0, 0], [0, 0, 1., 3], [0, 0, 3., 1]])
    >>> [(p["pair"], p["top1"], p["direction"])
    ...  for p in pair_accuracy(score, torch.tensor([0, 1, 3, 3]), ["l", "r", "u", "d"])]
    [('l / r', 0.5, 0.5), ('u / d', 0.5, 0.5)]
    """
    rows = torch.arange(len(label))
    right = (score.argmax(1) == label).float()
    direction = (score[rows, label] > score[rows, label ^ 1]).float()
    return [{"pair": f"{names[2 * k]} / {names[2 * k + 1]}", "clips": int(m.sum()),
             "top1": float(right[m].mean()), "direction": float(direction[m].mean())}
            for k in range(len(names) // 2) for m in [label // 2 == k]]


def pair_scores(test: VideoCLI) -> dict:
    """:func:`pair_accuracy` of the tested model on the test clips (the test's protocol and
    loader, again, in this process), and ``acc1``, the top-1 of every scored clip, to set
    beside the test's metric."""
    model, labels, scores = test.model.eval(), [], []
    with torch.inference_mode():
        for batch in test.datamodule.test_dataloader():
            kept = (batch["skipped"] == 0) & (batch["label"] >= 0)  # as the test metrics
            clip = batch["clip"].to(model.device)
            scores.append(model.video_logits(clip)[kept.to(model.device)].float().cpu())
            labels.append(batch["label"][kept])
    score, label = torch.cat(scores), torch.cat(labels)  # (N, K), (N,)
    return {"acc1": float((score.argmax(1) == label).float().mean()),
            "pairs": pair_accuracy(score, label, test.datamodule.classes)}


def benchmark(root: str) -> None:
    """Generate the synthetic benchmark in ``root`` (the default settings), unless it holds a
    complete one of the current format already, with whatever sizes it was written (the
    tests' tiny one)."""
    try:
        meta = json.loads((Path(root) / "meta.json").read_text())
    except (OSError, ValueError):
        meta = None
    if meta and meta.get("format_version") == FORMAT_VERSION:
        print(f"{root}: using the benchmark there ({meta['num_train']} train, "
              f"{meta['num_val']} val, {meta['num_test']} test clips, {meta['size']} px)")
    else:
        generate(root)


def run(arch: str, data: str, extra: list[str]) -> dict:
    config, overrides = config_for(arch)
    common = ["--config", config, *overrides, "--data.root", data, *extra]
    start = time.perf_counter()
    fit = cli_main(["fit", *common])
    train_s = time.perf_counter() - start
    best = fit.trainer.checkpoint_callback.best_model_path or "last"
    test = cli_main(["test", *common, "--ckpt_path", best])
    metrics = {k: float(v) for k, v in test.trainer.callback_metrics.items()}
    pairs = pair_scores(test)
    if abs(pairs["acc1"] - metrics["test/acc1"]) > 1e-6:  # the same clips, views and weights
        raise RuntimeError(f"{arch}: top-1 recomputed from the test clips' scores "
                           f"({pairs['acc1']:.4f}) differs from the test's "
                           f"{metrics['test/acc1']:.4f}")
    return {"arch": arch, "config": os.path.relpath(config), "acc1": metrics["test/acc1"],
            "acc5": metrics["test/acc5"], "params": count_params(fit.model.model),
            "train_s": train_s, "epochs": fit.trainer.current_epoch, "pairs": pairs["pairs"]}


def run_parallel(archs: list[str], data: str, extra: list[str], jobs: int, logs: Path
                 ) -> list[dict]:
    """:func:`run` for every architecture, ``jobs`` at a time, each in its own process
    (this script with ``--result``) with ``cores // jobs`` threads and its log in ``logs``;
    each epoch's validation top-1 is echoed here as it comes. With one core per job, a job
    decodes its clips itself (``num_workers=0``; ``extra`` may say otherwise): a loader
    worker would compete with the training thread for the same core."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    if threads == 1:
        extra = ["--data.init_args.num_workers=0", *extra]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
    logs.mkdir(parents=True, exist_ok=True)
    pending, running, rows, seen = list(archs), {}, {}, {}
    print(f"training {', '.join(archs)}: {jobs} at a time, {threads} thread(s) each; logs in "
          f"{logs}/", flush=True)
    while pending or running:
        while pending and len(running) < jobs:
            arch = pending.pop(0)
            log, result = logs / f"{arch}.log", logs / f"{arch}.json"
            result.unlink(missing_ok=True)
            cmd = [sys.executable, __file__, "--arch", arch, "--data", data,
                   "--result", str(result), "--", *extra]
            with open(log, "w") as out:
                running[arch] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                                 env=env)
            seen[arch] = 0
        time.sleep(2)
        for arch, proc in list(running.items()):
            lines = (logs / f"{arch}.log").read_text(errors="replace").splitlines()
            for line in lines[seen[arch]:]:
                if re.match(r"epoch \d+/\d+:", line):
                    acc = re.search(r"val/acc1=([\d.]+)", line)
                    took = re.search(r"\(([\d.]+ s)\)$", line)
                    print(f"{arch}: {line.split(':')[0]}"
                          + (f", val top-1 {100 * float(acc.group(1)):.1f} %" if acc else "")
                          + (f" ({took.group(1)})" if took else ""), flush=True)
            seen[arch] = len(lines)
            if proc.poll() is None:
                continue
            del running[arch]
            if proc.returncode != 0:
                for other in running.values():
                    other.kill()
                tail = "\n".join(lines[-30:])
                raise RuntimeError(f"{arch} failed (exit {proc.returncode}); the end of "
                                   f"{logs / (arch + '.log')}:\n{tail}")
            rows[arch] = json.loads((logs / f"{arch}.json").read_text())
            print(f"{arch}: done, test top-1 {100 * rows[arch]['acc1']:.1f} %", flush=True)
    return [rows[a] for a in archs]


def table(rows: list[dict]) -> str:
    lines = ["| model | test top-1 | test top-5 | params | train time | epochs | config |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['arch']} | {100 * r['acc1']:.1f} % | {100 * r['acc5']:.1f} % | "
                     f"{r['params'] / 1e6:.2f} M | {r['train_s'] / 60:.1f} min | {r['epochs']} | "
                     f"{r['config']} |")
    return "\n".join(lines)


def pair_table(rows: list[dict]) -> str:
    """Per time-reversal pair and model: test top-1 (8 classes) and the direction within the
    pair (chance 50 %)."""
    head = "| pair | " + " | ".join(f"{r['arch']} top-1 | {r['arch']} direction" for r in rows)
    lines = [head + " |", "|---" * (1 + 2 * len(rows)) + "|"]
    for i, pair in enumerate(rows[0]["pairs"]):
        cells = " | ".join(f"{100 * r['pairs'][i]['top1']:.1f} % | "
                           f"{100 * r['pairs'][i]['direction']:.1f} %" for r in rows)
        lines.append(f"| {pair['pair']} ({pair['clips']} clips) | {cells} |")
    return "\n".join(lines)


def plot_pairs(rows: list[dict], path: Path) -> bool:
    """Bars of each pair's direction accuracy, the models side by side, saved as ``path``;
    ``False`` without matplotlib (the ``viz`` extra)."""
    try:
        from lightning_vid.viz._optional import require_matplotlib

        require_matplotlib().use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        print(f"no figure: {err}", file=sys.stderr)
        return False
    pairs = [p["pair"].replace(" / ", "\n/ ") for p in rows[0]["pairs"]]
    width = 0.8 / len(rows)
    fig, ax = plt.subplots(figsize=(1.9 * len(pairs) + 1, 3.6))
    for j, r in enumerate(rows):
        xs = [i + (j - (len(rows) - 1) / 2) * width for i in range(len(pairs))]
        values = [100 * p["direction"] for p in r["pairs"]]
        bars = ax.bar(xs, values, width,
                      label=f"{r['arch']} (test top-1 {100 * r['acc1']:.1f} %)")
        ax.bar_label(bars, labels=[f"{v:.0f}" if v == v else "" for v in values], fontsize=8)
    ax.axhline(50, color="grey", linestyle="--", linewidth=1, label="chance (50 %)")
    ax.set_xticks(range(len(pairs)), pairs, fontsize=8)
    ax.set_ylim(0, 128)  # room for the legend above the bars
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("direction right (% of test clips)")
    ax.set_title("Which way? Each time-reversal pair on the held-out test clips", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", ncol=len(rows) + 1, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/synthetic")
    parser.add_argument("--arch", nargs="+", default=["tsn", "tsm"],
                        help="architectures (ARCH@BACKBONE: on another trunk), or 'all' (every "
                        "registered one, TSN first, and TSN on each other trunk used)")
    parser.add_argument("--out", default="runs/demo.md", help="also write the table here")
    parser.add_argument("--plot", default=None,
                        help="the per-pair figure (PNG; default: --out with .png)")
    parser.add_argument("--import", dest="modules", nargs="*", default=[], metavar="MODULE",
                        help="modules to import first (blocks registered outside lightning_vid)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="architectures trained at once, each in its own process with "
                        "cores/jobs threads (default: as many as there are cores, at most one "
                        "per architecture); 1: one after another, in this process")
    parser.add_argument("--result", help=argparse.SUPPRESS)  # a job: its row as JSON here
    parser.add_argument("cli_args", nargs="*", help="extra CLI overrides, after --")
    args = parser.parse_args(argv)
    for module in args.modules:
        importlib.import_module(module)
    archs = args.arch
    if archs == ["all"]:
        archs = with_references(sorted(list_models(), key=lambda a: (a != "tsn", a)))
    if args.result:  # one job of run_parallel
        row = run(archs[0], args.data, args.cli_args)
        Path(args.result).write_text(json.dumps(row))
        return 0
    start = time.perf_counter()
    benchmark(args.data)
    jobs = min(len(archs), args.jobs or os.cpu_count() or 1)
    if jobs > 1:
        logs = Path(args.out).with_suffix("")
        rows = run_parallel(archs, args.data, args.cli_args, jobs, logs)
    else:
        rows = [run(arch, args.data, args.cli_args) for arch in archs]
    text = (f"{table(rows)}\n\nTest accuracy per time-reversal pair (direction: the pair's "
            f"two classes compared, 50 % is chance):\n\n{pair_table(rows)}\n\n"
            f"Machine: {os.cpu_count()} CPU cores, torch {torch.__version__}; "
            + (f"{jobs} models at a time, {max(1, (os.cpu_count() or 1) // jobs)} thread(s) "
               f"each" if jobs > 1 else f"{torch.get_num_threads()} threads")
            + f"; {(time.perf_counter() - start) / 60:.1f} min in all.\n")
    print("\n" + text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    plot = Path(args.plot) if args.plot else Path(args.out).with_suffix(".png")
    if plot_pairs(rows, plot):
        print(f"figure: {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
