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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Optional

from torch import Tensor

from lightning_vid.data.sampling import ClipSampler, OutOfBound
from lightning_vid.data.transforms import Crops, eval_transform, views_transform

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
    """

    sampling: EvalSampling = "centre"
    clips: int = 1
    crops: Crops = 1
    crop_size: Optional[int] = None
    scale_size: Optional[int] = None
    tempo_stride: int = 2

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

    @property
    def views(self) -> int:
        """V, the number of views per video."""
        return self.clips * self.crops

    def sizes(self, crop_size: int, scale_size: int) -> tuple[int, int]:
        """``(crop, scale)`` after applying the data module's defaults."""
        scale = self.scale_size or scale_size
        crop = self.crop_size or (scale if self.crops == 3 else crop_size)
        return crop, scale

    def sampler(self, num_segments: int, frames_per_segment: int = 1, window: int = 64,
                out_of_bound: OutOfBound = "loop") -> ClipSampler:
        """The index sampler: ``(T*L,)`` for one clip, ``(N, T*L)`` for several."""
        return ClipSampler(self.sampling, num_segments, frames_per_segment,
                           num_clips=self.clips, window=window, out_of_bound=out_of_bound,
                           tempo_stride=self.tempo_stride)

    def transform(self, crop_size: int, scale_size: int) -> Callable[[Tensor], Tensor]:
        """The view transform: ``(T*L, C, H, W)`` for a single view (V = 1), else
        ``(V, T*L, C, h, w)``."""
        crop, scale = self.sizes(crop_size, scale_size)
        if self.views == 1:
            return eval_transform(crop, scale)
        return views_transform(crop, scale, self.crops)

    def describe(self, crop_size: int, scale_size: int) -> str:
        """The protocol in words, e.g. ``"10x3 dense, 256px crops of short side 256"``."""
        crop, scale = self.sizes(crop_size, scale_size)
        sampling = (f"tempo tau={self.tempo_stride}" if self.sampling == "tempo"
                    else self.sampling)
        return f"{self.clips}x{self.crops} {sampling}, {crop}px crops of short side {scale}"
