"""Clip transforms on uint8 clips ``(N, C, H, W)`` (N = T*L frames), built on
``torchvision.transforms.v2``.

v2 transforms draw their random parameters once per call and apply them to every leading
index, so one crop and one flip hold for all frames of a clip, as the TSN code base's
Group* transforms do. Output: float ``(N, C, h, w)``, ImageNet-normalised.

- train: TSN multi-scale crop (:class:`MultiScaleCrop`), horizontal flip (switchable off
  for direction-sensitive datasets such as Something-Something), normalisation;
- evaluation: resize of the short side to ``scale_size``, centre crop ``crop_size``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def crop_candidates(
    height: int, width: int, size: int, scales: Sequence[float], max_distort: int
) -> list[tuple[int, int]]:
    """TSN's crop (h, w) candidates: sides ``int(min(H, W) * s)`` (within 3 px of ``size``
    snapped to it), height and width scale indices at most ``max_distort`` apart."""
    base = min(height, width)
    sides = [int(base * s) for s in scales]
    sides = [size if abs(s - size) < 3 else s for s in sides]
    return [
        (h, w)
        for i, h in enumerate(sides)
        for j, w in enumerate(sides)
        if abs(i - j) <= max_distort
    ]


def fixed_offsets(height: int, width: int, crop_h: int, crop_w: int) -> list[tuple[int, int]]:
    """The 13 fixed (top, left) positions of TSN's ``more_fix_crop``: corners, centre,
    edge midpoints and quarter points on a grid of step ``(W - w) // 4``, ``(H - h) // 4``."""
    sh, sw = (height - crop_h) // 4, (width - crop_w) // 4
    grid = [(0, 0), (0, 4), (4, 0), (4, 4), (2, 2),  # corners, centre
            (2, 0), (2, 4), (4, 2), (0, 2),  # edge midpoints
            (1, 1), (1, 3), (3, 1), (3, 3)]  # quarter points
    return [(i * sh, j * sw) for i, j in grid]


class MultiScaleCrop(nn.Module):
    """TSN's GroupMultiScaleCrop: a random candidate crop at one of 13 fixed positions,
    resized to ``size`` x ``size`` (bilinear), the same for every frame of the clip.

    >>> clip = torch.zeros(8, 3, 64, 80, dtype=torch.uint8)
    >>> MultiScaleCrop(56)(clip).shape
    torch.Size([8, 3, 56, 56])
    """

    def __init__(
        self, size: int, scales: Sequence[float] = (1, 0.875, 0.75, 0.66), max_distort: int = 1
    ) -> None:
        super().__init__()
        self.size, self.scales, self.max_distort = size, tuple(scales), max_distort

    def forward(self, clip: Tensor) -> Tensor:
        height, width = clip.shape[-2:]
        sizes = crop_candidates(height, width, self.size, self.scales, self.max_distort)
        crop_h, crop_w = sizes[int(torch.randint(len(sizes), ()))]
        crop_h, crop_w = min(crop_h, height), min(crop_w, width)
        offsets = fixed_offsets(height, width, crop_h, crop_w)
        top, left = offsets[int(torch.randint(len(offsets), ()))]
        return TF.resized_crop(clip, top, left, crop_h, crop_w, [self.size, self.size],
                               antialias=True)


def normalize() -> v2.Compose:
    """uint8 -> float in [0, 1] -> ImageNet mean/std."""
    return v2.Compose([v2.ToDtype(torch.float32, scale=True),
                       v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def train_transform(crop_size: int = 224, flip: bool = True,
                    scales: Sequence[float] = (1, 0.875, 0.75, 0.66)) -> v2.Compose:
    """Multi-scale crop, optional horizontal flip, normalisation."""
    steps: list[nn.Module] = [MultiScaleCrop(crop_size, scales)]
    if flip:
        steps.append(v2.RandomHorizontalFlip(0.5))
    steps.append(normalize())
    return v2.Compose(steps)


def eval_transform(crop_size: int = 224, scale_size: int = 256) -> v2.Compose:
    """Resize the short side to ``scale_size``, centre crop ``crop_size``, normalise."""
    return v2.Compose([v2.Resize(scale_size, antialias=True), v2.CenterCrop(crop_size),
                       normalize()])
