"""Clip transforms on uint8 clips ``(N, C, H, W)`` (N = T*L frames), built on
``torchvision.transforms.v2``.

v2 transforms draw their random parameters once per call and apply them to every leading
index, so one crop and one flip hold for all frames of a clip, as the TSN code base's
Group* transforms do. Output: float ``(N, C, h, w)``, ImageNet-normalised.

- train: TSN multi-scale crop (:class:`MultiScaleCrop`), horizontal flip (switchable off
  for direction-sensitive datasets such as Something-Something), normalisation;
- evaluation: resize of the short side to ``scale_size``, centre crop ``crop_size``;
- test views (:func:`views_transform`): 1, 3 or 10 fixed crops of every clip of a video,
  ``(K, N, C, H, W)`` -> ``(K*V, N, C, h, w)``;
- :class:`LabelAwareFlip`: the training flip for datasets with left/right classes, applied to
  ``(clip, label)`` together (swap the label, or do not flip those classes).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal, Mapping, Optional, Sequence

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

    The draw is the authors' two-stage one (TSM, TANet, TEA, TDN, TCM ``ops/transforms.py``):
    a (height, width) pair uniformly among :func:`crop_candidates` (repeats count), then a
    position uniformly among the 13 of :func:`fixed_offsets` (repeats count);
    :meth:`box_distribution` enumerates the resulting probability of every box.

    >>> clip = torch.zeros(8, 3, 64, 80, dtype=torch.uint8)
    >>> MultiScaleCrop(56)(clip).shape
    torch.Size([8, 3, 56, 56])
    """

    def __init__(
        self, size: int, scales: Sequence[float] = (1, 0.875, 0.75, 0.66), max_distort: int = 1
    ) -> None:
        super().__init__()
        self.size, self.scales, self.max_distort = size, tuple(scales), max_distort

    def _choices(self, height: int, width: int) -> list[list[tuple[int, int, int, int]]]:
        """For each candidate size, the 13 boxes ``(top, left, h, w)`` it may take."""
        sizes = crop_candidates(height, width, self.size, self.scales, self.max_distort)
        boxes = []
        for crop_h, crop_w in sizes:
            crop_h, crop_w = min(crop_h, height), min(crop_w, width)
            boxes.append([(top, left, crop_h, crop_w)
                          for top, left in fixed_offsets(height, width, crop_h, crop_w)])
        return boxes

    def sample_box(self, height: int, width: int) -> tuple[int, int, int, int]:
        """One random box ``(top, left, h, w)`` (torch's default generator)."""
        choices = self._choices(height, width)
        boxes = choices[int(torch.randint(len(choices), ()))]
        return boxes[int(torch.randint(len(boxes), ()))]

    def box_distribution(self, height: int, width: int) -> dict[tuple[int, int, int, int],
                                                                Fraction]:
        """Every box ``(top, left, h, w)`` the crop can take on an ``H x W`` frame, with its
        exact probability.

        >>> dist = MultiScaleCrop(12).box_distribution(16, 20)
        >>> len(dist), sum(dist.values()), dist[(0, 0, 12, 12)]
        (36, Fraction(1, 1), Fraction(7, 130))
        """
        choices = self._choices(height, width)
        dist: dict[tuple[int, int, int, int], Fraction] = {}
        for boxes in choices:
            for box in boxes:
                dist[box] = dist.get(box, Fraction(0)) + Fraction(1, len(choices) * len(boxes))
        return dist

    def forward(self, clip: Tensor) -> Tensor:
        top, left, crop_h, crop_w = self.sample_box(*clip.shape[-2:])
        return TF.resized_crop(clip, top, left, crop_h, crop_w, [self.size, self.size],
                               antialias=True)


