"""The authors' evaluation rules as facts: worked examples whose expected numbers were computed
by running the authors' own code (TSM's ``ops/transforms.py`` ``GroupFullResSample``,
``GroupOverSample``, ``GroupMultiScaleCrop.fill_fix_offset``; TANet's ``ops/dataset.py``
``_get_test_indices``; TCM's ``main_something.py`` validation transform) on the same sizes, in a
scratch folder outside the project. None of their code is here: only the numbers it gave.

Each test goes through what a recipe builds (``EvalProtocol`` -> sampler / transform), so the
option a recipe selects is the one checked.
"""

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from lightning_vid.data.protocol import EvalProtocol
from lightning_vid.data.sampling import uniform_clip_indices
from lightning_vid.data.transforms import IMAGENET_MEAN, IMAGENET_STD, view_offsets


def _coordinate_clip(height: int, width: int) -> torch.Tensor:
    """(1, 3, H, W) uint8 whose pixels hold their own position: channel 0 = x % 256,
    channel 1 = y % 256, channel 2 = x // 256 + 4 * (y // 256)."""
    y, x = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return torch.stack([x % 256, y % 256, x // 256 + 4 * (y // 256)]).to(torch.uint8)[None]


def _top_left(view: torch.Tensor) -> tuple[int, int]:
    """(top, left) of a normalised view of a coordinate clip: its first pixel, un-normalised."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    pixel = (view.reshape(-1, *view.shape[-3:])[0] * std + mean)[:, 0, 0].mul(255).round().long()
    x, y, high = pixel.tolist()
    return y + 256 * (high // 4), x + 256 * (high % 4)


# (H, W): what TSM's GroupFullResSample(256, flip=False) and GroupOverSample(224) crop, as
# (top, left), read back from their output on a coordinate image (listed in our order: left,
# centre, right; corners then centre).
FULL_RES_3 = {
    (256, 340): [(0, 0), (0, 42), (0, 84)],
    (256, 341): [(0, 0), (0, 42), (0, 84)],  # edges: the right crop at 85
    (256, 455): [(0, 0), (0, 98), (0, 196)],  # edges: centre 100, right 199
    (340, 256): [(42, 0), (42, 0), (42, 0)],  # portrait: three times the middle crop
}
OVERSAMPLE_10 = {
    (256, 340): [(0, 0), (0, 116), (32, 0), (32, 116), (16, 58)],
    (256, 341): [(0, 0), (0, 116), (32, 0), (32, 116), (16, 58)],  # edges: right 117
    (256, 455): [(0, 0), (0, 228), (32, 0), (32, 228), (16, 114)],  # edges: right 231, 116
    (340, 256): [(0, 0), (0, 32), (116, 0), (116, 32), (58, 16)],
}


@pytest.mark.parametrize("size", sorted(FULL_RES_3))
def test_three_full_resolution_crops_sit_on_the_quarter_grid(size):
    height, width = size
    protocol = EvalProtocol("centre", crops=3, crop_positions="quarter_grid")
    views = protocol.transform(224, 256)(_coordinate_clip(height, width)[None])  # (3, 1, 3, s, s)
    assert views.shape[-2:] == (256, 256)
    assert [_top_left(v) for v in views] == FULL_RES_3[size]
    assert view_offsets(height, width, 256, 3, "quarter_grid") == FULL_RES_3[size]


@pytest.mark.parametrize("size", sorted(OVERSAMPLE_10))
def test_ten_crops_sit_on_the_quarter_grid_and_their_flips_follow(size):
    height, width = size
    protocol = EvalProtocol("centre", crops=10, crop_positions="quarter_grid")
    views = protocol.transform(224, 256)(_coordinate_clip(height, width)[None])
    assert views.shape[:2] == (10, 1) and views.shape[-2:] == (224, 224)
    assert [_top_left(v) for v in views[:5]] == OVERSAMPLE_10[size]
    assert torch.equal(views[5:], views[:5].flip(-1))  # the mirrored five


def test_edges_stay_the_default_and_differ_only_where_the_grid_falls_short():
    """Generic protocols keep their crops: at W - crop divisible by 4 the two rules agree."""
    assert EvalProtocol().crop_positions == "edges"
    assert view_offsets(256, 340, 256, 3) == FULL_RES_3[(256, 340)]
    assert view_offsets(256, 455, 256, 3) == [(0, 0), (0, 100), (0, 199)]
    assert view_offsets(256, 455, 224, 10)[:2] == [(0, 0), (0, 231)]
    with pytest.raises(ValueError, match="crop_positions"):
        EvalProtocol(crop_positions="grid")


# TANet's uniform-2 test indices (0-based), from its _get_test_indices.
TANET_UNIFORM_2 = {
    (30, 4): [[0, 7, 15, 22], [6, 13, 21, 28]],
    (45, 8): [[0, 5, 11, 16, 22, 28, 33, 39], [4, 9, 15, 20, 26, 32, 37, 43]],
    (100, 8): [[0, 12, 25, 37, 50, 62, 75, 87], [11, 23, 36, 48, 61, 73, 86, 98]],
    (37, 8): [[0, 4, 9, 13, 18, 23, 27, 32], [3, 7, 12, 16, 21, 26, 30, 35]],
}


@pytest.mark.parametrize("case", sorted(TANET_UNIFORM_2))
def test_tanet_uniform_clips_start_on_whole_frames(case):
    num_frames, segments = case
    sampler = EvalProtocol("uniform", clips=2, clip_starts="whole_frames").sampler(segments)
    assert sampler(num_frames).tolist() == TANET_UNIFORM_2[case]


def test_fractional_clip_starts_are_one_frame_later_where_the_fractions_add_up():
    """n = 30, T = 4: tick 7.5, the second clip starts at 6.5; 6.5 + 7.5 = 14 against
    TANet's 6 + 7.5 = 13.5 -> 13."""
    assert uniform_clip_indices(30, 4).tolist()[1] == [6, 14, 21, 29]
    assert EvalProtocol("uniform", clips=2).clip_starts == "fractional"


def test_tcm_resizes_every_frame_to_240_by_320_before_the_centre_crop():
    """TCM's validation: GroupScale((240, 320)) then GroupCenterCrop(224): the crop of a
    100 x 176 frame (SSv1's size) starts at (8, 48) of the stretched frame."""
    clip = torch.randint(0, 256, (2, 3, 100, 176), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(0))
    protocol = EvalProtocol(resize_to=[240, 320])
    out = protocol.transform(224, 256)(clip)
    stretched = TF.resize(clip, [240, 320], antialias=True)[..., 8:232, 48:272]
    expected = TF.normalize(stretched.float() / 255, IMAGENET_MEAN, IMAGENET_STD)
    assert torch.allclose(out, expected, atol=1e-6)
    assert "frames resized to 240x320" in protocol.describe(224, 256)
    with pytest.raises(ValueError, match="resize_to"):
        EvalProtocol(resize_to=[240])
