"""``lightning-vid-data extract``: videos to JPEG frame folders, as the TSN/TSM tools write them.

    lightning-vid-data extract VIDEOS_DIR --out FRAMES_DIR [--short-side 256] [--quality 90]
        [--template img_{:05d}.jpg] [--workers 8] [--report report.json]
    lightning-vid-data extract VIDEOS_DIR --out FRAMES_DIR --preset tsm-kinetics

``--preset`` makes the frames the authors made, with their own command: the FFmpeg line of
their tool (its scale filter, ``-q:v 0`` JPEG quality and file names; FFmpeg must be
installed), since their JPEG encoder is FFmpeg's, not Pillow's:

==============  ==================================================  ========================
preset          the authors' tool (TSM; TANet ships the same)       frame files
==============  ==================================================  ========================
tsm-kinetics    ``tools/vid2img_kinetics.py``: height 331            ``img_00001.jpg``
tsm-sthv2       ``tools/vid2img_sthv2.py``: height 256                ``000001.jpg``
==============  ==================================================  ========================

(``scale=-1:H`` fixes the height, not the short side: the same for landscape videos.)
Something-Something V1 is distributed as frames (``00001.jpg``), and TDN decodes Kinetics
videos of short side 320 on the fly (``lightning-vid-data reencode --short-side 320``): no
extraction for those.

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
import shutil
import subprocess
import time
from functools import partial
from typing import Optional

from lightning_vid.data.annotations import read_path_list
from lightning_vid.data.frames_io import DEFAULT_TEMPLATE, write_frame_folder
from lightning_vid.data.tools.jobs import (Outcome, add_common_arguments, add_output_arguments,
                                           exit_status, find_media, output_path, run_jobs,
                                           run_settings, write_report)
from lightning_vid.data.video_io import count_frames, iter_frames


#: preset -> (the authors' FFmpeg scale filter, FFmpeg file pattern, our frame template, source)
PRESETS = {
    "tsm-kinetics": ("scale=-1:331", "img_%05d.jpg", "img_{:05d}.jpg",
                     "mit-han-lab/temporal-shift-module tools/vid2img_kinetics.py"),
    "tsm-sthv2": ("scale=-1:256", "%06d.jpg", "{:06d}.jpg",
                  "mit-han-lab/temporal-shift-module tools/vid2img_sthv2.py"),
}


def ffmpeg_command(video: str, folder: str, preset: str) -> list[str]:
    """The authors' extraction command of ``preset`` (``ffmpeg -i V -threads 1 -vf
    scale=-1:H -q:v 0 DIR/PATTERN``), writing into ``folder``.

    >>> " ".join(ffmpeg_command("a.mp4", "f", "tsm-sthv2")[4:])
    '-i a.mp4 -threads 1 -vf scale=-1:256 -q:v 0 f/%06d.jpg'
    """
    scale, pattern, _, _ = PRESETS[preset]
    return ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", video, "-threads", "1", "-vf",
            scale, "-q:v", "0", os.path.join(folder, pattern)]


def _extract_with_ffmpeg(video: str, target: str, preset: str) -> int:
    part = target + ".part"
    shutil.rmtree(part, ignore_errors=True)
    os.makedirs(part)
    try:
        done = subprocess.run(ffmpeg_command(video, part, preset), capture_output=True,
                              text=True)
        written = len(os.listdir(part))
        if done.returncode != 0 or not written:
            raise RuntimeError(f"ffmpeg failed on {video}: {done.stderr.strip()[-500:]}")
        os.replace(part, target)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    return written


def extract_job(video: str, *, root: str, out: str, short_side: Optional[int] = 256,
                quality: int = 90, template: str = DEFAULT_TEMPLATE,
                preset: Optional[str] = None) -> Outcome:
    """Extract every frame of ``video`` to ``out/<relative path without suffix>/`` (with the
    authors' FFmpeg command when ``preset`` names one)."""
    target = output_path(video, root, out, "")
    if os.path.isdir(target):
        return Outcome(video, "skipped", target)
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    if preset is not None:
        written = _extract_with_ffmpeg(video, target, preset)
        return Outcome(video, "done", f"{written} frames -> {target} ({preset})")
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
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None,
                        help="the authors' own extraction (their FFmpeg command: size, JPEG "
                             "quality, file names); replaces --short-side, --quality and "
                             "--template")


def run(args: argparse.Namespace) -> int:
    if not args.inputs and not args.list:
        raise SystemExit("extract: give input folders or files, or --list")
    videos = find_media(args.inputs, args.ext) + (read_path_list(args.list) if args.list else [])
    root = args.root or next((p for p in args.inputs if os.path.isdir(p)), os.getcwd())
    if args.preset and shutil.which("ffmpeg") is None:
        raise SystemExit(f"extract --preset {args.preset}: the authors' command needs FFmpeg "
                         "on the PATH (e.g. apt-get install ffmpeg)")
    job = partial(extract_job, root=root, out=args.out, short_side=args.short_side or None,
                  quality=args.quality, template=args.template, preset=args.preset)
    start = time.perf_counter()
    outcomes = run_jobs(job, videos, args.workers, "extract", not args.no_progress, args.timeout)
    write_report(args.report or os.path.join(args.out, "extract_report.json"), outcomes,
                 run_settings(args), time.perf_counter() - start)
    return exit_status(outcomes)
