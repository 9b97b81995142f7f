"""The authors' training distributions as facts: worked examples whose expected values were
computed by running the authors' code (TSM's ``ops/transforms.py`` ``GroupMultiScaleCrop`` with
``random.choice`` enumerated, ``ops/dataset.py`` ``_sample_indices`` drawn 20 000 times) in a
scratch folder outside the project; only the numbers are here. Each recipe's choices (flip
policy and pairs, TCM's 240 x 320 frames) are checked on the data module the recipe builds.
"""

from fractions import Fraction
from pathlib import Path

import pytest
import torch
import yaml
from torchvision.transforms.v2 import functional as TF

from lightning_vid.data.datamodule import VideoDataModule
from lightning_vid.data.sampling import segment_indices
from lightning_vid.data.transforms import MultiScaleCrop

RECIPES = Path(__file__).resolve().parents[2] / "lightning_vid" / "configs" / "recipes"

# GroupMultiScaleCrop(12) on a 20 x 16 (W x H) frame: (top, left, h, w) -> probability x 130
# (their 10 (w, h) pairs, 4 of them 12 x 12 after the snap to 12, times 13 positions).
AUTHORS_20x16 = {
    (0, 0, 12, 12): 7, (0, 0, 12, 16): 1, (0, 0, 16, 12): 3, (0, 0, 16, 16): 3,
    (0, 1, 16, 16): 2, (0, 2, 12, 16): 1, (0, 2, 16, 12): 2, (0, 2, 16, 16): 3,
    (0, 3, 16, 16): 2, (0, 4, 12, 12): 7, (0, 4, 12, 16): 1, (0, 4, 16, 12): 3,
    (0, 4, 16, 16): 3, (0, 6, 16, 12): 2, (0, 8, 12, 12): 7, (0, 8, 16, 12): 3,
    (1, 1, 12, 16): 1, (1, 2, 12, 12): 7, (1, 3, 12, 16): 1, (1, 6, 12, 12): 7,
    (2, 0, 12, 12): 7, (2, 0, 12, 16): 1, (2, 2, 12, 16): 1, (2, 4, 12, 12): 7,
    (2, 4, 12, 16): 1, (2, 8, 12, 12): 7, (3, 1, 12, 16): 1, (3, 2, 12, 12): 7,
    (3, 3, 12, 16): 1, (3, 6, 12, 12): 7, (4, 0, 12, 12): 7, (4, 0, 12, 16): 1,
    (4, 2, 12, 16): 1, (4, 4, 12, 12): 7, (4, 4, 12, 16): 1, (4, 8, 12, 12): 7,
}


def test_the_multiscale_crop_takes_each_box_with_the_authors_probability():
    dist = MultiScaleCrop(12).box_distribution(16, 20)
    assert dist == {box: Fraction(n, 130) for box, n in AUTHORS_20x16.items()}


def test_the_multiscale_crop_on_a_340_by_256_frame():
    """Their rule at the classic size: 10 (h, w) pairs, each 1/10, 114 distinct boxes, each
    with probability 1/130 to 3/130 (positions coinciding on the grid)."""
    dist = MultiScaleCrop(224).box_distribution(256, 340)
    sizes: dict = {}
    for (_, _, h, w), p in dist.items():
        sizes[(h, w)] = sizes.get((h, w), 0) + p
    assert sizes == {size: Fraction(1, 10) for size in [
        (256, 256), (256, 224), (224, 256), (224, 224), (224, 192), (192, 224), (192, 192),
        (192, 168), (168, 192), (168, 168)]}
    assert len(dist) == 114
    assert (min(dist.values()), max(dist.values())) == (Fraction(1, 130), Fraction(3, 130))


def test_the_crop_draws_from_that_distribution_and_crops_the_drawn_box():
    crop = MultiScaleCrop(12)
    torch.manual_seed(0)
    drawn = [crop.sample_box(16, 20) for _ in range(3000)]
    assert set(drawn) == set(AUTHORS_20x16)  # every box, nothing else
    share = sum(box[2:] == (12, 12) for box in drawn) / len(drawn)
    assert abs(share - 0.7) < 0.05  # 12 x 12: 7 of their 10 pairs (3000 draws: sd 0.008)
    clip = torch.randint(0, 256, (2, 3, 16, 20), dtype=torch.uint8)
    torch.manual_seed(1)
    out = crop(clip)
    torch.manual_seed(1)
    top, left, h, w = crop.sample_box(16, 20)
    assert torch.equal(out, TF.resized_crop(clip, top, left, h, w, [12, 12], antialias=True))


