"""The per-file jobs of the dataset tools (run by :func:`lightning_vid.data.jobs.run_jobs`).

Each is a module-level function (picklable for worker processes) over one path, configured
with :func:`functools.partial`, returning an :class:`~lightning_vid.data.jobs.Outcome`:

- :func:`extract_job`: video -> JPEG frame folder (``scripts/extract_frames.py``);
- :func:`reencode_job`: video -> short-side-256, short-GOP H.264 (``scripts/reencode_videos.py``);
- :func:`check_job`: decode the first, last and a few random frames (``scripts/check_dataset.py``).

Outputs mirror the inputs' paths relative to a root folder (:func:`output_path`) and are
written under a temporary name, renamed when complete; an existing output is ``skipped``, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import os
from typing import Optional

from lightning_vid.data.frames_io import DEFAULT_TEMPLATE, write_frame_folder
from lightning_vid.data.jobs import Outcome
from lightning_vid.data.media import MediaReader, check_media
from lightning_vid.data.video_io import count_frames, iter_frames, reencode


def output_path(path: str, root: str, out: str, suffix: Optional[str]) -> str:
    """``out/<path relative to root>`` with the suffix replaced (``""``: removed, for frame
    folders; ``None``: kept). Paths outside ``root`` keep only their file name.

    >>> output_path("/d/v/a/x.webm", "/d/v", "/o", "")
    '/o/a/x'
    >>> output_path("/e/y.avi", "/d/v", "/o", ".mp4")
    '/o/y.mp4'
    """
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if relative.startswith(os.pardir):
        relative = os.path.basename(path)
    if suffix is not None:
        relative = os.path.splitext(relative)[0] + suffix
    return os.path.join(out, relative)


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


def check_job(path: str, *, num_random: int = 3, seed: int = 0,
              frame_template: str = DEFAULT_TEMPLATE) -> Outcome:
    """``bad`` with the reason when :func:`~lightning_vid.data.media.check_media` fails."""
    reason = check_media(path, MediaReader(frame_template), num_random, seed)
    return Outcome(path, "bad", reason) if reason else Outcome(path, "done")
