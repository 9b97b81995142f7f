#!/usr/bin/env python
"""Test one checkpoint under several evaluation protocols; one table row per protocol.

    python scripts/eval_protocols.py --config CONFIG.yaml --ckpt_path BEST.ckpt --sweep tempo \
        [--strides 2 3 4 5 6 7 8] [--out runs/tempo.md] [-- --data.root ... more CLI args]
    python scripts/eval_protocols.py --config CONFIG.yaml --ckpt_path BEST.ckpt --sweep sparse-dense
    python scripts/eval_protocols.py --config ... --protocol '{"sampling": "dense", "clips": 10,
        "crops": 3}' --protocol '{"sampling": "twice", "clips": 2, "crops": 3}'

Sweeps from the papers:

- ``tempo`` (TCM, Fig. 4): the test clip re-sampled with stride tau for each ``--strides``
  value (T frames tau apart from a centred window; a short video repeats its last frame). TCM
  trains with 4 frames at interval 4 (``train_sampling: dense`` with ``dense_window: 16``).
- ``sparse-dense`` (TRM, Table 4): one clip of sparse sampling (a random frame per segment)
  against 10 dense clips (64-frame windows), both with ``--crops`` crops.

Each protocol runs ``lightning-vid test`` with ``--data.init_args.test_protocol`` set; every
row of the Markdown table (``--out``, also printed) and of the JSON file beside it names its
protocol, including the fusion of views (``--model.eval_fusion``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Optional, Sequence

METRICS = ("test/acc1", "test/acc5", "test/mean_class_acc", "test/videos", "test/skipped")


def protocols(args: argparse.Namespace) -> list[dict]:
    """The test protocols to run, as ``EvalProtocol`` fields."""
    if args.protocol:
        return [json.loads(p) for p in args.protocol]
    if args.sweep == "tempo":
        return [{"sampling": "tempo", "clips": 1, "crops": 1, "tempo_stride": s}
                for s in args.strides]
    return [{"sampling": "random", "clips": 1, "crops": args.crops},
            {"sampling": "dense", "clips": 10, "crops": args.crops}]


def run(config: str, ckpt: Optional[str], protocol: dict, extra: Sequence[str]) -> dict:
    """``lightning-vid test`` under one protocol; its metrics and protocol string."""
    from lightning_vid.cli import cli_main

    args = ["test", "--config", config, *extra,
            f"--data.init_args.test_protocol={json.dumps(protocol)}"]
    if ckpt:
        args += ["--ckpt_path", ckpt]
    cli = cli_main(args)
    metrics = cli.trainer.callback_metrics
    from lightning_vid.callbacks import ProtocolLogger

    logged = [c.protocols for c in cli.trainer.callbacks if isinstance(c, ProtocolLogger)]
    row = {"protocol": logged[0].get("test", json.dumps(protocol)) if logged
           else json.dumps(protocol)}
    row.update({k: float(metrics[k]) for k in METRICS if k in metrics})
    return row


def markdown(rows: list[dict]) -> str:
    keys = [k for k in METRICS if any(k in r for r in rows)]
    lines = ["| protocol | " + " | ".join(k.split("/")[1] for k in keys) + " |",
             "|---|" + "---:|" * len(keys)]
    for row in rows:
        cells = [(f"{row[k]:.4f}" if row[k] % 1 else f"{row[k]:.0f}") if k in row else "-"
                 for k in keys]
        lines.append(f"| {row['protocol']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the run's lightning-vid config")
    parser.add_argument("--ckpt_path", help="the checkpoint to test")
    parser.add_argument("--sweep", choices=("tempo", "sparse-dense"), default="tempo")
    parser.add_argument("--strides", type=int, nargs="+", default=list(range(2, 9)))
    parser.add_argument("--crops", type=int, choices=(1, 3, 10), default=1)
    parser.add_argument("--protocol", action="append", help="EvalProtocol fields as JSON")
    parser.add_argument("--out", help="Markdown table (a .json with the rows goes beside it)")
    args = parser.parse_args(argv)
    rows = [run(args.config, args.ckpt_path, p, extra) for p in protocols(args)]
    table = markdown(rows)
    print(table)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(table + "\n")
        with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
