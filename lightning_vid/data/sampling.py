"""Which frames a clip is made of: pure functions over frame counts, no video needed.

TSN sparse sampling (Wang et al., ECCV 2016; the rules of the TSN/TSM code base,
reference-notes.md 1.1, written 0-based): the video's ``n`` frames are cut into T
segments; each contributes L consecutive frames starting at an offset inside it.

- train: ``avg = (n - L + 1) // T``; offset ``i*avg + randint(avg)``.
- evaluation: segment centres, ``int(tick/2 + tick*i)`` with ``tick = (n - L + 1) / T``.
- the L frames of a segment are ``offset .. offset + L - 1``, clamped to the last frame.

Videos shorter than T segments (``avg = 0``): training follows the TSN code exactly, T
sorted offsets drawn with replacement from ``[0, n - L]`` when ``n > T`` (only possible for
L > 1), else all zero (the first frame T times). Departure (documented, tested): in
evaluation the code also returns all-zero offsets for ``n <= T + L - 1``; here the centre
formula is kept, which spreads the T picks evenly over the short video (repeating frames).

Test-time views (reference-notes.md 1.1, 1.5 and 10), each a function returning ``(N, T*L)``:

- :func:`twice_indices`: TSM's "twice" (centres + segment starts, 2 clips);
- :func:`uniform_clip_indices`: TAM's "uniform-N" (clip starts ``linspace(0, tick - 1, N)``,
  kept fractional or truncated to whole frames as TANet does);
- :func:`random_clip_indices`: N clips of training sampling (TEA, TDN; TRM's "sparse");
- :func:`dense_indices`: I3D-style, T frames at stride ``64 // T`` (random start in training,
  10 evenly spaced starts at test); frames past the end wrap like TSM's ``% n``, or repeat
  the last frame. The random training start is TSM's and TANet's
  ``randint(0, sample_pos - 1)``: uniform on ``[0, n - 65]``, never the last valid start;
- :func:`tempo_indices`: TCM's tempo robustness re-sampling at stride tau, a centred window
  that repeats the last frame when the video is short (TCM Fig. 4).

:class:`ClipSampler` wraps them as the picklable index sampler the dataset receives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

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
        train: a random offset inside each segment (the TSN code's ``_sample_indices``);
            otherwise the segment centres.
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
        elif num_frames > num_segments:  # the TSN code's rule for short videos
            offsets = torch.randint(span, (num_segments,), generator=generator).sort().values
        else:
            offsets = torch.zeros(num_segments, dtype=torch.long)
    else:
        tick = span / num_segments
        offsets = torch.tensor([int(tick / 2 + tick * i) for i in range(num_segments)])
    frames = offsets[:, None] + torch.arange(frames_per_segment)  # (T, L)
    return frames.clamp_(max=num_frames - 1).flatten().long()


def _expand(offsets: Tensor, frames_per_segment: int, num_frames: int) -> Tensor:
    """Offsets ``(..., T)`` -> the L consecutive frames of each, clamped to the last frame,
    flattened segment-major to ``(..., T*L)``."""
    frames = offsets[..., None] + torch.arange(frames_per_segment)  # (..., T, L)
    return frames.clamp_(min=0, max=num_frames - 1).flatten(-2).long()


def _check(num_frames: int, num_segments: int, frames_per_segment: int) -> None:
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if num_segments < 1 or frames_per_segment < 1:
        raise ValueError("num_segments and frames_per_segment must be >= 1")


def twice_indices(num_frames: int, num_segments: int, frames_per_segment: int = 1) -> Tensor:
    """TSM's "twice" test sampling: the segment centres and the segment starts, ``(2, T*L)``.

    >>> twice_indices(80, 4).tolist()
    [[10, 30, 50, 70], [0, 20, 40, 60]]
    """
    _check(num_frames, num_segments, frames_per_segment)
    tick = max(num_frames - frames_per_segment + 1, 1) / num_segments
    starts = torch.tensor([int(tick * i) for i in range(num_segments)])
    return torch.stack([segment_indices(num_frames, num_segments, frames_per_segment),
                        _expand(starts, frames_per_segment, num_frames)])


ClipStarts = Literal["fractional", "whole_frames"]


def uniform_clip_indices(num_frames: int, num_segments: int, frames_per_segment: int = 1,
                         num_clips: int = 2, starts: "ClipStarts" = "fractional") -> Tensor:
    """N evenly shifted sparse clips, ``(N, T*L)``: TAM's "uniform-N" test views.

    Clip k takes ``int(s_k + tick*i)``, ``tick = (n - L + 1) / T``, from the start
    ``s_k = linspace(0, tick - 1, N)[k]`` (the first and last frame of each segment for
    N = 2); N = 1 gives the segment centres. ``starts`` says whether ``s_k`` is kept as it is
    (``fractional``) or first truncated to a whole frame, ``int(s_k)`` (``whole_frames``, as
    TANet's ``_get_test_indices`` does with ``np.linspace(..., dtype=int)``): the two differ by
    one frame wherever the fractional parts of ``s_k`` and ``tick*i`` add up past a whole one.

    >>> uniform_clip_indices(80, 4, num_clips=2).tolist()
    [[0, 20, 40, 60], [19, 39, 59, 79]]
    >>> uniform_clip_indices(30, 4).tolist()
    [[0, 7, 15, 22], [6, 14, 21, 29]]
    >>> uniform_clip_indices(30, 4, starts="whole_frames").tolist()
    [[0, 7, 15, 22], [6, 13, 21, 28]]
    """
    _check(num_frames, num_segments, frames_per_segment)
    if starts not in ("fractional", "whole_frames"):
        raise ValueError(f"starts must be 'fractional' or 'whole_frames', got {starts!r}")
    if num_clips == 1:
        return segment_indices(num_frames, num_segments, frames_per_segment)[None]
    span = max(num_frames - frames_per_segment + 1, 1)
    tick = span / num_segments
    shifts = torch.linspace(0, max(tick - 1, 0), num_clips, dtype=torch.float64)
    if starts == "whole_frames":
        shifts = shifts.floor()
    offsets = (shifts[:, None] + tick * torch.arange(num_segments)).long()  # (N, T)
    return _expand(offsets.clamp(max=span - 1), frames_per_segment, num_frames)


def random_clip_indices(num_frames: int, num_segments: int, frames_per_segment: int = 1,
                        num_clips: int = 10, generator: Optional[torch.Generator] = None) -> Tensor:
    """N clips of TSN training sampling (a random frame per segment), ``(N, T*L)``: TEA's and
    TDN's "10 random clips" test views, and TRM's sparse protocol with N = 1."""
    return torch.stack([segment_indices(num_frames, num_segments, frames_per_segment, True,
                                        generator) for _ in range(num_clips)])


OutOfBound = Literal["loop", "repeat_last"]


def dense_indices(num_frames: int, num_segments: int, frames_per_segment: int = 1,
                  train: bool = False, num_clips: int = 1, window: int = 64,
                  out_of_bound: OutOfBound = "loop",
                  generator: Optional[torch.Generator] = None) -> Tensor:
    """I3D-style dense sampling (TSM ``dense_sample``, TAM's Kinetics recipe).

    T frames at stride ``window // T`` (8 for T = 8) from a start inside
    ``[0, max(n - window, 0)]``: random in training (uniform on ``[0, n - window - 1]``, as
    TSM's and TANet's code); in evaluation the middle start for one
    clip (TAM's validation) or ``linspace(0, n - window, N)`` for N clips (the 10-clip test).
    Frames past the end wrap to the start (``"loop"``, TSM's ``% n`` and mmaction2's default)
    or repeat the last frame (``"repeat_last"``).

    Returns:
        ``(T*L,)`` in training, ``(N, T*L)`` in evaluation.

    >>> dense_indices(100, 4, window=16, num_clips=2).tolist()
    [[0, 4, 8, 12], [84, 88, 92, 96]]
    >>> dense_indices(10, 4, window=16, out_of_bound="loop").tolist()
    [[0, 4, 8, 2]]
    """
    _check(num_frames, num_segments, frames_per_segment)
    stride = max(window // num_segments, 1)
    last_start = max(num_frames - window, 0)
    if train:  # TSM's randint(0, sample_pos - 1), sample_pos = last_start + 1: never the last
        starts = (torch.randint(last_start, (1,), generator=generator) if last_start > 0
                  else torch.zeros(1, dtype=torch.long))
    elif num_clips == 1:
        starts = torch.tensor([(last_start + 1) // 2])
    else:
        starts = torch.linspace(0, last_start, num_clips, dtype=torch.float64).long()
    offsets = starts[:, None] + stride * torch.arange(num_segments)  # (N, T)
    if out_of_bound == "loop":
        offsets = offsets % num_frames
    clips = _expand(offsets, frames_per_segment, num_frames)
    return clips[0] if train else clips


def tempo_indices(num_frames: int, num_segments: int, stride: int,
                  frames_per_segment: int = 1) -> Tensor:
    """TCM's tempo robustness test (Fig. 4): T frames ``stride`` apart from a centred window;
    a video too short for the window starts at frame 0 and repeats its last frame.

    >>> tempo_indices(100, 4, stride=2).tolist()
    [46, 48, 50, 52]
    >>> tempo_indices(10, 4, stride=4).tolist()
    [0, 4, 8, 9]
    """
    _check(num_frames, num_segments, frames_per_segment)
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    span = (num_segments - 1) * stride + frames_per_segment
    start = max(num_frames - span, 0) // 2
    return _expand(start + stride * torch.arange(num_segments), frames_per_segment, num_frames)


Sampling = Literal["tsn", "centre", "twice", "uniform", "random", "dense", "tempo"]


@dataclass(frozen=True)
class ClipSampler:
    """Maps a frame count to the indices of one clip ``(T*L,)`` or of N clips ``(N, T*L)``.

    A picklable callable (DataLoader workers) over the pure functions above. Random choices
    use torch's default generator, which the DataLoader seeds per worker (reproducible with
    ``seed_everything``).

    Args:
        sampling: ``tsn`` (random frame per segment, training), ``centre`` (segment centres),
            ``twice``, ``uniform`` (N shifted sparse clips), ``random`` (N TSN clips),
            ``dense`` (I3D-style), ``tempo`` (stride ``tempo_stride``).
        num_segments, frames_per_segment: T and L.
        num_clips: N for ``uniform``, ``random`` and ``dense``.
        train: dense sampling with a random start (one clip).
        window, out_of_bound: dense sampling's window and end policy.
        tempo_stride: tau for ``tempo``.
        clip_starts: ``uniform``'s clip starts, ``fractional`` or ``whole_frames``
            (:func:`uniform_clip_indices`).
    """

    sampling: Sampling
    num_segments: int
    frames_per_segment: int = 1
    num_clips: int = 1
    train: bool = False
    window: int = 64
    out_of_bound: OutOfBound = "loop"
    tempo_stride: int = 2
    clip_starts: ClipStarts = "fractional"

    def __call__(self, num_frames: int) -> Tensor:
        t, l, n = self.num_segments, self.frames_per_segment, self.num_clips
        if self.sampling in ("tsn", "centre"):
            return segment_indices(num_frames, t, l, train=self.sampling == "tsn")
        if self.sampling == "tempo":
            return tempo_indices(num_frames, t, self.tempo_stride, l)
        if self.sampling == "twice":
            return twice_indices(num_frames, t, l)
        if self.sampling == "dense":
            return dense_indices(num_frames, t, l, train=self.train, num_clips=n,
                                 window=self.window, out_of_bound=self.out_of_bound)
        if self.sampling == "uniform":
            return uniform_clip_indices(num_frames, t, l, n, self.clip_starts)
        return random_clip_indices(num_frames, t, l, n)
