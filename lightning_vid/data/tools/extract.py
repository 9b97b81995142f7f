"""``lightning-vid-data extract``: videos to JPEG frame folders, as the TSN/TSM tools write them.

    lightning-vid-data extract VIDEOS_DIR --out FRAMES_DIR [--short-side 256] [--quality 90]
        [--template img_{:05d}.jpg] [--workers 8] [--report report.json]

Every video under the inputs (folders are searched for ``--ext`` files; files are taken as
given; ``--list`` adds paths from a file) becomes ``FRAMES_DIR/<path relative to --root,
without suffix>/img_00001.jpg ...`` (1-based). Frames are resized so the shorter side is
``--short-side`` (0 keeps the size; TSM extracts SSv2 at 256 and Kinetics at 331) and encoded
at JPEG ``--quality``.

Parallel (``--workers`` processes, one decoding thread each) with a progress bar; resumable
(a folder is written as ``<name>.part`` and renamed when complete, finished folders are
skipped); a video that cannot be decoded is reported, not fatal. The JSON report lists counts
and every failure; the exit status is 0 when nothing failed, else 1.
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial
from typing import Optional

from lightning_vid.data.annotations import read_path_list
from lightning_vid.data.frames_io import DEFAULT_TEMPLATE, write_frame_folder
from lightning_vid.data.tools.jobs import (Outcome, add_common_arguments, add_output_arguments,
                                           exit_status, find_media, output_path, run_jobs,
                                           run_settings, write_report)
from lightning_vid.data.video_io import count_frames, iter_frames


def extract_job(video: str, *, root: str, out: str, short_side: Optional[int] = 256,
                quality: int = 90, template: str = DEFAULT_TEMPLATE) -> Outcome:
    """Extract every frame of ``video`` to ``out/<relative path without suffix>/``."""
    target = output_path(video, root, out, "")
    if os.path.isdir(target):
        return Outcome(video, "skipped", target)
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    written = write_frame_folder(target, iter_frames(video, short_side), quality, template)
    indexed = count_frames(video)
    note = "" if written == indexed else f" (the packet index counts {indexed})"
    return Outcome(video, "done", f"{written} frames -> {target}{note}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, timeout=1800)
    add_output_arguments(parser, "frame folders")
    parser.add_argument("--short-side", type=int, default=256, help="0 keeps the size")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality 1-100")
    parser.add_argument("--template", default=DEFAULT_TEMPLATE, help="frame file names")


def run(args: argparse.Namespace) -> int:
    if not args.inputs and not args.list:
        raise SystemExit("extract: give input folders or files, or --list")
    videos = find_media(args.inputs, args.ext) + (read_path_list(args.list) if args.list else [])
    root = args.root or next((p for p in args.inputs if os.path.isdir(p)), os.getcwd())
    job = partial(extract_job, root=root, out=args.out, short_side=args.short_side or None,
                  quality=args.quality, template=args.template)
    start = time.perf_counter()
    outcomes = run_jobs(job, videos, args.workers, "extract", not args.no_progress, args.timeout)
    write_report(args.report or os.path.join(args.out, "extract_report.json"), outcomes,
                 run_settings(args), time.perf_counter() - start)
    return exit_status(outcomes)
