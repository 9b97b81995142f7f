#!/usr/bin/env python
"""Extract videos to JPEG frame folders, as the TSN/TSM tools do (``img_00001.jpg``, 1-based).

    python scripts/extract_frames.py VIDEOS_DIR --out FRAMES_DIR [--short-side 256]
        [--quality 90] [--template img_{:05d}.jpg] [--workers 8] [--report report.json]

Every video under the inputs (folders are searched for ``--ext`` files; files are taken as
given; ``--list`` adds paths from a file) becomes ``FRAMES_DIR/<path relative to --root,
without suffix>/``. Frames are resized so the shorter side is ``--short-side`` (0 keeps the
size; TSM extracts SSv2 at 256 and Kinetics at 331) and encoded at JPEG ``--quality``.

Parallel (``--workers`` processes, one decoding thread each) with a progress bar; resumable
(a folder is written as ``<name>.part`` and renamed when complete, finished folders are
skipped); a video that cannot be decoded is reported, not fatal. The JSON report lists counts
and every failure; the exit status is 0 when nothing failed, else 1.
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
from lightning_vid.data.tools import extract_job

VIDEO_EXTENSIONS = ("mp4", "webm", "avi", "mkv", "mov", "m4v")


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", help="video files or folders to search")
    parser.add_argument("--list", help="a file with one video path per line")
    parser.add_argument("--out", required=True, help="folder for the frame folders")
    parser.add_argument("--root", help="output paths mirror input paths relative to this "
                        "(default: the first input folder)")
    parser.add_argument("--short-side", type=int, default=256, help="0 keeps the size")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality 1-100")
    parser.add_argument("--template", default="img_{:05d}.jpg", help="frame file names")
    parser.add_argument("--ext", nargs="+", default=list(VIDEO_EXTENSIONS))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes (0: in this process)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per video")
    parser.add_argument("--report", help="JSON report (default: OUT/extract_report.json)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if not args.inputs and not args.list:
        parser.error("give input folders/files or --list")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    videos = find_media(args.inputs, args.ext) + (read_path_list(args.list) if args.list else [])
    root = args.root or next((p for p in args.inputs if os.path.isdir(p)), os.getcwd())
    job = partial(extract_job, root=root, out=args.out, short_side=args.short_side or None,
                  quality=args.quality, template=args.template)
    start = time.perf_counter()
    outcomes = run_jobs(job, videos, args.workers, "extract", not args.no_progress, args.timeout)
    settings = {k: v for k, v in vars(args).items() if k not in ("no_progress",)}
    write_report(args.report or os.path.join(args.out, "extract_report.json"), outcomes,
                 settings, time.perf_counter() - start)
    return exit_status(outcomes)


if __name__ == "__main__":
    sys.exit(main())
