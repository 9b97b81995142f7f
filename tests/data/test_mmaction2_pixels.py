"""mmaction2's test pipelines as facts: worked examples whose expected numbers were computed by
running mmaction2's own transforms (``mmaction/datasets/transforms``: ``Resize(scale=(-1, 256))``
on mmcv's ``rescale_size`` and OpenCV's ``INTER_LINEAR``, ``CenterCrop``, ``ThreeCrop``,
``TenCrop``, ``SampleFrames``, ``DenseSampleFrames``; mmaction2 1.2.0, mmcv 2.1.0) on the same
sizes, in a scratch folder outside the project. None of their code is here: only the numbers
it gave.

The mmaction2 commands of ``docs/model_zoo.md`` select ``crop_positions: half_grid``,
``antialias: false`` and ``long_side: rounded``; each test goes through ``EvalProtocol``, so
the options the commands select are the ones checked.
"""

import pytest
import torch

from lightning_vid.data.protocol import EvalProtocol
from lightning_vid.data.transforms import IMAGENET_MEAN, IMAGENET_STD, resized_size

MMACTION2 = dict(crop_positions="half_grid", antialias=False, long_side="rounded")


def _coordinate_clip(height: int, width: int) -> torch.Tensor:
    """(1, 3, H, W) uint8 whose pixels hold their own position: channel 0 = x % 256,
    channel 1 = y % 256, channel 2 = x // 256 + 4 * (y // 256)."""
    y, x = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return torch.stack([x % 256, y % 256, x // 256 + 4 * (y // 256)]).to(torch.uint8)[None]


def _levels(view: torch.Tensor) -> torch.Tensor:
    """A normalised view back in 0-255 levels (float)."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (view * std + mean) * 255


def _top_left(view: torch.Tensor) -> tuple[int, int]:
    x, y, high = _levels(view.reshape(-1, *view.shape[-3:])[0])[:, 0, 0].round().long().tolist()
    return y + 256 * (high // 4), x + 256 * (high % 4)


# (H, W) of the frame given to the crop (already resized): mmaction2's ThreeCrop(256) and
# CenterCrop(224) as (top, left), read back from their output on a coordinate image (ThreeCrop
# listed in our order: start, middle, end).
THREE_CROP = {
    (256, 455): [(0, 0), (0, 99), (0, 198)],  # quarter_grid: 98, 196; edges: 100, 199
    (256, 340): [(0, 0), (0, 42), (0, 84)],
    (256, 341): [(0, 0), (0, 42), (0, 84)],
    (256, 602): [(0, 0), (0, 173), (0, 346)],  # quarter_grid: 172, 344
    (455, 256): [(0, 0), (99, 0), (198, 0)],  # portrait: along the height
}
CENTRE_CROP = {
    (256, 455): (16, 115),  # v2.CenterCrop: round(115.5) = 116
    (256, 340): (16, 58),
    (256, 341): (16, 58),
    (256, 602): (16, 189),
    (455, 256): (115, 16),
}
# TenCrop(224): the five unflipped crops (corners, centre): the quarter grid
TEN_CROP = {
    (256, 455): [(0, 0), (0, 228), (32, 0), (32, 228), (16, 114)],
    (256, 602): [(0, 0), (0, 376), (32, 0), (32, 376), (16, 188)],
}
# Resize(scale=(-1, 256)): (H, W) in -> (H, W) out
RESIZED = {
    (100, 178): (256, 456),  # SSv1's 100-px frames; torchvision's Resize(256): 455
    (100, 235): (256, 602),
    (720, 1280): (256, 455),
    (272, 640): (256, 602),
    (331, 588): (256, 455),  # TSM's 331-px Kinetics frames; torchvision: 454
    (240, 427): (256, 455),
    (427, 240): (455, 256),
}


@pytest.mark.parametrize("size", sorted(THREE_CROP))
def test_three_crops_sit_at_multiples_of_the_floored_half_step(size):
    protocol = EvalProtocol("centre", crops=3, **MMACTION2)
    views = protocol.transform(224, 256)(_coordinate_clip(*size)[None])  # frames already 256
    assert views.shape[:2] == (3, 1) and views.shape[-2:] == (256, 256)
    assert [_top_left(v) for v in views] == THREE_CROP[size]


@pytest.mark.parametrize("size", sorted(CENTRE_CROP))
def test_the_centre_crop_is_floored(size):
    view = EvalProtocol(**MMACTION2).transform(224, 256)(_coordinate_clip(*size))
    assert view.shape == (1, 3, 224, 224)
    assert _top_left(view) == CENTRE_CROP[size]


@pytest.mark.parametrize("size", sorted(TEN_CROP))
def test_ten_crops_sit_on_the_quarter_grid(size):
    views = EvalProtocol(crops=10, **MMACTION2).transform(224, 256)(_coordinate_clip(*size)[None])
    assert [_top_left(v) for v in views[:5]] == TEN_CROP[size]
    assert torch.equal(views[5:], views[:5].flip(-1))


@pytest.mark.parametrize("size", sorted(RESIZED))
def test_the_resized_long_side_is_rounded(size):
    assert resized_size(*size, 256, "rounded") == RESIZED[size]
    clip = torch.zeros(1, 3, *size, dtype=torch.uint8)
    resized = EvalProtocol(**MMACTION2).transform(224, 256).transforms[0](clip)  # the resize
    assert tuple(resized.shape[-2:]) == RESIZED[size]


def test_truncated_long_side_stays_the_default():
    assert EvalProtocol().long_side == "truncated" and EvalProtocol().antialias
    assert resized_size(100, 178, 256) == (256, 455)
    assert resized_size(331, 588, 256) == (256, 454)
    assert EvalProtocol(**MMACTION2).describe(224, 256) == (
        "1x1 centre, 224px crops floored to the half grid of short side 256 (no antialias, "
        "long side rounded)")
    with pytest.raises(ValueError, match="long_side"):
        EvalProtocol(long_side="round")
    with pytest.raises(ValueError, match="crop_positions"):
        EvalProtocol(crop_positions="halves")


# mmaction2's Resize(scale=(-1, 4)) of the 10 x 17 image (x * 37 + y * 91) % 256 (every
# channel alike): 4 x 7 (the long side 6.8, rounded), OpenCV's INTER_LINEAR.
PATTERN_RESIZED = [[95, 184, 82, 108, 198, 96, 122], [66, 147, 182, 80, 142, 195, 93],
                   [102, 127, 108, 115, 141, 66, 110], [201, 99, 152, 23, 112, 148, 36]]


def test_the_resize_without_antialias_gives_opencvs_values_within_one_level():
    y, x = torch.meshgrid(torch.arange(10), torch.arange(17), indexing="ij")
    clip = ((x * 37 + y * 91) % 256).to(torch.uint8).expand(1, 3, 10, 17)
    expected = torch.tensor(PATTERN_RESIZED, dtype=torch.float32)
    protocol = EvalProtocol(crop_size=4, scale_size=4, **MMACTION2)
    resized = protocol.transform(4, 4).transforms[0](clip)
    assert resized.shape == (1, 3, 4, 7)
    assert (resized.float() - expected).abs().max() <= 1
    # the default (antialiased, as PIL's bilinear) low-pass filters this pattern: far off
    antialiased = EvalProtocol(long_side="rounded").transform(4, 4).transforms[0](clip)
    assert (antialiased.float() - expected).abs().max() > 20


# SampleFrames(clip_len=1, test_mode=True) and DenseSampleFrames(num_clips=8, test_mode=True)
# frame indices (VideoDataset: start_index 0): our centre, twice and dense sampling already
# give them, no option needed.
SAMPLE_FRAMES = {
    ("twice", 45, 8): [[2, 8, 14, 19, 25, 30, 36, 42], [0, 5, 11, 16, 22, 28, 33, 39]],
    ("centre", 132, 8): [[8, 24, 41, 57, 74, 90, 107, 123]],
    ("centre", 250, 16): [[7, 23, 39, 54, 70, 85, 101, 117, 132, 148, 164, 179, 195, 210, 226,
                           242]],
}
DENSE_132 = {0: [0, 8, 16, 24, 32, 40, 48, 56], 1: [7, 15, 23, 31, 39, 47, 55, 63],
             9: [68, 76, 84, 92, 100, 108, 116, 124]}


@pytest.mark.parametrize("case", sorted(SAMPLE_FRAMES))
def test_mmaction2s_test_indices_are_ours(case):
    sampling, frames, segments = case
    protocol = EvalProtocol(sampling, clips=2 if sampling == "twice" else 1)
    indices = protocol.sampler(segments)(frames).reshape(-1, segments)
    assert indices.tolist() == SAMPLE_FRAMES[case]


def test_mmaction2s_dense_indices_are_ours():
    indices = EvalProtocol("dense", clips=10).sampler(8)(132)
    assert indices.shape == (10, 8)
    assert {clip: indices[clip].tolist() for clip in DENSE_132} == DENSE_132
    assert EvalProtocol("dense", clips=10).sampler(8)(45)[0].tolist() == [0, 8, 16, 24, 32, 40,
                                                                          3, 11]
