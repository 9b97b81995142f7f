"""Which frames a clip is made of: pure functions over frame counts, no video needed.

TSN sparse sampling (Wang et al., ECCV 2016; the rules of the TSN/TSM code base,
reference-notes.md 1.1, written 0-based): the video's ``n`` frames are cut into T
segments; each contributes L consecutive frames starting at an offset inside it.

- train: ``avg = (n - L + 1) // T``; offset ``i*avg + randint(avg)``.
- evaluation: segment centres, ``int(tick/2 + tick*i)`` with ``tick = (n - L + 1) / T``.
- the L frames of a segment are ``offset .. offset + L - 1``, clamped to the last frame.

Departures from the TSN code for videos shorter than T segments (documented, tested):
the code returns all-zero offsets (the first frame T times) in evaluation and, in training,
sorted distinct random offsets or zeros. Here evaluation keeps the centre formula, which
spreads the T picks evenly over the short video (repeating frames), and training draws T
sorted offsets with replacement from ``[0, n - L]``. Both keep the clip in temporal order.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def segment_indices(
    num_frames: int,
    num_segments: int,
    frames_per_segment: int = 1,
    train: bool = False,
    generator: Optional[torch.Generator] = None,
) -> Tensor:
    """TSN sparse sampling: the frame indices of one clip.

    Args:
        num_frames: n, the number of frames of the video (>= 1).
        num_segments: T.
        frames_per_segment: L consecutive frames per segment.
        train: a random offset inside each segment; otherwise the segment centres.
        generator: the random generator for ``train`` (reproducible sampling).

    Returns:
        A 1-D int64 tensor of length ``T*L``, segment-major (the L frames of segment t at
        ``[t*L, (t+1)*L)``), segments and the frames inside each in temporal order, each
        index in ``[0, n)``.

    >>> segment_indices(80, 4).tolist()
    [10, 30, 50, 70]
    >>> segment_indices(80, 2, frames_per_segment=3).tolist()
    [19, 20, 21, 58, 59, 60]
    >>> segment_indices(3, 4).tolist()
    [0, 1, 1, 2]
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if num_segments < 1 or frames_per_segment < 1:
        raise ValueError("num_segments and frames_per_segment must be >= 1")
    span = max(num_frames - frames_per_segment + 1, 1)  # valid start positions
    if train:
        avg = span // num_segments
        if avg > 0:
            jitter = torch.randint(avg, (num_segments,), generator=generator)
            offsets = torch.arange(num_segments) * avg + jitter
        else:
            offsets = torch.randint(span, (num_segments,), generator=generator).sort().values
    else:
        tick = span / num_segments
        offsets = torch.tensor([int(tick / 2 + tick * i) for i in range(num_segments)])
    frames = offsets[:, None] + torch.arange(frames_per_segment)  # (T, L)
    return frames.clamp_(max=num_frames - 1).flatten().long()
