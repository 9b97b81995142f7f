"""The one dispatch point between video files and frame folders.

A path that is a directory is a frame folder (:mod:`~lightning_vid.data.frames_io`); anything
else is a video file (:mod:`~lightning_vid.data.video_io`). Both are addressed by 0-based
frame positions, return uint8 ``(N, H, W, 3)`` RGB and raise ``FileNotFoundError`` or
:class:`~lightning_vid.data.video_io.VideoDecodeError`, so the sampling, the transforms and
the dataset never know which one they read.

:func:`check_media` is what ``scripts/check_dataset.py`` runs per file: it decodes the first,
the last and a few random frames and returns why the file is bad, or ``None``.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from lightning_vid.data import frames_io, video_io
from lightning_vid.data.video_io import IndexLike, PathLike

__all__ = ["MediaReader", "check_media", "count_frames", "is_frame_folder", "read_frames"]


def is_frame_folder(path: PathLike) -> bool:
    """Whether ``path`` is read as a frame folder (it is a directory) or as a video file."""
    return os.path.isdir(path)


@dataclass(frozen=True)
class MediaReader:
    """Reads frames from video files and frame folders alike (picklable for workers).

    Args:
        frame_template: file names inside frame folders, formatted with the 1-based number
            (``"img_{:05d}.jpg"``, TSN/TSM; ``"{:06d}.jpg"``, TSM's SSv2 tool).
        start_index: the number of the first frame file (1 in every published layout).
    """

    frame_template: str = frames_io.DEFAULT_TEMPLATE
    start_index: int = 1

    def count_frames(self, path: PathLike) -> int:
        """The number of frames :meth:`read_frames` can return for ``path``."""
        if is_frame_folder(path):
            return frames_io.count_frames(path, self.frame_template, self.start_index)
        return video_io.count_frames(path)

    def read_frames(self, path: PathLike, indices: IndexLike,
                    num_frames: Optional[int] = None) -> torch.Tensor:
        """uint8 ``(len(indices), H, W, 3)`` at 0-based positions ``indices``; ``num_frames``
        (frame folders only) skips counting when an annotation list already gives it."""
        if is_frame_folder(path):
            return frames_io.read_frames(path, indices, self.frame_template, self.start_index,
                                         num_frames)
        return video_io.read_frames(path, indices)


_DEFAULT = MediaReader()


def count_frames(path: PathLike) -> int:
    """:meth:`MediaReader.count_frames` with the TSN/TSM frame names (``img_00001.jpg``)."""
    return _DEFAULT.count_frames(path)


def read_frames(path: PathLike, indices: IndexLike) -> torch.Tensor:
    """:meth:`MediaReader.read_frames` with the TSN/TSM frame names (``img_00001.jpg``):
    frame-accurate by 0-based decode order; indices may repeat and come in any order."""
    return _DEFAULT.read_frames(path, indices)


def check_media(path: PathLike, reader: MediaReader = _DEFAULT, num_random: int = 3,
                seed: int = 0) -> Optional[str]:
    """Decode the first, the last and ``num_random`` random frames of ``path``.

    The random frames depend only on ``seed`` and the path, so a re-run checks the same ones.
    Returns ``None`` for a good file, else the reason in words (never raises for a bad file).
    """
    try:
        count = reader.count_frames(path)
        rng = np.random.default_rng([seed, zlib.crc32(os.fspath(path).encode())])
        picks = [0, count - 1, *rng.integers(0, count, size=num_random).tolist()]
        frames = reader.read_frames(path, picks)
        if frames.shape[0] != len(picks) or frames.numel() == 0:
            return f"expected {len(picks)} frames, got shape {tuple(frames.shape)}"
    except FileNotFoundError:
        return "missing"
    except Exception as err:  # noqa: BLE001 - the checker reports, it never stops
        return getattr(err, "reason", None) or f"{type(err).__name__}: {err}"
    return None