def normalize() -> v2.Compose:
    """uint8 -> float in [0, 1] -> ImageNet mean/std."""
    return v2.Compose([v2.ToDtype(torch.float32, scale=True),
                       v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def train_transform(crop_size: int = 224, flip: bool = True,
                    scales: Sequence[float] = (1, 0.875, 0.75, 0.66),
                    resize_to: Optional[tuple[int, int]] = None) -> v2.Compose:
    """Optional resize of every frame to ``resize_to`` = (H, W) (aspect ratio ignored: TCM
    trains on frames stretched to 240 x 320), multi-scale crop, optional horizontal flip,
    normalisation."""
    steps: list[nn.Module] = [] if resize_to is None else [v2.Resize(list(resize_to),
                                                                      antialias=True)]
    steps.append(MultiScaleCrop(crop_size, scales))
    if flip:
        steps.append(v2.RandomHorizontalFlip(0.5))
    steps.append(normalize())
    return v2.Compose(steps)


def eval_transform(crop_size: int = 224, scale_size: int = 256,
                   resize_to: Optional[tuple[int, int]] = None,
                   positions: CropPositions = "edges", antialias: bool = True,
                   long_side: LongSide = "truncated") -> v2.Compose:
    """Resize the short side to ``scale_size`` (or every frame to ``resize_to`` = (H, W), see
    :func:`resize`), centre crop ``crop_size`` (rounded, or floored for ``half_grid``: see
    :func:`view_offsets`), normalise."""
    crop = (CropViews(crop_size, 1, positions, single=True) if positions == "half_grid"
            else v2.CenterCrop(crop_size))
    return v2.Compose([resize(scale_size, resize_to, antialias, long_side), crop, normalize()])


# --------------------------------------------------------------------------------------------
# test views: fixed crops of one or many clips
# --------------------------------------------------------------------------------------------

Crops = Literal[1, 3, 10]
#: where the 3 and 10 test crops sit (see :func:`view_offsets`)
CropPositions = Literal["edges", "quarter_grid", "half_grid"]
#: how the resized long side is made an integer (see :func:`resized_size`)
LongSide = Literal["truncated", "rounded"]


def view_offsets(height: int, width: int, size: int, crops: Crops,
                 positions: CropPositions = "edges") -> list[tuple[int, int]]:
    """(top, left) of the ``size`` x ``size`` test crops.

    - 1: the centre (as ``v2.CenterCrop``: ``round((H - size) / 2)``; floored for ``half_grid``);
    - 3: start, centre and end of the frame's width (or, for ``edges``, of its longer side);
    - 10: the four corners and the centre (TSN's oversampling; their flips are added by
      :class:`CropViews`).

    ``positions`` says where the crops go:

    - ``edges``: the outer crops touch the frame's edges (offset ``W - size``) and the centre
      is rounded, ``round((W - size) / 2)``; 3 crops run along the longer side, so they cover
      the frame at ``size`` = short side (mmaction2's ThreeCrop covers it alike);
    - ``quarter_grid``: the TSN code base's rule (``GroupMultiScaleCrop.fill_fix_offset``,
      used by its ``GroupFullResSample`` and ``GroupOverSample``, hence by the test scripts of
      TSM, TANet, TEA and TDN): offsets are multiples of the steps ``(W - size) // 4`` and
      ``(H - size) // 4``: 0, 2 or 4 steps. When ``W - size`` is not a multiple of 4 the far
      crop stops short of the edge (by ``(W - size) % 4`` px) and the centre moves left.
      The 3 crops always run along the width (left, centre, right at 2 vertical steps), as
      theirs do: on a portrait frame at ``size`` = width the three are the same crop;
    - ``half_grid``: mmaction2's rule (its ``CenterCrop``, ``ThreeCrop`` and ``TenCrop``):
      every offset floored. The centre crop at ``((H - size) // 2, (W - size) // 2)``, also
      for 1 crop; 3 crops at 0, 1 and 2 steps of ``(W - size) // 2`` along the longer side
      (the far crop 1 px short of the edge when ``W - size`` is odd); 10 crops on the
      quarter grid, as ``quarter_grid``.

    >>> view_offsets(256, 341, 256, 3), view_offsets(256, 341, 256, 3, "quarter_grid")
    ([(0, 0), (0, 42), (0, 85)], [(0, 0), (0, 42), (0, 84)])
    >>> view_offsets(340, 256, 256, 3), view_offsets(340, 256, 256, 3, "quarter_grid")
    ([(0, 0), (42, 0), (84, 0)], [(42, 0), (42, 0), (42, 0)])
    >>> view_offsets(256, 455, 256, 3, "half_grid"), view_offsets(256, 455, 224, 1, "half_grid")
    ([(0, 0), (0, 99), (0, 198)], [(16, 115)])
    """
    if positions not in ("edges", "quarter_grid", "half_grid"):
        raise ValueError("positions must be 'edges', 'quarter_grid' or 'half_grid', got "
                         f"{positions!r}")
    dy, dx = max(height - size, 0), max(width - size, 0)
    centre = (int(round(dy / 2.0)), int(round(dx / 2.0)))
    if positions == "half_grid":
        centre = (dy // 2, dx // 2)
    if crops == 1:
        return [centre]
    if crops not in (3, 10):
        raise ValueError(f"crops must be 1, 3 or 10, got {crops}")
    if positions == "half_grid" and crops == 3:
        if width >= height:
            return [(centre[0], x * (dx // 2)) for x in range(3)]
        return [(y * (dy // 2), centre[1]) for y in range(3)]
    if positions != "edges":
        sy, sx = dy // 4, dx // 4
        if crops == 3:
            return [(2 * sy, 0), (2 * sy, 2 * sx), (2 * sy, 4 * sx)]
        return [(0, 0), (0, 4 * sx), (4 * sy, 0), (4 * sy, 4 * sx), (2 * sy, 2 * sx)]
    if crops == 3:
        if width >= height:
            return [(centre[0], x) for x in (0, centre[1], dx)]
        return [(y, centre[1]) for y in (0, centre[0], dy)]
    return [(0, 0), (0, dx), (dy, 0), (dy, dx), centre]


class CropViews(nn.Module):
    """Fixed test crops of every clip: ``(N, C, H, W)`` or ``(K, N, C, H, W)`` (K clips) ->
    ``(K*V, N, C, size, size)``, V = ``crops``, clip-major (the V crops of clip 0 first; the
    authors' scripts are crop-major: the fusions are means, so the order changes no score).

    >>> CropViews(32, 3)(torch.zeros(2, 8, 3, 40, 60)).shape
    torch.Size([6, 8, 3, 32, 32])
    """

    def __init__(self, size: int, crops: Crops = 1, positions: CropPositions = "edges",
                 single: bool = False) -> None:
        super().__init__()
        self.size, self.crops, self.positions, self.single = size, crops, positions, single

    def forward(self, clips: Tensor) -> Tensor:
        if self.single:  # one clip, one crop: (N, C, H, W) -> (N, C, size, size)
            top, left = view_offsets(*clips.shape[-2:], self.size, 1, self.positions)[0]
            return TF.crop(clips, top, left, self.size, self.size)
        clips = clips[None] if clips.ndim == 4 else clips  # (K, N, C, H, W)
        height, width = clips.shape[-2:]
        views = [TF.crop(clips, top, left, self.size, self.size) for top, left in
                 view_offsets(height, width, self.size, self.crops, self.positions)]
        if self.crops == 10:
            views += [TF.horizontal_flip(view) for view in views]
        return torch.stack(views, dim=1).flatten(0, 1)  # (K, V, N, C, s, s) -> (K*V, N, C, s, s)


def resized_size(height: int, width: int, short: int,
                 long_side: LongSide = "truncated") -> tuple[int, int]:
    """(H, W) of a frame whose short side is resized to ``short``, aspect ratio kept. The long
    side ``L * short / S`` is ``truncated`` to an integer (torchvision's and PIL's ``Resize``
    of an int, hence the TSN code base's ``GroupScale``) or ``rounded`` to the nearest one
    (mmcv's ``rescale_size``, hence mmaction2's ``Resize(scale=(-1, 256))``).

    >>> resized_size(100, 178, 256), resized_size(100, 178, 256, "rounded")
    ((256, 455), (256, 456))
    """
    if long_side not in ("truncated", "rounded"):
        raise ValueError(f"long_side must be 'truncated' or 'rounded', got {long_side!r}")
    if long_side == "truncated":
        if width <= height:
            return int(short * height / width), short
        return short, int(short * width / height)
    scale = short / min(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


class ShortSideResize(nn.Module):
    """Bilinear resize of the short side to ``size`` (:func:`resized_size`), with or without
    ``antialias`` (without: the 2 x 2 nearest pixels only, as OpenCV's ``INTER_LINEAR``)."""

    def __init__(self, size: int, antialias: bool = True,
                 long_side: LongSide = "truncated") -> None:
        super().__init__()
        self.size, self.antialias, self.long_side = size, antialias, long_side

    def forward(self, clip: Tensor) -> Tensor:
        size = resized_size(*clip.shape[-2:], self.size, self.long_side)
        return TF.resize(clip, list(size), antialias=self.antialias)


def resize(scale_size: int, resize_to: Optional[tuple[int, int]] = None,
           antialias: bool = True, long_side: LongSide = "truncated") -> nn.Module:
    """The evaluation resize (bilinear): the short side to ``scale_size`` (aspect ratio kept,
    the long side made an integer as ``long_side`` says: :func:`resized_size`), or, with
    ``resize_to = (H, W)``, every frame to exactly H x W (aspect ratio ignored: TCM).
    ``antialias`` (default) low-pass filters a shrinking frame first, as PIL's bilinear
    ``resize`` of the TSN code base does; ``False`` interpolates the 2 x 2 nearest pixels
    only, as OpenCV's ``INTER_LINEAR`` (mmcv's ``imresize``, mmaction2) does."""
    if resize_to is not None:
        return v2.Resize(list(resize_to), antialias=antialias)
    if antialias and long_side == "truncated":
        return v2.Resize(scale_size, antialias=True)
    return ShortSideResize(scale_size, antialias, long_side)


def views_transform(crop_size: int = 224, scale_size: int = 256, crops: Crops = 1,
                    positions: CropPositions = "edges",
                    resize_to: Optional[tuple[int, int]] = None, antialias: bool = True,
                    long_side: LongSide = "truncated") -> v2.Compose:
    """Test views: resize (:func:`resize`), take ``crops`` fixed crops of ``crop_size`` from
    every clip (at ``positions``), normalise. ``(K, N, C, H, W)`` -> ``(K*crops, N, C, s, s)``."""
    return v2.Compose([resize(scale_size, resize_to, antialias, long_side),
                       CropViews(crop_size, crops, positions), normalize()])


# --------------------------------------------------------------------------------------------
# horizontal flip that knows about left/right classes
# --------------------------------------------------------------------------------------------

Directional = Literal["flip", "swap_label", "no_flip"]


class LabelAwareFlip:
    """Random horizontal flip of a whole clip that keeps direction classes right.

    Args:
        pairs: class index -> its mirror class (both ways), e.g. from
            :func:`~lightning_vid.data.annotations.left_right_pairs`.
        policy: ``"flip"``: flip any clip, label unchanged; ``"swap_label"``: a flipped clip of
            a paired class takes its partner's label (TAM, TDN, mmaction2 on SSv2);
            ``"no_flip"``: never flip a clip of a paired class (TCM's selective flip).
        p: flip probability.

    Called as ``flip(clip, label) -> (clip, label)`` on ``(..., C, H, W)`` clips.
    """

    def __init__(self, pairs: Mapping[int, int], policy: Directional = "swap_label",
                 p: float = 0.5) -> None:
        self.pairs, self.policy, self.p = dict(pairs), policy, p

    def __call__(self, clip: Tensor, label: int) -> tuple[Tensor, int]:
        if self.policy == "no_flip" and label in self.pairs:
            return clip, label
        if float(torch.rand(())) >= self.p:
            return clip, label
        if self.policy == "swap_label":
            label = self.pairs.get(label, label)
        return TF.horizontal_flip(clip), label
