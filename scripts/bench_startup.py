#!/usr/bin/env python
"""Start-up of ``lightning-vid`` against the bare Lightning import, in one run.

    python scripts/bench_startup.py [--rounds 7] [--checkout DIR ...]

Each round runs, one after the other in fresh interpreters, ``python -c "import
lightning.pytorch"``, then for each checkout ``lightning-vid --help`` and a refused config typo
(``fit --config lightning_vid/configs/tsm_r18_4x1_synthetic.yaml
--model.model.init_args.fold_dvi 4``, exit status 2). ``lightning-vid`` is the console
script's ``main()`` run with ``python -c`` in the checkout's folder, so that its
``lightning_vid`` is the one imported (default: this checkout; give an older clone to compare).
Prints the medians of CPU time (user + system, of the process and its children: steadier than
wall time on a shared machine) and wall time, and their ratios to the bare import.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAIN = ('import sys; from lightning_vid.cli import main; sys.argv[0] = "lightning-vid"; '
        "sys.exit(main())")
TYPO = ["fit", "--config", "lightning_vid/configs/tsm_r18_4x1_synthetic.yaml",
        "--model.model.init_args.fold_dvi", "4"]


def timed(args: list[str], cwd: Path, status: int) -> tuple[float, float]:
    """CPU and wall seconds of one command, which must exit with ``status``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true"))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != status:
        raise SystemExit(f"{' '.join(args)} in {cwd}: exit {done.returncode}, expected "
                         f"{status}\n{done.stderr[-2000:]}")
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--checkout", nargs="+", type=Path, default=[ROOT],
                        help="folders holding a lightning_vid package (default: this one)")
    args = parser.parse_args(argv)
    cases = [("import lightning.pytorch", ROOT, ["-c", "import lightning.pytorch"], 0)]
    for folder in args.checkout:
        name = "" if len(args.checkout) == 1 else f" ({folder})"
        cases += [(f"lightning-vid --help{name}", folder, ["-c", MAIN, "--help"], 0),
                  (f"lightning-vid fit ... fold_dvi 4{name}", folder, ["-c", MAIN, *TYPO], 2)]
    times: dict[str, list[tuple[float, float]]] = {case[0]: [] for case in cases}
    for _ in range(args.rounds):  # interleaved: each round sees the same machine load
        for label, cwd, command, status in cases:
            times[label].append(timed([sys.executable, *command], cwd, status))
    base_cpu = statistics.median(c for c, _ in times[cases[0][0]])
    base_wall = statistics.median(w for _, w in times[cases[0][0]])
    print(f"| command ({args.rounds} rounds, medians) | CPU s | x import | wall s | x import |")
    print("|---|---|---|---|---|")
    for label, runs in times.items():
        cpu, wall = statistics.median(c for c, _ in runs), statistics.median(w for _, w in runs)
        print(f"| {label} | {cpu:.2f} | {cpu / base_cpu:.2f} | {wall:.2f} | "
              f"{wall / base_wall:.2f} |")
    print(f"\n{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at the end.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
