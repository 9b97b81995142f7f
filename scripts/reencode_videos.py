#!/usr/bin/env python
"""Re-encode videos for fast sparse sampling: short side 256, H.264, a keyframe every 16 frames.

    python scripts/reencode_videos.py VIDEOS_DIR --out REENCODED_DIR [--short-side 256]
        [--gop 16] [--crf 23] [--preset veryfast] [--workers 8] [--report report.json]

TSN-style sampling reads 8 frames spread over a whole video. In a file with x264's default
GOP (a keyframe every 250 frames) every frame up to the last wanted one must be decoded; with
a keyframe every 16 frames the decoder seeks to the keyframe before each wanted frame and
decodes at most 15 more (``scripts/bench_data.py`` measures both). Frames keep their order and
number (frame i of the output is frame i of the input), so annotations stay valid; audio is
dropped. Outputs mirror input paths relative to ``--root`` with the suffix ``.mp4``.

Parallel, resumable (written as ``<name>.part.mp4``, renamed when complete; finished files are
skipped), with a progress bar, a JSON report and exit status 0 when nothing failed, else 1.
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
from lightning_vid.data.tools import reencode_job

VIDEO_EXTENSIONS = ("mp4", "webm", "avi", "mkv", "mov", "m4v")


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", help="video files or folders to search")
    parser.add_argument("--list", help="a file with one video path per line")
    parser.add_argument("--out", required=True, help="folder for the re-encoded videos")
    parser.add_argument("--root", help="output paths mirror input paths relative to this "
                        "(default: the first input folder)")
    parser.add_argument("--short-side", type=int, default=256, help="0 keeps the size")
    parser.add_argument("--gop", type=int, default=16, help="maximum keyframe interval")
    parser.add_argument("--crf", type=int, default=23, help="x264 quality (lower = better)")
    parser.add_argument("--preset", default="veryfast", help="x264 preset")
    parser.add_argument("--ext", nargs="+", default=list(VIDEO_EXTENSIONS))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes (0: in this process)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per video")
    parser.add_argument("--report", help="JSON report (default: OUT/reencode_report.json)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if not args.inputs and not args.list:
        parser.error("give input folders/files or --list")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    videos = find_media(args.inputs, args.ext) + (read_path_list(args.list) if args.list else [])
    root = args.root or next((p for p in args.inputs if os.path.isdir(p)), os.getcwd())
    out = os.path.abspath(args.out)
    videos = [v for v in videos if not v.startswith(out + os.sep)]  # never re-encode outputs
    job = partial(reencode_job, root=root, out=args.out, short_side=args.short_side or None,
                  gop=args.gop, crf=args.crf, preset=args.preset)
    start = time.perf_counter()
    outcomes = run_jobs(job, videos, args.workers, "re-encode", not args.no_progress,
                        args.timeout)
    settings = {k: v for k, v in vars(args).items() if k not in ("no_progress",)}
    write_report(args.report or os.path.join(args.out, "reencode_report.json"), outcomes,
                 settings, time.perf_counter() - start)
    return exit_status(outcomes)


if __name__ == "__main__":
    sys.exit(main())
