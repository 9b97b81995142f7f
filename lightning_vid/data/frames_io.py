"""Frame folders: a video stored as one JPEG per frame, read like a video file.

The TSN/TSM tools write frame ``k`` (1-based, in decode order) of a video to
``<folder>/img_00001.jpg``-style names; the SSv2 tools of the TSM repo write ``000001.jpg``.
The rest of the project counts frames from 0, as :mod:`~lightning_vid.data.video_io` does,
and the conversion happens in exactly one place, :func:`frame_path`:

    0-based sampling index ``i``  ->  file ``template.format(i + start_index)``

with ``start_index = 1`` for every published frame layout (0 is accepted for home-made ones).

- :func:`count_frames`: the number of frames, from the numbering (one directory listing,
  nothing decoded): the highest frame number present. A gap in the numbering (a frame file
  lost, the first one included) makes the folder unreadable, naming the missing files, so it
  is skipped and counted like any damaged video, never read as a shorter one.
- :func:`read_frames`: uint8 ``(N, H, W, 3)`` RGB like :func:`video_io.read_frames`; each
  distinct index is decoded once (Pillow's libjpeg-turbo; torchvision's image codecs are
  deprecated since 0.29).
- :func:`verify`: decode every frame (the dataset checker).
- :func:`write_frame_folder`: frame extraction, writing into ``<folder>.part`` and renaming
  when complete, so an interrupted extraction never leaves a folder that looks finished.

Errors: a missing folder raises :class:`FileNotFoundError`; an unreadable folder, no frames,
a gap in the numbering, a missing or corrupt JPEG (truncated files included), frames of
different sizes or an index out
of range raise :class:`~lightning_vid.data.video_io.VideoDecodeError` naming the folder and
the file, so the dataset skips the sample like an undecodable video.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from typing import Iterable, Optional, Union

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from lightning_vid.data.video_io import IndexLike, PathLike, VideoDecodeError

__all__ = ["DEFAULT_TEMPLATE", "count_frames", "frame_path", "read_frames", "verify",
           "write_frame_folder"]

#: The TSN/TSM frame file name (Kinetics, UCF101, HMDB51 tools); SSv2's TSM tool uses "{:06d}.jpg".
DEFAULT_TEMPLATE = "img_{:05d}.jpg"


def frame_path(folder: PathLike, index: int, template: str = DEFAULT_TEMPLATE,
               start_index: int = 1) -> str:
    """The file holding 0-based frame ``index`` of ``folder``.

    >>> frame_path("v", 0), frame_path("v", 9, "{:06d}.jpg")
    ('v/img_00001.jpg', 'v/000010.jpg')
    """
    return os.path.join(os.fspath(folder), template.format(int(index) + start_index))


def _listing(folder: PathLike) -> set[str]:
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "frame folder not found", os.fspath(folder))
    try:
        return set(os.listdir(folder))
    except OSError as err:  # permissions, I/O error
        raise VideoDecodeError(folder, f"cannot list the frame folder ({err})") from err


def frame_numbers(names: Iterable[str], template: str = DEFAULT_TEMPLATE) -> list[int]:
    """The sorted numbers of the names that ``template`` writes (other files are ignored).

    >>> frame_numbers(["img_00002.jpg", "img_00001.jpg", "flow_x_00001.jpg", "img_1.jpg"])
    [1, 2]
    """
    prefix, _, rest = template.partition("{")
    suffix = rest.partition("}")[2]
    pattern = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix))
    numbers = []
    for name in names:
        match = pattern.fullmatch(name)
        if match and template.format(int(match[1])) == name:  # the padding matches too
            numbers.append(int(match[1]))
    return sorted(numbers)


def count_frames(folder: PathLike, template: str = DEFAULT_TEMPLATE, start_index: int = 1) -> int:
    """The number of frames: the highest frame number present, counted from ``start_index``.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        VideoDecodeError: the folder cannot be listed, holds no frame, or misses frames below
            the highest one (a gap in the numbering), naming them.
    """
    numbers = [n for n in frame_numbers(_listing(folder), template) if n >= start_index]
    if not numbers:
        raise VideoDecodeError(folder, f"no frame {template.format(start_index)!r} in the folder")
    count = numbers[-1] - start_index + 1
    if len(numbers) < count:
        missing = sorted(set(range(start_index, numbers[-1])) - set(numbers))
        names = ", ".join(template.format(n) for n in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise VideoDecodeError(folder, f"{len(missing)} of {count} frames missing (a gap in the "
                                       f"numbering): {names}{more}")
    return count


def _decode(path: str, folder: PathLike) -> np.ndarray:
    """One JPEG as uint8 ``(H, W, 3)`` RGB; truncated or corrupt files are errors."""
    name = os.path.basename(path)
    try:
        with Image.open(path) as image:
            image.load()  # decodes now: a truncated file raises here, not later
            array = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    except FileNotFoundError as err:
        raise VideoDecodeError(folder, f"cannot read frame {name} (missing)") from err
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise VideoDecodeError(folder, f"corrupt frame {name} ({err})") from err
    return array


def read_frames(folder: PathLike, indices: IndexLike, template: str = DEFAULT_TEMPLATE,
                start_index: int = 1, num_frames: Optional[int] = None) -> torch.Tensor:
    """Frames of a frame folder at 0-based positions ``indices`` (any order, repeats allowed).

    Args:
        folder: the frame folder.
        indices: 1-D integers in ``[0, count)``.
        template, start_index: the file names (see :func:`frame_path`).
        num_frames: the frame count when already known (e.g. from a TSM list); ``None``
            counts the folder.

    Returns:
        uint8 ``(len(indices), H, W, 3)``, RGB, in the order of ``indices``.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     video = torch.arange(3, dtype=torch.uint8).mul(100).view(3, 1, 1, 1).expand(3, 8, 8, 3)
    ...     _ = write_frame_folder(f"{tmp}/v", video, quality=100)
    ...     sorted(os.listdir(f"{tmp}/v")), read_frames(f"{tmp}/v", [2, 0])[:, 4, 4, 0].tolist()
    (['img_00001.jpg', 'img_00002.jpg', 'img_00003.jpg'], [200, 0])
    """
    count = num_frames if num_frames is not None else count_frames(folder, template, start_index)
    array = indices.detach().cpu().numpy() if torch.is_tensor(indices) else np.asarray(indices)
    array = array.reshape(-1).astype(np.int64)
    bad = array[(array < 0) | (array >= count)]
    if bad.size:
        raise VideoDecodeError(folder, f"frame index {int(bad[0])} out of range [0, {count})")
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "frame folder not found", os.fspath(folder))
    unique, inverse = np.unique(array, return_inverse=True)
    images = [_decode(frame_path(folder, i, template, start_index), folder) for i in unique]
    if not images:
        return torch.empty((0, 0, 0, 3), dtype=torch.uint8)
    if len({image.shape for image in images}) > 1:
        raise VideoDecodeError(folder, "frames of different sizes")
    frames = np.stack(images)  # (U, H, W, 3), U = number of unique indices
    if not np.array_equal(unique, array):  # repeats or another order
        frames = frames[inverse.reshape(-1)]
    return torch.from_numpy(frames)


def verify(folder: PathLike, template: str = DEFAULT_TEMPLATE, start_index: int = 1,
           num_frames: Optional[int] = None) -> int:
    """Decode every frame of ``folder`` (the dataset checker); returns the number of frames.

    ``num_frames`` is the count an annotation list gives (the loaders then read frames
    ``0 .. num_frames - 1`` without listing the folder): the folder must hold them all.

    Raises:
        FileNotFoundError, VideoDecodeError: as :func:`count_frames` and :func:`read_frames`.
    """
    count = count_frames(folder, template, start_index)
    if num_frames is not None and num_frames > count:
        raise VideoDecodeError(folder, f"the list gives {num_frames} frames, the folder holds "
                                       f"{count}")
    size = None
    for index in range(num_frames if num_frames is not None else count):
        shape = _decode(frame_path(folder, index, template, start_index), folder).shape
        if size is not None and shape != size:
            raise VideoDecodeError(folder, f"frames of different sizes ({shape[:2]} at "
                                           f"{template.format(index + start_index)})")
        size = shape
    return count


def write_frame_folder(folder: PathLike, frames: Iterable[Union[np.ndarray, torch.Tensor]],
                       quality: int = 90, template: str = DEFAULT_TEMPLATE,
                       start_index: int = 1) -> int:
    """Write RGB uint8 ``(H, W, 3)`` frames as JPEGs into ``folder``, atomically.

    The files go to ``<folder>.part`` (emptied first), which is renamed to ``folder`` once
    every frame is written; on any error the partial folder is removed. Returns the number
    of frames written. ``folder`` must not exist yet.
    """
    folder = os.fspath(folder)
    if os.path.exists(folder):
        raise FileExistsError(errno.EEXIST, "frame folder exists", folder)
    part = folder + ".part"
    shutil.rmtree(part, ignore_errors=True)
    os.makedirs(part)
    count = 0
    try:
        for count, frame in enumerate(frames, start=1):
            array = frame.numpy() if torch.is_tensor(frame) else np.asarray(frame)
            Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8)).save(
                frame_path(part, count - 1, template, start_index), quality=quality)
        if count == 0:
            raise VideoDecodeError(folder, "no frames to write")
        os.replace(part, folder)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    return count
