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


# ---- test-time views and other protocols -----------------------------------------------------

from lightning_vid.data.sampling import (ClipSampler, dense_indices,  # noqa: E402
                                         random_clip_indices, tempo_indices, twice_indices,
                                         uniform_clip_indices)


@pytest.mark.parametrize("n", [1, 5, 63, 64, 65, 300])
def test_dense_windows_stride_and_test_starts(n):
    clips = dense_indices(n, 8, num_clips=10)  # (10, 8), TSM: stride 64 // 8 = 8
    assert clips.shape == (10, 8) and clips.min() >= 0 and clips.max() < n
    if n >= 64:
        assert torch.all(clips.diff(dim=1) == 8)  # inside the video: exact stride 8
        assert clips[0, 0] == 0 and clips[-1, 0] == n - 64  # starts linspace(0, n - 64, 10)
    one = dense_indices(n, 8)  # (1, 8), TAM's validation: the middle start
    assert one[0, 0] == (max(n - 64, 0) + 1) // 2 % n


def test_dense_training_starts_as_tsm_and_tanet_draw_them():
    """Their ``randint(0, sample_pos - 1)`` with ``sample_pos = n - 64 + 1``: for n = 70 the
    starts 0..5 (the 7th window, start 6, is never drawn); n = 65 and shorter: start 0."""
    g = torch.Generator().manual_seed(0)
    starts = {int(dense_indices(70, 8, train=True, generator=g)[0]) for _ in range(400)}
    assert starts == set(range(6))
    for n in (40, 64, 65):
        assert {int(dense_indices(n, 8, train=True, generator=g)[0]) for _ in range(20)} == {0}
    assert dense_indices(70, 8, train=True).shape == (8,)


def test_dense_out_of_bound_loops_or_repeats_the_last_frame():
    assert dense_indices(20, 4, window=32).tolist() == [[0, 8, 16, 4]]  # TSM: % n
    assert dense_indices(20, 4, window=32, out_of_bound="repeat_last").tolist() == [[0, 8, 16, 19]]


def test_twice_is_centres_then_segment_starts():
    both = twice_indices(80, 8)
    assert torch.equal(both[0], segment_indices(80, 8))
    assert both[1].tolist() == [0, 10, 20, 30, 40, 50, 60, 70]
    assert twice_indices(80, 2, 3).tolist() == [[19, 20, 21, 58, 59, 60], [0, 1, 2, 39, 40, 41]]


@pytest.mark.parametrize("n", [3, 8, 100])
def test_uniform_clips_are_shifted_sparse_clips_in_range(n):
    clips = uniform_clip_indices(n, 4, num_clips=3)
    assert clips.shape == (3, 4) and clips.min() >= 0 and clips.max() < n
    assert torch.all(clips.diff(dim=0) >= 0)  # later clips shifted forward
    assert torch.equal(uniform_clip_indices(n, 4, num_clips=1)[0], segment_indices(n, 4))


def test_random_clips_are_training_clips():
    torch.manual_seed(0)
    clips = random_clip_indices(80, 8, num_clips=10)
    assert clips.shape == (10, 8) and len({tuple(c.tolist()) for c in clips}) > 5
    assert torch.equal(clips // 10, torch.arange(8).expand(10, 8))  # one frame per segment


@pytest.mark.parametrize("tau", range(2, 9))
def test_tempo_resampling_at_stride_tau(tau):
    idx = tempo_indices(100, 4, tau)  # TCM Fig. 4: the 4x4 clip re-sampled at stride tau
    assert torch.all(idx.diff() == tau) and idx[0] == (100 - 3 * tau - 1) // 2
    short = tempo_indices(5, 4, tau)  # too short: start at 0, repeat the last frame
    assert short.tolist() == [min(i * tau, 4) for i in range(4)]


def test_clip_sampler_shapes():
    assert ClipSampler("tsn", 8)(40).shape == (8,)
    assert ClipSampler("dense", 8, num_clips=10)(300).shape == (10, 8)
    assert ClipSampler("dense", 4, 2, train=True, window=16)(300).shape == (8,)
    assert ClipSampler("tempo", 4, tempo_stride=3)(50).shape == (4,)
