"""TSM's shift (the paper's operation) and where the authors' code puts it."""

import pytest
import torch
from torch import nn

from lightning_vid.blocks.tsm import TemporalShift, temporal_shift
from lightning_vid.models import build_model
from lightning_vid.trunk.adapter import stages


def test_shift_moves_one_eighth_each_way_with_zero_borders():
    n, t, c = 2, 4, 16
    x = torch.randn(n * t, c, 3, 3)
    y = temporal_shift(x, t).view(n, t, c, 3, 3)
    x5 = x.view(n, t, c, 3, 3)
    fold = c // 8
    torch.testing.assert_close(y[:, :-1, :fold], x5[:, 1:, :fold])  # from t+1
    assert y[:, -1, :fold].abs().sum() == 0
    torch.testing.assert_close(y[:, 1:, fold:2 * fold], x5[:, :-1, fold:2 * fold])  # from t-1
    assert y[:, 0, fold:2 * fold].abs().sum() == 0
    torch.testing.assert_close(y[:, :, 2 * fold:], x5[:, :, 2 * fold:])


def test_shift_never_mixes_clips():
    t = 4
    x = torch.zeros(2 * t, 8, 1, 1)
    x[t:] = 1.0  # second clip all ones
    y = temporal_shift(x, t)
    assert y[:t].abs().sum() == 0


@pytest.mark.filterwarnings(r"ignore:.*torch\.jit:FutureWarning")  # legacy tracing, on purpose
def test_shift_is_out_of_place_and_traceable():
    x = torch.randn(8, 16, 2, 2)
    before = x.clone()
    traced = torch.jit.trace(TemporalShift(16, 4), x)
    torch.testing.assert_close(traced(x), temporal_shift(x, 4))
    assert torch.equal(x, before)


def test_shift_sits_on_the_residual_branch_before_every_conv1():
    for backbone, blocks in [("resnet18", 8), ("resnet50", 16)]:
        model = build_model("tsm", num_classes=3, num_segments=8, backbone=backbone)
        shifted = [name for name, m in model.named_modules() if isinstance(m, TemporalShift)]
        assert len(shifted) == blocks
        assert all(name.endswith(".conv1.temporal") for name in shifted)
        block = model.trunk.layer2[0]
        assert isinstance(block.conv1, nn.Sequential)
        assert list(block.conv1)[0] is block.conv1.temporal
        assert not any(isinstance(m, TemporalShift) for m in block.downsample.modules())


def _shifted(model):
    return [[i for i, b in enumerate(stage) if isinstance(b.conv1, nn.Sequential)]
            for stage in stages(model.trunk)]


def test_resnet101_shifts_every_second_block_of_every_stage():
    """The authors' code (and mmaction2): once res4 has >= 23 blocks, every second block of
    all four stages: 2 + 2 + 12 + 2 = 18 of ResNet-101's 33."""
    with torch.device("meta"):  # the structure only
        model = build_model("tsm", num_classes=3, num_segments=8, backbone="resnet101")
    assert _shifted(model) == [[0, 2], [0, 2], list(range(0, 23, 2)), [0, 2]]
    assert sum(map(len, _shifted(model))) == 18


def test_tcm_shifts_all_33_blocks_of_resnet101_as_its_code():
    with torch.device("meta"):
        model = build_model("tcm", num_classes=3, num_segments=8, backbone="resnet101")
    assert _shifted(model) == [list(range(n)) for n in (3, 4, 23, 3)]
