"""Evaluation protocols: which clips and which crops of a video are scored.

An :class:`EvalProtocol` is a small frozen dataclass set in the data section of a config
(``test_protocol: {sampling: dense, clips: 10, crops: 3}``); it builds the index sampler and
the view transform of the evaluation dataset and describes itself in the words the papers use.
How the V = clips x crops scores of a video are fused (mean of logits or of softmax) belongs
to the model side: ``VideoClassifier(eval_fusion=...)``.

The protocols of the papers (reference-notes.md 1.5, 10):

============================  ===================================================
"efficient" (TSM, TAM, TDN)   ``centre``, 1 clip x 1 crop 224 of short side 256
SS "accurate" (TSM)           ``twice``, 2 clips x 3 crops 256 (full resolution)
SSv2 (TAM)                    ``uniform``, 2 clips x 3 crops 256
Kinetics (TSM, TAM)           ``dense``, 10 clips x 3 crops 256
Kinetics (TEA, TDN)           ``random``, 10 clips x 3 crops 256
TSN 10-crop                   ``centre``, 1 clip x 10 crops 224 (corners, centre, flips)
TCM tempo robustness          ``tempo`` with ``tempo_stride`` tau = 2..8, 1 x 1
TRM sparse vs dense           ``random`` 1 clip against ``dense`` 10 clips
============================  ===================================================

Five options reproduce the authors' test scripts to the pixel where the repositories differ
from the generic defaults (each recipe of ``configs/recipes`` selects its authors' one, the
mmaction2 commands of ``docs/model_zoo.md`` add mmaction2's; the page lists them):

- ``crop_positions``: ``edges`` (default: the outer 3 and 10 crops touch the frame's edges)
  or ``quarter_grid`` (the TSN code base's ``GroupFullResSample``/``GroupOverSample``: offsets
  on a grid of step ``(W - crop) // 4``; TSM, TANet, TEA, TDN) or ``half_grid`` (mmaction2's
  ``CenterCrop``/``ThreeCrop``: the centre at ``(W - crop) // 2``, 3 crops at multiples of it);
- ``clip_starts``: ``uniform`` clips start at ``fractional`` frames (default) or at
  ``whole_frames`` (TANet's ``uniform-N``);
- ``resize_to``: ``[H, W]`` resizes every frame to exactly that size, aspect ratio ignored,
  instead of the short side to ``scale_size`` (TCM's 240 x 320);
- ``antialias``: ``true`` (default: the resize low-pass filters a shrinking frame, as PIL's
  bilinear in the TSN code base) or ``false`` (the 2 x 2 nearest pixels only, as OpenCV's
  ``INTER_LINEAR`` in mmaction2);
- ``long_side``: the resized long side ``truncated`` to an integer (default, torchvision and
  PIL) or ``rounded`` (mmcv's ``rescale_size``, mmaction2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Optional

from torch import Tensor

from lightning_vid.data.sampling import ClipSampler, ClipStarts, OutOfBound
from lightning_vid.data.transforms import (CropPositions, Crops, LongSide, eval_transform,
                                           views_transform)

EvalSampling = Literal["centre", "twice", "uniform", "random", "dense", "tempo"]
_ONE_CLIP = ("centre", "tempo")


@dataclass(frozen=True)
class EvalProtocol:
    """Clips x crops of one evaluation.

    Args:
        sampling: ``centre`` (segment centres), ``twice`` (centres + segment starts, 2 clips),
            ``uniform`` (N shifted sparse clips), ``random`` (N clips of training sampling),
            ``dense`` (I3D-style windows), ``tempo`` (T frames at stride ``tempo_stride``).
        clips: N; 1 for ``centre`` and ``tempo``, 2 for ``twice``.
        crops: 1 (centre), 3 (covering the frame along its long side) or 10 (TSN oversampling).
        crop_size: the crop side; ``None``: the data module's ``crop_size`` for 1 and 10
            crops, the short side (``scale_size``) for 3 crops ("full resolution"). A model
            built for one input size (TRM's cTRM: ``input_size`` is linked to the data
            module's ``crop_size``) needs the same size here.
        scale_size: the short side frames are resized to; ``None``: the data module's.
        tempo_stride: tau for ``tempo``.
        crop_positions: where 3 and 10 crops sit: ``edges`` (the outer crops touch the
            frame's edges, the centre rounded), ``quarter_grid`` (multiples of
            ``(W - crop) // 4``, the authors' test scripts) or ``half_grid`` (every offset
            floored, 3 crops at multiples of ``(W - crop) // 2``: mmaction2); see
            :func:`~lightning_vid.data.transforms.view_offsets`.
        clip_starts: ``uniform`` sampling's clip starts: ``fractional`` or truncated to
            ``whole_frames`` (TANet); see :func:`~lightning_vid.data.sampling.uniform_clip_indices`.
        resize_to: ``[H, W]``: every frame resized to exactly H x W (aspect ratio ignored)
            instead of the short side to ``scale_size`` (TCM's evaluation: ``[240, 320]``).
        antialias: low-pass filter a shrinking frame before the bilinear resize (PIL's and
            torchvision's default); ``False``: the 2 x 2 nearest pixels only (OpenCV's
            ``INTER_LINEAR``, mmaction2). See :func:`~lightning_vid.data.transforms.resize`.
        long_side: the resized long side ``truncated`` or ``rounded`` to an integer (mmcv's
            ``rescale_size``, mmaction2); see :func:`~lightning_vid.data.transforms.resized_size`.
    """

    sampling: EvalSampling = "centre"
    clips: int = 1
    crops: Crops = 1
    crop_size: Optional[int] = None
    scale_size: Optional[int] = None
    tempo_stride: int = 2
    crop_positions: CropPositions = "edges"
    clip_starts: ClipStarts = "fractional"
    resize_to: Optional[tuple[int, int]] = None
    antialias: bool = True
    long_side: LongSide = "truncated"

    def __post_init__(self) -> None:
        if self.clips < 1:
            raise ValueError(f"clips must be >= 1, got {self.clips}")
        if self.sampling in _ONE_CLIP and self.clips != 1:
            raise ValueError(f"{self.sampling!r} sampling gives one clip; for {self.clips} use "
                             "'uniform', 'random' or 'dense'")
        if self.sampling == "twice" and self.clips != 2:
            raise ValueError("'twice' sampling gives 2 clips: set clips: 2")
        if self.tempo_stride < 1:
            raise ValueError(f"tempo_stride must be >= 1, got {self.tempo_stride}")
        if self.crop_positions not in ("edges", "quarter_grid", "half_grid"):
            raise ValueError("crop_positions must be 'edges', 'quarter_grid' or 'half_grid', "
                             f"got {self.crop_positions!r}")
        if self.long_side not in ("truncated", "rounded"):
            raise ValueError(f"long_side must be 'truncated' or 'rounded', got "
                             f"{self.long_side!r}")
        if not isinstance(self.antialias, bool):
            raise ValueError(f"antialias must be true or false, got {self.antialias!r}")
        if self.clip_starts not in ("fractional", "whole_frames"):
            raise ValueError("clip_starts must be 'fractional' or 'whole_frames', got "
                             f"{self.clip_starts!r}")
        if self.resize_to is not None:
            size = tuple(self.resize_to)
            if len(size) != 2 or min(size) < 1:
                raise ValueError(f"resize_to must be [H, W] of positive sides, got "
                                 f"{self.resize_to!r}")
            object.__setattr__(self, "resize_to", (int(size[0]), int(size[1])))

    @property
    def views(self) -> int:
        """V, the number of views per video."""
        return self.clips * self.crops

    def sizes(self, crop_size: int, scale_size: int) -> tuple[int, int]:
        """``(crop, scale)`` after applying the data module's defaults."""
        scale = self.scale_size or scale_size
        short = min(self.resize_to) if self.resize_to else scale
        crop = self.crop_size or (short if self.crops == 3 else crop_size)
        return crop, scale

    def sampler(self, num_segments: int, frames_per_segment: int = 1, window: int = 64,
                out_of_bound: OutOfBound = "loop") -> ClipSampler:
        """The index sampler: ``(T*L,)`` for one clip, ``(N, T*L)`` for several."""
        return ClipSampler(self.sampling, num_segments, frames_per_segment,
                           num_clips=self.clips, window=window, out_of_bound=out_of_bound,
                           tempo_stride=self.tempo_stride, clip_starts=self.clip_starts)

    def transform(self, crop_size: int, scale_size: int) -> Callable[[Tensor], Tensor]:
        """The view transform: ``(T*L, C, H, W)`` for a single view (V = 1), else
        ``(V, T*L, C, h, w)``."""
        crop, scale = self.sizes(crop_size, scale_size)
        if self.views == 1:
            return eval_transform(crop, scale, self.resize_to, self.crop_positions,
                                  self.antialias, self.long_side)
        return views_transform(crop, scale, self.crops, self.crop_positions, self.resize_to,
                               self.antialias, self.long_side)

    def describe(self, crop_size: int, scale_size: int) -> str:
        """The protocol in words, e.g. ``"10x3 dense, 256px crops of short side 256"``."""
        crop, scale = self.sizes(crop_size, scale_size)
        sampling = (f"tempo tau={self.tempo_stride}" if self.sampling == "tempo"
                    else self.sampling)
        if self.sampling == "uniform" and self.clips > 1 and self.clip_starts == "whole_frames":
            sampling += " (whole-frame starts)"
        frame = (f"frames resized to {self.resize_to[0]}x{self.resize_to[1]}" if self.resize_to
                 else f"short side {scale}")
        where = ""
        if self.crop_positions == "half_grid":
            where = " floored to the half grid"
        elif self.crops > 1 and self.crop_positions == "quarter_grid":
            where = " on the quarter grid"
        notes = (([] if self.antialias else ["no antialias"])
                 + (["long side rounded"] if self.long_side == "rounded" else []))
        if notes:
            frame += f" ({', '.join(notes)})"
        return f"{self.clips}x{self.crops} {sampling}, {crop}px crops{where} of {frame}"
