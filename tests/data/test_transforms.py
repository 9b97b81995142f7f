"""Clip transforms: one crop and one flip for all frames, TSN's crop geometry."""

import torch

from lightning_vid.data.transforms import (IMAGENET_MEAN, MultiScaleCrop, crop_candidates,
                                           eval_transform, fixed_offsets, train_transform)


def _clip(t=6, h=48, w=64):
    # every frame identical: any per-frame difference after the transform is a bug
    frame = torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
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


def test_crop_stays_inside_the_frame():
    clip = _clip(h=40, w=90)
    for seed in range(20):
        torch.manual_seed(seed)
        assert MultiScaleCrop(36)(clip).shape == (6, 3, 36, 36)


def test_eval_is_centre_crop_of_resized_short_side_and_normalised():
    clip = torch.zeros(4, 3, 60, 80, dtype=torch.uint8)
    clip[..., 20:40, 30:50] = 255  # a centred bright square
    out = eval_transform(32, 48)(clip)
    assert out.shape == (4, 3, 32, 32)
    black = (0 - IMAGENET_MEAN[0]) / 0.229
    assert abs(out[0, 0, 0, 0].item() - black) < 1e-4 and out[0, 0, 16, 16] > 2
