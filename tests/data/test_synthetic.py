"""The synthetic motion benchmark: reversal pairs, the files ``generate`` writes, and the
property the benchmark exists for (an order-invariant model cannot separate a pair)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from torch import nn

from lightning_vid.data import synthetic
from lightning_vid.data.synthetic import CLASSES, generate, render_clip

SMALL = dict(num_train=16, num_val=8, num_test=8, size=32, frames=16, workers=1, verbose=False)


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


@pytest.mark.parametrize("pair", range(4))
def test_partner_is_the_first_class_reversed(pair):
    for seed in range(3):
        first = render_clip(2 * pair, np.random.default_rng(seed), size=32, frames=12)
        partner = render_clip(2 * pair + 1, np.random.default_rng(seed), size=32, frames=12)
        assert first.shape == (12, 32, 32, 3) and first.dtype == np.uint8
        np.testing.assert_array_equal(partner, first[::-1])
        assert not np.array_equal(first[0], first[-1])  # the object visibly moves
        other = render_clip((2 * pair + 2) % 8, np.random.default_rng(seed), size=32, frames=12)
        assert not np.array_equal(other, first)


def test_render_clip_rejects_unknown_class():
    with pytest.raises(ValueError):
        render_clip(8, np.random.default_rng(0))


def changes(clip: np.ndarray) -> list[tuple[float, float, int]]:
    """Per step t -> t+1: the centre (x, y) and the larger side of the box around the pixels
    that change. The background is static, so they are the object's (at t and t+1)."""
    moved = np.abs(np.diff(clip.astype(np.int16), axis=0)).sum(-1) > 24  # (T-1, H, W)
    boxes = []
    for mask in moved:
        ys, xs = np.nonzero(mask)
        boxes.append(((xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2,
                      int(max(np.ptp(xs), np.ptp(ys))) + 1))
    return boxes


@pytest.mark.parametrize("pair", range(4))
def test_each_pair_shows_its_documented_motion_and_stays_in_the_frame(pair):
    """The first class of each pair at 64 px, measured on the rendered frames: direction and
    amount of motion (move: 28-44 px; grow: 2.2-3x), and nothing changes on the frame's
    border (the whole object stays inside)."""
    for seed in range(10):
        clip = render_clip(2 * pair, np.random.default_rng(seed), size=64, frames=48)
        moved = np.abs(np.diff(clip.astype(np.int16), axis=0)).sum(-1) > 24
        assert not (moved[:, 0].any() or moved[:, -1].any() or moved[:, :, 0].any()
                    or moved[:, :, -1].any()), f"seed {seed}: the object touches the border"
        (x0, y0, side0), (x1, y1, side1) = changes(clip)[0], changes(clip)[-1]
        if pair in (0, 1):  # move_left: x decreases; move_up: y decreases (y points down)
            along, across = (x1 - x0, y1 - y0) if pair == 0 else (y1 - y0, x1 - x0)
            assert -46 <= along <= -26 and abs(across) <= 1.5, (seed, along, across)
        elif pair == 2:  # grow about a fixed point (inside the shape, not its box's centre)
            assert 2.2 - 0.1 <= side1 / side0 <= 3.0 + 0.1, (seed, side0, side1)
            assert max(abs(x1 - x0), abs(y1 - y0)) <= (side1 - side0) / 4 + 1, seed
        else:  # rotate_clockwise: turns in place (30-38 px objects), changing every step
            ys, xs = np.nonzero(moved.any(0))
            assert max(np.ptp(xs), np.ptp(ys)) + 1 <= 50 and moved.any(axis=(1, 2)).all()


def test_object_is_brighter_than_background_in_every_channel():
    """Where the moving object arrives, every channel gets brighter on average; where it
    leaves, every channel gets darker: the object is a light tint over a darker background."""
    for seed in range(20):
        clip = render_clip(0, np.random.default_rng(seed), size=64, frames=48).astype(np.int16)
        change = clip[-1] - clip[0]  # (H, W, 3): the object's end minus its start position
        arrived, left = change.sum(-1) > 60, change.sum(-1) < -60
        assert (change[arrived].mean(0) > 0).all() and (change[left].mean(0) < 0).all(), seed


def test_generate_writes_the_layout_once(tmp_path, capsys):
    out = generate(tmp_path / "bench", seed=3, **SMALL)
    assert (out / "classes.txt").read_text().splitlines() == list(CLASSES)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["frames"] == 16 and meta["size"] == 32 and meta["num_train"] == 16
    for split, n in (("train", 16), ("val", 8), ("test", 8)):
        with open(out / f"{split}.csv", newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == ["path", "label"] and len(rows) == n + 1
        labels = [int(label) for _, label in rows[1:]]
        assert set(Counter(labels).values()) == {n // 8}
        for path, label in rows[1:]:
            assert path.startswith(f"videos/{split}/")
            assert path.endswith(f"_{CLASSES[int(label)]}.mp4")
            assert (out / path).is_file()

    # Decoded frames: count, shape, order and content match render_clip for that sample.
    for index in (0, 1, 6, 7):
        path = out / "videos" / "val" / f"{index:05d}_{CLASSES[index]}.mp4"
        frames = _decode(path)
        assert frames.shape == (16, 32, 32, 3)
        expected = synthetic.sample_clip("val", index, seed=3, size=32, frames=16)
        error = np.abs(frames.astype(int) - expected).mean(axis=(1, 2, 3))  # per frame
        reversed_error = np.abs(frames.astype(int) - expected[::-1]).mean(axis=(1, 2, 3))
        assert error.max() < 6, error  # lossy H.264 4:2:0 at 32 px
        assert error.mean() < 0.6 * reversed_error.mean(), (error, reversed_error)

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert synthetic.main(["--out", str(out), "--num-train", "16", "--num-val", "8", "--num-test",
                           "8", "--size", "32", "--frames", "16", "--seed", "3"]) == 0
    assert "already generated" in capsys.readouterr().out
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


def test_generate_refuses_other_settings_without_overwrite(tmp_path):
    out = generate(tmp_path, **{**SMALL, "num_train": 8, "num_val": 0, "num_test": 0})
    with pytest.raises(FileExistsError):
        generate(out, **{**SMALL, "num_train": 8, "num_val": 0, "num_test": 0, "frames": 8})
    generate(out, **{**SMALL, "num_train": 8, "num_val": 0, "num_test": 0, "frames": 8},
             overwrite=True)
    assert json.loads((out / "meta.json").read_text())["frames"] == 8
    assert len(_decode(out / "videos" / "train" / "00000_move_left.mp4")) == 8


def test_output_does_not_depend_on_the_number_of_workers(tmp_path):
    """The same clips whatever ``workers``: lists and metadata byte for byte, every video the
    rendered clip of its (seed, split, index). libx264 is not bit-reproducible from run to run
    here (the same frames encoded twice in one process can differ by a few bytes' worth of
    mode decisions), so videos are compared decoded, against the clip they encode."""
    settings = {**SMALL, "num_train": 8, "num_val": 0, "num_test": 0}
    one = generate(tmp_path / "one", **settings)
    two = generate(tmp_path / "two", **{**settings, "workers": 2})
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    assert len(files) == 8 + 5
    for name in files:
        if name.suffix != ".mp4":
            assert (one / name).read_bytes() == (two / name).read_bytes(), name
    with open(one / "train.csv", newline="") as f:
        listed = [path for path, _ in list(csv.reader(f))[1:]]
    for index in range(8):
        clip = synthetic.sample_clip("train", index, size=32, frames=16)
        other = synthetic.sample_clip("train", index + 2, size=32, frames=16)
        for out in (one, two):
            decoded = _decode(out / listed[index]).astype(np.float32)
            error, wrong = np.abs(decoded - clip).mean(), np.abs(decoded - other).mean()
            assert error < 6.0 and error < wrong / 2, (out, index, error, wrong)


def test_order_invariant_model_cannot_separate_a_pair():
    """TSN-like: per-frame CNN features averaged over time give the same output for a clip of
    class 2k and its reversal (class 2k+1); an order-aware readout does not."""
    cnn = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()).double().eval()

    def features(clip: np.ndarray) -> torch.Tensor:  # (T, H, W, 3) -> (T, 16)
        return cnn(torch.from_numpy(clip).permute(0, 3, 1, 2).double() / 255)

    with torch.no_grad():
        for pair in range(4):
            first = features(render_clip(2 * pair, np.random.default_rng(pair), 32, 8))
            partner = features(render_clip(2 * pair + 1, np.random.default_rng(pair), 32, 8))
            torch.testing.assert_close(first.mean(0), partner.mean(0), rtol=0, atol=1e-12)
            # An order-aware readout (last frame minus first) separates them.
            assert not torch.allclose(first[-1] - first[0], partner[-1] - partner[0])


def test_rotating_shapes_have_no_rotational_symmetry():
    grid = np.stack(np.meshgrid(*[np.linspace(-2, 2, 161)] * 2, indexing="ij"), axis=-1)
    turned = grid @ np.array([[0.0, -1.0], [1.0, 0.0]])  # a quarter turn
    for name in synthetic.ROTATION_SHAPES:  # a 90-degree step must change the silhouette
        inside = synthetic.SHAPES[name]
        assert (inside(turned) != inside(grid)).mean() > 0.05, name
