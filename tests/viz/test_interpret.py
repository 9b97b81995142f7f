"""The collector and the plot layouts (every registered architecture's recorded tensors are
checked by the model contract, tests/models/test_contract.py)."""

import pytest
import torch
from torch import nn

from lightning_vid.viz.interpret import (
    collect_interpretables,
    display_frames,
    select_views,
    to_views,
)

T = 4


class Recorder(nn.Module):
    """Any module with the interface is collected: here an ad-hoc one, in eval only."""

    def __init__(self, outputs):
        super().__init__()
        self.record, self.last_outputs, self.outputs = False, {}, outputs

    def forward(self, x):
        if self.record:
            assert not self.training
            self.last_outputs = dict(self.outputs)
        return x


def _views(outputs, batch=2):
    model = nn.Sequential(Recorder(outputs))
    model.num_segments = T
    return to_views(collect_interpretables(model, torch.zeros(1)), model, batch)


def test_layouts_of_the_interface_shapes():
    b, c, h, w = 2, 16, 5, 6
    views = _views({
        "kernel": torch.rand(b, c, 3),  # TAM's Theta
        "importance": torch.rand(b, c, T),  # TAM's V, (B, C, T)
        "attention": torch.rand(b, T, c),  # TEA's A, (B, T, C)
        "relocation": torch.randn(b, T, c, h, w),  # TRM's R
        "displacement": torch.randn(b * T, 4, h, w),  # TCM, fast then slow
        "confidence": torch.rand(b * T, 2, h, w),  # TCM
        "weights": torch.rand(b * T, c),  # TCM's attention
    })
    got = {v.key: (v.kind, tuple(v.data.shape)) for v in views}
    assert got == {
        "kernel": ("kernel", (b, c, 3)),
        "importance": ("channel", (b, T, c)),
        "attention": ("channel", (b, T, c)),
        "relocation": ("spatial", (b, T, h, w)),
        "displacement": ("flow", (b, T, 2, 2, h, w)),
        "confidence 0": ("spatial", (b, T, h, w)),
        "confidence 1": ("spatial", (b, T, h, w)),
        "weights": ("channel", (b, T, c)),
    }


def test_spatial_maps_are_the_channel_mean_of_magnitudes_and_keep_the_time_order():
    r = torch.zeros(2, T, 8, 3, 3)
    r[1, 2, :, 0, 0] = -4.0  # clip 1, frame 2, top-left, negative offsets
    [view] = _views({"relocation": r})
    assert view.data[1, 2, 0, 0] == 4.0 and view.data.sum() == 4.0  # |R| averaged over C'


def test_a_1x1_map_is_spatial_when_the_same_block_has_larger_ones():
    """Small inputs shrink res5 to 1 x 1: TDN's attention there stays a (uniform) map."""
    m1 = Recorder({"attention": torch.rand(2 * T, 8, 4, 4)})
    m2 = Recorder({"attention": torch.rand(2 * T, 8, 1, 1)})
    tea = Recorder({"attention": torch.rand(2 * T, 8, 1, 1)})
    tea.__class__ = type("Excitation", (Recorder,), {})
    model = nn.Sequential(m1, m2, tea)
    views = to_views(collect_interpretables(model, torch.zeros(1)), model, 2, num_segments=T)
    assert [v.kind for v in views] == ["spatial", "spatial", "channel"]


def test_declared_layouts_are_read_as_declared():
    """A block that declares its layouts (``Recorder.layouts``) is not guessed at: any key
    name, a 1 x 1 map that stays a map, (C, T) that is transposed, fields of (u, v)."""
    b, c = 2, 6
    block = Recorder({"gate": torch.rand(b, c, T), "tiny": torch.rand(b * T, c, 1, 1),
                      "motion": torch.randn(b * T, 6, 3, 3)})
    block.layouts = {"gate": "B C T", "tiny": "(B T) C h w", "motion": "(B T) (F 2) h w"}
    model = nn.Sequential(block)
    views = to_views(collect_interpretables(model, torch.zeros(1)), model, b, num_segments=T)
    got = {v.key: (v.kind, tuple(v.data.shape)) for v in views}
    assert got == {"gate": ("channel", (b, T, c)), "tiny": ("spatial", (b, T, 1, 1)),
                   "motion": ("flow", (b, T, 3, 2, 3, 3))}
    gate = next(v for v in views if v.key == "gate")
    assert torch.equal(gate.data, block.outputs["gate"].transpose(1, 2))


def test_unknown_layouts_are_skipped_with_a_warning_naming_block_and_key():
    with pytest.warns(UserWarning, match=r"0 \(Recorder\) recorded 'odd'"):
        assert _views({"odd": torch.rand(7)}) == []


def test_display_frames_undo_the_normalisation_and_take_segment_centres():
    clip = torch.arange(10.0).view(1, 10, 1, 1, 1).expand(1, 10, 3, 2, 2) / 10  # frame i: i/10
    frames = display_frames(clip, frames_per_segment=5, mean=(0.5,) * 3, std=(0.25,) * 3)
    assert frames.shape == (1, 2, 2, 2, 3)  # T = 2 segments of L = 5, channels last
    assert torch.allclose(frames[0, :, 0, 0, 0], torch.tensor([0.2, 0.7]) * 0.25 + 0.5)


def test_select_views_filters_by_name_and_spreads_rows():
    views = _views({f"k{i}": torch.rand(2, T, 4) for i in range(5)})
    for i, v in enumerate(views):
        v.module = f"trunk.layer{i % 4 + 1}.{i}"
    assert [v.key for v in select_views(views, "channel", max_rows=3)] == ["k0", "k2", "k4"]
    assert [v.key for v in select_views(views, "channel", ["trunk.layer1.*"])] == ["k0", "k4"]
