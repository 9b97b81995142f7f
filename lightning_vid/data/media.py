"""The one dispatch point between video files and frame folders.

A path that is a directory is a frame folder (:mod:`~lightning_vid.data.frames_io`); anything
else is a video file (:mod:`~lightning_vid.data.video_io`). Both are addressed by 0-based
frame positions, return uint8 ``(N, H, W, 3)`` RGB and raise ``FileNotFoundError`` or
:class:`~lightning_vid.data.video_io.VideoDecodeError`, so the sampling, the transforms and
the dataset never know which one they read. :meth:`MediaReader.verify` decodes every frame
(the dataset checker, ``lightning-vid-data check``), :meth:`MediaReader.probe` the first and
the last (its ``--fast`` pass, and the data modules' ``check``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import torch

from lightning_vid.data import frames_io, video_io
from lightning_vid.data.video_io import IndexLike, PathLike

__all__ = ["MediaReader", "count_frames", "is_frame_folder", "is_media", "read_frames"]


def is_frame_folder(path: PathLike) -> bool:
    """Whether ``path`` is read as a frame folder (it is a directory) or as a video file."""
    return os.path.isdir(path)


def is_media(path: PathLike) -> bool:
    """Whether ``path`` names one video (a frame folder, or a file with a video suffix) rather
    than a list of videos.

    >>> is_media("clip.MP4"), is_media("train.csv")
    (True, False)
    """
    return is_frame_folder(path) or os.fspath(path).lower().endswith(video_io.VIDEO_EXTENSIONS)


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

    def verify(self, path: PathLike, num_frames: Optional[int] = None) -> int:
        """Decode every frame of ``path`` as the loaders would read it; returns the frame count.
        ``num_frames`` is the count an annotation list gives (the loaders trust it)."""
        if num_frames is not None and num_frames < 1:
            raise video_io.VideoDecodeError(path, f"the list gives {num_frames} frames")
        if is_frame_folder(path):
            return frames_io.verify(path, self.frame_template, self.start_index, num_frames)
        count = video_io.verify(path)
        if num_frames is not None and num_frames > count:
            raise video_io.VideoDecodeError(path, f"the list gives {num_frames} frames, the "
                                                  f"video has {count}")
        return count

    def probe(self, path: PathLike, num_frames: Optional[int] = None) -> int:
        """The fast check: count the frames (a video's packets, a folder's files) and decode
        the first and the last, as the loaders would; returns the frame count. Catches a
        missing or empty file, no video stream, a broken header or index and most truncations;
        :meth:`verify` decodes every frame."""
        if num_frames is not None and num_frames < 1:
            raise video_io.VideoDecodeError(path, f"the list gives {num_frames} frames")
        count = self.count_frames(path)
        if count < 1:
            raise video_io.VideoDecodeError(path, "no frames")
        if num_frames is not None and num_frames > count:
            raise video_io.VideoDecodeError(path, f"the list gives {num_frames} frames, the "
                                                  f"file has {count}")
        self.read_frames(path, [0, (num_frames or count) - 1], num_frames)
        return num_frames or count


_DEFAULT = MediaReader()


def count_frames(path: PathLike) -> int:
    """:meth:`MediaReader.count_frames` with the TSN/TSM frame names (``img_00001.jpg``)."""
    return _DEFAULT.count_frames(path)


def read_frames(path: PathLike, indices: IndexLike) -> torch.Tensor:
    """:meth:`MediaReader.read_frames` with the TSN/TSM frame names (``img_00001.jpg``):
    frame-accurate by 0-based decode order; indices may repeat and come in any order."""
    return _DEFAULT.read_frames(path, indices)