def test_segment_offsets_as_the_authors_draw_them():
    """``_sample_indices``: n = 30, T = 4: ``avg = 7``, segment i from ``7i + [0, 7)``, all
    7^4 clips equally likely; TDN's L = 5: ``avg = 6``; n = 6 < T = 8: all zero."""
    g = torch.Generator().manual_seed(0)
    for length, avg in ((1, 7), (5, 6)):
        clips = {tuple(segment_indices(30, 4, length, train=True, generator=g).view(4, length)
                       [:, 0].tolist()) for _ in range(20000)}
        assert len(clips) > 0.99 * avg ** 4  # the segments drawn independently
        for i in range(4):
            assert {c[i] for c in clips} == set(range(i * avg, (i + 1) * avg))
    assert segment_indices(6, 8, train=True, generator=g).tolist() == [0] * 8
    tdn = segment_indices(30, 4, 5, train=True, generator=g).view(4, 5)
    assert torch.equal(tdn - tdn[:, :1], torch.arange(5).expand(4, 5))  # 5 consecutive frames


def _module(tmp_path, recipe: str) -> VideoDataModule:
    options = yaml.safe_load((RECIPES / f"{recipe}.yaml").read_text())["data"]["init_args"]
    (tmp_path / "classes.txt").write_text("".join(f"class {k}\n" for k in range(174)))
    options.pop("test_protocol"), options.pop("val_protocol", None)
    return VideoDataModule(**{**options, "root": str(tmp_path)})


SSV2_PAIRS = {86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}


@pytest.mark.parametrize("recipe, policy", [
    ("tam_r50_8x1_sthv2", "swap_label"), ("tdn_r50_8x5_sthv1", "swap_label"),
    ("tdn_r50_8x5_sthv2", "swap_label"), ("tcm_r50_8x1_sthv1", "no_flip")])
def test_flip_policies_use_the_authors_class_indices(tmp_path, recipe, policy):
    """TANet (SSv2) and TDN swap 86<->87, 93<->94, 166<->167 when they flip, TCM never flips
    those classes; TDN and TCM apply the SSv2 indices to SSv1 too (the class names of
    classes.txt here have no left/right pairs: the pairs come from the recipe)."""
    flip = _module(tmp_path, recipe)._train_parts()["joint_transform"]
    assert (flip.policy, flip.pairs, flip.p) == (policy, SSV2_PAIRS, 0.5)


@pytest.mark.parametrize("recipe", ["tsm_r50_8x1_sthv1", "tsm_r50_8x1_sthv2", "tam_r50_8x1_sthv1",
                                    "tea_r2n50_8x1_sthv1"])
def test_no_flip_for_tsm_tea_and_tanet_on_ssv1(tmp_path, recipe):
    parts = _module(tmp_path, recipe)._train_parts()
    assert parts["joint_transform"] is None
    assert not any("Flip" in type(t).__name__ for t in parts["transform"].transforms)


def test_tcm_trains_on_frames_resized_to_240_by_320(tmp_path, monkeypatch):
    seen = []
    original = MultiScaleCrop.sample_box

    def spy(self, height, width):
        seen.append((height, width))
        return original(self, height, width)

    monkeypatch.setattr(MultiScaleCrop, "sample_box", spy)
    transform = _module(tmp_path, "tcm_r50_8x1_sthv1")._train_parts()["transform"]
    out = transform(torch.zeros(8, 3, 100, 176, dtype=torch.uint8))
    assert seen == [(240, 320)] and out.shape == (8, 3, 224, 224)
    with pytest.raises(ValueError, match="flip_pairs"):
        VideoDataModule(str(tmp_path), directional="swap_label",
                        flip_pairs=[[86, 200]])._train_parts()
