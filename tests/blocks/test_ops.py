"""The operations blocks share: the temporal conv and its shift init, the temporal difference,
the eager / traced dual path, conv-BN-act and the authors' conv init."""

import pytest
import torch
from torch import nn

from lightning_vid.blocks.ops import (
    TemporalConv,
    conv_bn_act,
    exportable,
    init_fan_out,
    temporal_conv,
    temporal_difference,
)
from lightning_vid.blocks.tsm import temporal_shift

T = 4


def test_temporal_conv_is_a_depthwise_conv1d_over_time(conv1d_over_time):
    x = torch.randn(2 * T, 6, 3, 5, requires_grad=True)
    weight = torch.randn(6, 1, 3, requires_grad=True)
    g = torch.randn(2 * T, 6, 3, 5)
    ours, ref = temporal_conv(x, weight, T), conv1d_over_time(x, weight, T)
    torch.testing.assert_close(ours, ref)
    for got, want in zip(torch.autograd.grad(ours, (x, weight), g),
                         torch.autograd.grad(ref, (x, weight), g)):
        torch.testing.assert_close(got, want)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::FutureWarning")
def test_traced_temporal_conv_is_out_of_place_with_the_same_values():
    m = TemporalConv(8, T)
    nn.init.normal_(m.weight)
    x = torch.randn(2 * T, 8, 3, 3)
    traced = torch.jit.trace(m, x)
    assert "addcmul_" not in traced.graph.str()  # the eager path updates slices in place
    torch.testing.assert_close(traced(x), m(x))


@pytest.mark.parametrize("fold_div", [8, 2])
def test_shift_init_is_tsm_shift(fold_div):
    x = torch.randn(2 * T, 16, 3, 3)
    torch.testing.assert_close(TemporalConv(16, T, fold_div=fold_div)(x),
                               temporal_shift(x, T, fold_div=fold_div))


def test_identity_init_is_the_identity():
    x = torch.randn(2 * T, 6, 2, 2)
    assert torch.equal(TemporalConv(6, T)(x), x)


@pytest.mark.parametrize("step", [1, -1])
def test_temporal_difference_stays_inside_each_clip(step):
    other, x = torch.randn(2 * T, 3, 4, 4), torch.randn(2 * T, 3, 4, 4)
    d = temporal_difference(other, x, T, step).view(2, T, 3, 4, 4)
    o5, x5 = other.view(2, T, 3, 4, 4), x.view(2, T, 3, 4, 4)
    for t in range(T):
        if 0 <= t + step < T:
            assert torch.equal(d[:, t], o5[:, t + step] - x5[:, t])
        else:  # zero at the border: nothing is taken from the neighbouring clip
            assert d[:, t].abs().sum() == 0
    with pytest.raises(ValueError, match="step"):
        temporal_difference(other, x, T, step=2)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::FutureWarning")
def test_exportable_runs_the_traced_twin_only_while_tracing():
    calls = []

    def twin(x):
        calls.append("traced")
        return x * 2

    @exportable(twin)
    def double(x):
        calls.append("eager")
        return x + x

    x = torch.ones(3)
    double(x)
    traced = torch.jit.trace(lambda t: double(t), x, check_trace=False)
    assert calls == ["eager", "traced"]
    assert torch.equal(traced(x), double(x)) and calls[-1] == "eager"  # the graph: no Python


def test_conv_bn_act_and_the_authors_conv_init():
    conv, bn, act = conv_bn_act(64, 256, 3, groups=4)
    assert (conv.kernel_size, conv.padding, conv.groups, conv.bias) == ((3, 3), (1, 1), 4, None)
    assert isinstance(bn, nn.BatchNorm2d) and isinstance(act, nn.ReLU)
    init_fan_out(nn.Sequential(conv))
    std = (2.0 / (3 * 3 * 256)) ** 0.5  # normal(0, sqrt(2 / (k*k*C_out)))
    assert abs(conv.weight.std().item() / std - 1) < 0.05
    assert abs(conv.weight.mean()) < 0.05 * std
