#!/usr/bin/env python
"""Measured parameters and GMACs of every registered model beside the papers' figures.

Usage:  python scripts/model_figures.py [--arch tsm tam ...] [--markdown out.md] [--import MODULE]

Every figure is for the paper's setting: the preset's default trunk (ResNet-50; TEA:
Res2Net-50) unless stated, 8 segments, the stated number of classes and input size. Counts are
fvcore's multiply-adds. The papers' figures are the table in lightning_vid/models/figures.py.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from lightning_vid.models import PaperFigure, build_model, list_models
from lightning_vid.models.complexity import count_gmacs, count_params
from lightning_vid.models.figures import figures_of


def figures(archs: list[str]) -> list[tuple[str, PaperFigure]]:
    """The papers' figures of each preset (``lightning_vid/models/figures.py``); a preset with
    none is measured at the default setting, with no paper figure."""
    return [(arch, f) for arch in archs for f in figures_of(arch)]


def measure(arch: str, fig: PaperFigure) -> tuple[float, float]:
    model = build_model(arch, num_classes=fig.num_classes, num_segments=8,
                        input_size=fig.input_size, **fig.kwargs)
    return count_params(model) / 1e6, count_gmacs(model, fig.input_size)


def _delta(measured: float, paper: float | None) -> str:
    return "–" if paper is None else f"{100 * (measured - paper) / paper:+.1f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="*", default=None, help="subset of architectures")
    parser.add_argument("--markdown", default=None, help="also write the table to this file")
    parser.add_argument("--import", dest="modules", nargs="*", default=[], metavar="MODULE",
                        help="modules to import first (blocks registered outside lightning_vid)")
    args = parser.parse_args(argv)
    for module in args.modules:
        importlib.import_module(module)
    rows = ["| model | setting | params (M) | paper | Δ | GMACs | paper | Δ | source / note |",
            "|---|---|---|---|---|---|---|---|---|"]
    for arch, fig in figures(args.arch or list_models()):
        params, gmacs = measure(arch, fig)
        setting = f"8x{fig.input_size}², {fig.num_classes} cls {fig.kwargs or ''}".strip()
        rows.append(
            f"| {arch} | {setting} | {params:.2f} | {fig.params_m or '–'} | "
            f"{_delta(params, fig.params_m)} | {gmacs:.2f} | {fig.gmacs or '–'} | "
            f"{_delta(gmacs, fig.gmacs)} | {fig.source}; {fig.note} |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    print("\n" + table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
