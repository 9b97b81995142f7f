"""TSM's shift and where it sits; TSN's order invariance against TSM's order sensitivity."""

import torch
from torch import nn

from lightning_vid.blocks.tsm import TemporalShift, temporal_shift
from lightning_vid.models import build_model


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
        assert isinstance(block.conv1, nn.Sequential) and list(block.conv1)[0] is block.conv1.temporal
        assert not any(isinstance(m, TemporalShift) for m in block.downsample.modules())


def test_resnet101_shifts_every_second_block_of_res4():
    model = build_model("tsm", num_classes=3, num_segments=8, backbone="resnet101")
    res4 = [i for i, b in enumerate(model.trunk.layer3) if isinstance(b.conv1, nn.Sequential)]
    assert res4 == list(range(0, 23, 2))


def _reversed(x):
    return x.flip(1)


def test_tsn_ignores_frame_order_and_tsm_does_not():
    x = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        tsn = build_model("tsn", num_classes=5, num_segments=4, backbone="resnet18").eval()
        torch.testing.assert_close(tsn(x), tsn(_reversed(x)), rtol=1e-4, atol=1e-5)
        tsm = build_model("tsm", num_classes=5, num_segments=4, backbone="resnet18").eval()
        for m in tsm.modules():  # timm zero-inits the last BN of each residual branch
            if isinstance(m, nn.BatchNorm2d):
                nn.init.uniform_(m.weight, 0.5, 1.5)
        assert not torch.allclose(tsm(x), tsm(_reversed(x)), rtol=1e-3, atol=1e-4)
