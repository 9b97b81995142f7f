"""``lightning-vid-data reencode``: videos for fast sparse sampling (short side 256, H.264, a
keyframe every 16 frames).

    lightning-vid-data reencode VIDEOS_DIR --out REENCODED_DIR [--short-side 256] [--gop 16]
        [--crf 23] [--preset veryfast] [--workers 8] [--report report.json]

TSN-style sampling reads 8 frames spread over a whole video. In a file with x264's default
GOP (a keyframe every 250 frames) every frame up to the last wanted one must be decoded; with
a keyframe every 16 frames the decoder seeks to the keyframe before each wanted frame and
decodes at most 15 more (``scripts/bench_decode.py`` measures both). Frames keep their order
and number (frame i of the output is frame i of the input), so annotations stay valid; audio
is dropped. Outputs mirror input paths relative to ``--root`` with the suffix ``.mp4``.

Parallel, resumable (written as ``<name>.part.mp4``, renamed when complete; finished files are
skipped), with a progress bar, a JSON report and exit status 0 when nothing failed, else 1.
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial
from typing import Optional

from lightning_vid.data.annotations import read_path_list
from lightning_vid.data.tools.jobs import (Outcome, add_common_arguments, add_output_arguments,
                                           exit_status, find_media, output_path, run_jobs,
                                           run_settings, write_report)
from lightning_vid.data.video_io import reencode


def reencode_job(video: str, *, root: str, out: str, short_side: Optional[int] = 256,
                 gop: int = 16, crf: int = 23, preset: str = "veryfast") -> Outcome:
    """Re-encode ``video`` to ``out/<relative path>.mp4`` (H.264, keyframe every ``gop``)."""
    target = output_path(video, root, out, ".mp4")
    if os.path.isfile(target):
        return Outcome(video, "skipped", target)
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    part = os.path.splitext(target)[0] + ".part.mp4"
    try:
        written = reencode(video, part, short_side=short_side, gop=gop, crf=crf, preset=preset)
        os.replace(part, target)
    finally:
        if os.path.exists(part):
            os.remove(part)
    return Outcome(video, "done", f"{written} frames -> {target}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, timeout=1800)
    add_output_arguments(parser, "re-encoded videos")
    parser.add_argument("--short-side", type=int, default=256, help="0 keeps the size")
    parser.add_argument("--gop", type=int, default=16, help="maximum keyframe interval")
    parser.add_argument("--crf", type=int, default=23, help="x264 quality (lower = better)")
    parser.add_argument("--preset", default="veryfast", help="x264 preset")


def run(args: argparse.Namespace) -> int:
    if not args.inputs and not args.list:
        raise SystemExit("reencode: give input folders or files, or --list")
    videos = find_media(args.inputs, args.ext) + (read_path_list(args.list) if args.list else [])
    root = args.root or next((p for p in args.inputs if os.path.isdir(p)), os.getcwd())
    out = os.path.abspath(args.out)
    videos = [v for v in videos if not v.startswith(out + os.sep)]  # never re-encode outputs
    job = partial(reencode_job, root=root, out=args.out, short_side=args.short_side or None,
                  gop=args.gop, crf=args.crf, preset=args.preset)
    start = time.perf_counter()
    outcomes = run_jobs(job, videos, args.workers, "re-encode", not args.no_progress,
                        args.timeout)
    write_report(args.report or os.path.join(args.out, "reencode_report.json"), outcomes,
                 run_settings(args), time.perf_counter() - start)
    return exit_status(outcomes)
