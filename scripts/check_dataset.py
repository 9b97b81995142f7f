#!/usr/bin/env python
"""Find the bad files of a dataset before training: decode the first, the last and a few
random frames of every video (or frame folder) and list the ones that fail.

    python scripts/check_dataset.py --data-config lightning_vid/configs/data/kinetics400.yaml \
        [--root data/kinetics400] --bad-list data/kinetics400/bad_files.txt [--workers 8]
    python scripts/check_dataset.py VIDEOS_DIR [--frame-template img_{:05d}.jpg] --bad-list bad.txt

Inputs: every record of every split of a data config (``--data-config``, the ``data`` section
format of ``lightning_vid/configs/data/*.yaml``; ``--root`` overrides its root), folders
searched for videos and frame folders, files, or ``--list`` (one path per line).

Writes the bad-file list, one ``path<TAB>reason`` per line, which the data modules leave out
with ``exclude: bad_files.txt`` (relative to their root), and a JSON report. A missing file,
zero frames, no video stream, a truncated file, a corrupt JPEG or a decode that exceeds
``--timeout`` all count as bad. Parallel, with a progress bar; the random frames depend only on
``--seed`` and the path, so a re-run checks the same ones. Exit status: 0 when every file is
good, 1 when some are bad.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial
from typing import Optional, Sequence

from lightning_vid.data.annotations import read_path_list
from lightning_vid.data.jobs import exit_status, find_media, run_jobs, write_report
from lightning_vid.data.tools import check_job

VIDEO_EXTENSIONS = ("mp4", "webm", "avi", "mkv", "mov", "m4v")


def records_of_config(config: str, root: Optional[str]) -> tuple[list[str], str]:
    """The paths of every split of a data config, and its frame-file template."""
    import lightning as L
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(L.LightningDataModule, "data")
    args = ["--data", config] + (["--data.init_args.root", root] if root else [])
    datamodule = parser.instantiate_classes(parser.parse_args(args)).data
    paths = {r.path for records in datamodule.records.values() if records for r in records}
    return sorted(paths), datamodule.reader.frame_template


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", help="video files, frame folders or folders")
    parser.add_argument("--list", help="a file with one path per line")
    parser.add_argument("--data-config", help="a data config: check every record of it")
    parser.add_argument("--root", help="overrides the data config's root")
    parser.add_argument("--frame-template", default="img_{:05d}.jpg")
    parser.add_argument("--ext", nargs="+", default=list(VIDEO_EXTENSIONS))
    parser.add_argument("--random", type=int, default=3, help="random frames per file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bad-list", default="bad_files.txt", help="output: bad files")
    parser.add_argument("--report", help="JSON report (default: next to --bad-list)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes (0: in this process)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per file")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if not (args.inputs or args.list or args.data_config):
        parser.error("give inputs, --list or --data-config")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    template = args.frame_template
    paths = find_media(args.inputs, args.ext, template) if args.inputs else []
    if args.list:
        paths += read_path_list(args.list)
    if args.data_config:
        from_config, template = records_of_config(args.data_config, args.root)
        paths += from_config
    paths = sorted(set(paths))
    job = partial(check_job, num_random=args.random, seed=args.seed, frame_template=template)
    start = time.perf_counter()
    outcomes = run_jobs(job, paths, args.workers, "check", not args.no_progress, args.timeout)
    bad = sorted((o for o in outcomes if o.status in ("bad", "failed")), key=lambda o: o.item)
    os.makedirs(os.path.dirname(os.path.abspath(args.bad_list)), exist_ok=True)
    with open(args.bad_list, "w") as f:
        f.write(f"# {len(bad)} bad of {len(outcomes)} checked by scripts/check_dataset.py\n")
        f.writelines(f"{o.item}\t{' '.join(o.detail.split())}\n" for o in bad)
    report = args.report or os.path.splitext(args.bad_list)[0] + "_report.json"
    settings = {k: v for k, v in vars(args).items() if k not in ("no_progress",)}
    write_report(report, outcomes, settings, time.perf_counter() - start)
    print(f"bad-file list: {args.bad_list} ({len(bad)} files)")
    return exit_status(outcomes)


if __name__ == "__main__":
    sys.exit(main())
