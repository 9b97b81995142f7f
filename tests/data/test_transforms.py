"""Clip transforms: one crop and one flip for all frames, TSN's crop geometry."""

import torch

from lightning_vid.data.transforms import (IMAGENET_MEAN, MultiScaleCrop, crop_candidates,
                                           eval_transform, fixed_offsets, train_transform)


def _clip(t=6, h=48, w=64):
    # every frame identical: any per-frame difference after the transform is a bug
    frame = torch.randint(0, 256, (3, h, w), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(0))
    return frame.expand(t, 3, h, w).clone()


def test_same_crop_and_flip_for_every_frame():
    clip = _clip()
    for seed in range(10):
        torch.manual_seed(seed)
        out = train_transform(32, flip=True)(clip)
        assert out.shape == (6, 3, 32, 32) and out.dtype == torch.float32
        assert torch.allclose(out, out[:1].expand_as(out))


def test_flip_can_be_switched_off():
    ramp = torch.arange(64, dtype=torch.uint8).expand(2, 3, 64, 64).clone()
    flips = set()
    for seed in range(20):
        torch.manual_seed(seed)
        with_flip = train_transform(64, flip=True, scales=(1,))(ramp)
        flips.add(bool(with_flip[0, 0, 0, 0] > with_flip[0, 0, 0, -1]))
        torch.manual_seed(seed)
        no_flip = train_transform(64, flip=False, scales=(1,))(ramp)
        assert no_flip[0, 0, 0, 0] < no_flip[0, 0, 0, -1]
    assert flips == {True, False}


def test_tsn_crop_geometry():
    assert (224, 224) in crop_candidates(256, 340, 224, (1, .875, .75, .66), 1)  # 224 snap
    sizes = crop_candidates(100, 100, 50, (1, .5), 0)
    assert sizes == [(100, 100), (50, 50)]
    offsets = fixed_offsets(100, 140, 60, 60)
    assert len(offsets) == 13 and (0, 0) in offsets and (40, 80) in offsets and (20, 40) in offsets


def _located(h: int, w: int) -> torch.Tensor:
    """(2, 3, H, W) uint8: channel 0 = row + 10, channel 1 = column + 10, channel 2 = 255, so
    every pixel of the frame is non-zero and says where it is."""
    rows = torch.arange(h)[:, None].expand(h, w) + 10
    cols = torch.arange(w)[None, :].expand(h, w) + 10
    frame = torch.stack([rows, cols, torch.full((h, w), 255)]).to(torch.uint8)
    return frame.expand(2, 3, h, w).clone()


def test_crop_stays_inside_the_frame():
    """Every output pixel comes from inside the frame: a crop reaching past an edge would be
    padded with zeros, which the resize blends into the border pixels."""
    h, w = 40, 90
    clip = _located(h, w)
    lefts, tops = set(), set()
    for seed in range(40):
        torch.manual_seed(seed)
        out = MultiScaleCrop(36)(clip).float()  # (2, 3, 36, 36), the same crop for both frames
        assert out.shape == (2, 3, 36, 36)
        assert (out[:, 2] > 254.5).all(), f"seed {seed}: padding inside the crop"
        assert out[:, 0].min() >= 10 - 0.5 and out[:, 0].max() <= h + 9 + 0.5
        assert out[:, 1].min() >= 10 - 0.5 and out[:, 1].max() <= w + 9 + 0.5
        lefts.add(round(float(out[0, 1, :, 0].mean())))
        tops.add(round(float(out[0, 0, 0].mean())))
    assert len(lefts) > 3 and len(tops) > 1  # the crops do move around the frame


def test_eval_is_centre_crop_of_resized_short_side_and_normalised():
    clip = torch.zeros(4, 3, 60, 80, dtype=torch.uint8)
    clip[..., 20:40, 30:50] = 255  # a centred bright square
    out = eval_transform(32, 48)(clip)
    assert out.shape == (4, 3, 32, 32)
    black = (0 - IMAGENET_MEAN[0]) / 0.229
    assert abs(out[0, 0, 0, 0].item() - black) < 1e-4 and out[0, 0, 16, 16] > 2


# ---- test views and the label-aware flip -----------------------------------------------------

import pytest  # noqa: E402

from lightning_vid.data.transforms import (CropViews, LabelAwareFlip, view_offsets,  # noqa: E402
                                           views_transform)


def _coords(h=40, w=60):
    """(1, 1, 3, H, W) float: channel 0 = row, channel 1 = column, to locate crops."""
    rows = torch.arange(h, dtype=torch.float32)[:, None].expand(h, w)
    cols = torch.arange(w, dtype=torch.float32)[None, :].expand(h, w)
    return torch.stack([rows, cols, torch.zeros(h, w)])[None, None]


def test_three_crops_cover_the_long_side_and_ten_crops_add_flips():
    views = CropViews(40, 3)(_coords())  # (K=1 clip) -> (3, 1, 3, 40, 40)
    assert views.shape == (3, 1, 3, 40, 40)
    lefts = [int(v[0, 1, 0, 0]) for v in views]
    assert lefts == [0, 10, 20] and int(views[2, 0, 1, 0, -1]) == 59  # left, centre, right edge
    tall = CropViews(40, 3)(_coords(60, 40))
    assert [int(v[0, 0, 0, 0]) for v in tall] == [0, 10, 20]  # portrait: top, centre, bottom
    ten = CropViews(20, 10)(_coords())
    assert ten.shape == (10, 1, 3, 20, 20)
    assert torch.equal(ten[5:], ten[:5].flip(-1))  # the 5 crops, then their mirror images
    assert view_offsets(40, 60, 20, 10)[:4] == [(0, 0), (0, 40), (20, 0), (20, 40)]


def test_views_transform_is_clip_major_and_keeps_frames_together():
    clips = torch.randint(0, 255, (2, 4, 3, 48, 64), dtype=torch.uint8)  # 2 clips x 4 frames
    out = views_transform(32, 32, 3)(clips)
    assert out.shape == (6, 4, 3, 32, 32) and out.dtype == torch.float32
    again = views_transform(32, 32, 3)(clips[1:])
    assert torch.allclose(out[3:], again)  # views 3..5 are clip 1's three crops


@pytest.mark.parametrize("policy", ["swap_label", "no_flip", "flip"])
def test_label_aware_flip(policy):
    ramp = torch.arange(8, dtype=torch.float32).expand(2, 3, 4, 8)
    flip = LabelAwareFlip({3: 4, 4: 3}, policy)
    seen = set()
    for seed in range(30):
        torch.manual_seed(seed)
        clip, label = flip(ramp, 3)
        flipped = bool(clip[0, 0, 0, 0] > clip[0, 0, 0, -1])
        seen.add((flipped, label))
        assert flip(ramp, 7)[1] == 7  # classes without a partner keep their label
    expected = {"swap_label": {(False, 3), (True, 4)}, "no_flip": {(False, 3)},
                "flip": {(False, 3), (True, 3)}}[policy]
    assert seen == expected
