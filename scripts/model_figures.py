#!/usr/bin/env python
"""Measured parameters and GMACs of every registered model beside the papers' figures.

Usage:  python scripts/model_figures.py [--arch tsm tam ...] [--markdown out.md]

Every figure is for the paper's setting: ResNet-50 trunk (TEA: Res2Net-50) unless stated,
8 segments, the stated number of classes and input size. Counts are fvcore's multiply-adds.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

from lightning_vid.models import build_model, list_models
from lightning_vid.models.complexity import count_gmacs, count_params


@dataclass
class PaperFigure:
    """What the paper (or its authors' code) reports for one setting."""

    arch: str
    source: str
    num_classes: int = 400
    input_size: int = 224
    params_m: float | None = None
    gmacs: float | None = None
    kwargs: dict = field(default_factory=dict)
    note: str = ""


PAPER_FIGURES: list[PaperFigure] = [
    PaperFigure("tsn", "TSM paper Table (TSN R50 8f) / measured official code", 400, 224, 24.33, 32.7,
                note="official-code measurement: 24,327,632 params, 32.70 GMACs"),
    PaperFigure("tsm", "TSM paper, ICCV 2019 (8f: 33 G, 24.3 M)", 400, 224, 24.3, 33.0,
                note="the shift adds no parameters or MACs"),
]


def measure(fig: PaperFigure) -> tuple[float, float]:
    model = build_model(fig.arch, num_classes=fig.num_classes, num_segments=8,
                        input_size=fig.input_size, **fig.kwargs)
    return count_params(model) / 1e6, count_gmacs(model, fig.input_size)


def _delta(measured: float, paper: float | None) -> str:
    return "–" if paper is None else f"{100 * (measured - paper) / paper:+.1f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="*", default=None, help="subset of architectures")
    parser.add_argument("--markdown", default=None, help="also write the table to this file")
    args = parser.parse_args(argv)
    rows = ["| model | setting | params (M) | paper | Δ | GMACs | paper | Δ | source / note |",
            "|---|---|---|---|---|---|---|---|---|"]
    figures = [f for f in PAPER_FIGURES if not args.arch or f.arch in args.arch]
    missing = sorted(set(list_models()) - {f.arch for f in PAPER_FIGURES})
    for fig in figures:
        params, gmacs = measure(fig)
        setting = f"8x{fig.input_size}², {fig.num_classes} cls {fig.kwargs or ''}".strip()
        rows.append(
            f"| {fig.arch} | {setting} | {params:.2f} | {fig.params_m or '–'} | "
            f"{_delta(params, fig.params_m)} | {gmacs:.2f} | {fig.gmacs or '–'} | "
            f"{_delta(gmacs, fig.gmacs)} | {fig.source}; {fig.note} |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    print("\n" + table)
    if missing:
        print(f"\nno paper figures recorded for: {', '.join(missing)}")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
