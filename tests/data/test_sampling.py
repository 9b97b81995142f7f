"""TSN sparse sampling: properties over many frame counts, no video needed."""

import pytest
import torch

from lightning_vid.data import segment_indices


@pytest.mark.parametrize("n", [1, 3, 7, 8, 9, 40, 41, 300])
@pytest.mark.parametrize("t,l", [(8, 1), (4, 5), (3, 2)])
@pytest.mark.parametrize("train", [False, True])
def test_length_range_and_order(n, t, l, train):
    g = torch.Generator().manual_seed(n)
    idx = segment_indices(n, t, l, train=train, generator=g)
    assert idx.dtype == torch.int64 and idx.shape == (t * l,)
    assert idx.min() >= 0 and idx.max() < n
    seg = idx.view(t, l)
    assert torch.all(seg[1:, 0] >= seg[:-1, 0])  # segments in temporal order
    assert torch.all(seg[:, 1:] >= seg[:, :-1])  # frames of a segment in order


def test_eval_is_segment_centres_and_deterministic():
    idx = segment_indices(80, 8)
    assert idx.tolist() == [5, 15, 25, 35, 45, 55, 65, 75]
    assert torch.equal(idx, segment_indices(80, 8))


def test_train_picks_one_frame_inside_each_segment_and_varies():
    n, t = 80, 8
    seen = set()
    for s in range(50):
        idx = segment_indices(n, t, train=True, generator=torch.Generator().manual_seed(s))
        assert torch.equal(idx // (n // t), torch.arange(t))  # offset i lies in segment i
        seen.add(tuple(idx.tolist()))
    assert len(seen) > 40


def test_frames_per_segment_are_consecutive_and_clamped():
    idx = segment_indices(40, 8, 5).view(8, 5)
    assert torch.equal(idx - idx[:, :1], torch.arange(5).expand(8, 5))
    short = segment_indices(6, 2, 5, train=True).view(2, 5)
    assert short.max() == 5 and torch.all(short[:, 1:] >= short[:, :-1])


def test_generator_makes_training_reproducible():
    a = segment_indices(300, 8, train=True, generator=torch.Generator().manual_seed(3))
    b = segment_indices(300, 8, train=True, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_bad_counts_are_rejected():
    with pytest.raises(ValueError, match="num_frames"):
        segment_indices(0, 8)
    with pytest.raises(ValueError):
        segment_indices(10, 0)
