"""TEA: ME's motion, attention and excitation; MTA's part-shift init, cascade; the trunks."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightning_vid.blocks.tea import (
    MotionExcitation,
    MultipleTemporalAggregation,
    TEABottle2neck,
    TemporalConv,
    temporal_conv,
    temporal_difference,
)
from lightning_vid.blocks.tsm import temporal_shift
from lightning_vid.models import build_model
from lightning_vid.models.trunk import create_trunk
from lightning_vid.models.zoo import add_tea

T = 4


def _conv1d_reference(x, weight, t):
    """The temporal conv as the paper writes it: Conv1d over (B*H*W, C, T)."""
    nt, c, h, w = x.shape
    y = x.view(-1, t, c, h, w).permute(0, 3, 4, 2, 1).reshape(-1, c, t)  # (B*H*W, C, T)
    y = F.conv1d(y, weight, padding=1, groups=c)
    return y.view(-1, h, w, c, t).permute(0, 4, 3, 1, 2).reshape(nt, c, h, w)


def test_motion_is_forward_difference_with_zero_at_last_step():
    nxt, cur = torch.randn(2 * T, 3, 4, 4), torch.randn(2 * T, 3, 4, 4)
    m = temporal_difference(nxt, cur, T).view(2, T, 3, 4, 4)
    n5, c5 = nxt.view(2, T, 3, 4, 4), cur.view(2, T, 3, 4, 4)
    for t in range(T - 1):
        torch.testing.assert_close(m[:, t], n5[:, t + 1] - c5[:, t])
    assert m[:, -1].abs().sum() == 0  # M(T) = 0, nothing taken from the next clip


def test_excitation_keeps_x_where_attention_is_zero():
    me = MotionExcitation(32, T)
    x = torch.randn(2 * T, 32, 5, 5)
    assert not torch.allclose(me(x), x)
    nn.init.zeros_(me.bn_exp.weight)
    nn.init.zeros_(me.bn_exp.bias)  # conv_exp -> BN gives 0, sigmoid 1/2, A = 0
    assert torch.equal(me(x), x)


def test_attention_is_one_scalar_per_sample_frame_and_channel():
    me = MotionExcitation(32, T)
    me.record = True
    x = torch.randn(2 * T, 32, 5, 5)
    out = me(x)
    a = me.last_outputs["attention"]
    assert a.shape == (2, T, 32) and not a.requires_grad
    assert a.abs().max() < 0.5  # sigmoid - 1/2
    torch.testing.assert_close(out, x * (1 + a.reshape(2 * T, 32, 1, 1)))  # Eq. 5
    assert a.std(dim=1).min() > 0 and (a[0] - a[1]).abs().max() > 1e-3


def test_static_clip_is_not_excited_and_a_moving_one_is():
    me = MotionExcitation(32, T).eval()
    with torch.no_grad():  # conv_trans = identity: M(t) = Z(t+1) - Z(t)
        me.conv_trans.weight.zero_()
        me.conv_trans.weight[:, :, 1, 1] = 1.0
    frame = torch.randn(1, 32, 6, 6)
    static = frame.expand(T, -1, -1, -1).contiguous()
    torch.testing.assert_close(me(static), static)
    moving = static + torch.randn(T, 1, 1, 1)  # brightness changes over time
    assert not torch.allclose(me(moving), moving, atol=1e-4)


def test_full_attention_scale_is_the_papers_2sigmoid_minus_1():
    half, full = MotionExcitation(32, T), MotionExcitation(32, T, attention_scale="full")
    full.load_state_dict(half.state_dict())
    half.record = full.record = True
    x = torch.randn(2 * T, 32, 5, 5)
    half(x), full(x)
    torch.testing.assert_close(full.last_outputs["attention"], 2 * half.last_outputs["attention"])
    with pytest.raises(ValueError, match="half"):
        MotionExcitation(32, T, attention_scale="double")


def test_temporal_conv_equals_channelwise_conv1d_over_time_values_and_gradients():
    x = torch.randn(2 * T, 6, 3, 5, requires_grad=True)
    weight = torch.randn(6, 1, 3, requires_grad=True)
    g = torch.randn(2 * T, 6, 3, 5)
    ours = temporal_conv(x, weight, T)
    ref = _conv1d_reference(x, weight, T)
    torch.testing.assert_close(ours, ref)
    grads = torch.autograd.grad(ours, (x, weight), g)
    for got, want in zip(grads, torch.autograd.grad(ref, (x, weight), g)):
        torch.testing.assert_close(got, want)


def test_temporal_convs_start_as_the_part_shift():
    mta = MultipleTemporalAggregation(32, T)  # 4 fragments of 8 channels
    for tconv in mta.temporal:
        assert torch.equal(tconv.weight[:, 0], torch.tensor([0.0, 1.0, 0.0]).expand(8, 3))
    w = mta.passthrough.weight[:, 0]
    assert torch.equal(w[:4], torch.tensor([0.0, 0.0, 1.0]).expand(4, 3))  # from t+1
    assert torch.equal(w[4:], torch.tensor([1.0, 0.0, 0.0]).expand(4, 3))  # from t-1
    x = torch.randn(2 * T, 8, 3, 3)
    torch.testing.assert_close(mta.temporal[0](x), x)
    torch.testing.assert_close(mta.passthrough(x), temporal_shift(x, T, fold_div=2))


def test_mta_computes_eq6_in_the_codes_fragment_order():
    mta = MultipleTemporalAggregation(16, T)
    for tconv in [*mta.temporal, mta.passthrough]:
        nn.init.normal_(tconv.weight)
    x = torch.randn(2 * T, 16, 5, 5)
    xs = x.split(4, dim=1)
    o0 = mta.convs[0](_conv1d_reference(xs[0], mta.temporal[0].weight, T))
    o1 = mta.convs[1](_conv1d_reference(xs[1] + o0, mta.temporal[1].weight, T))
    o2 = mta.convs[2](_conv1d_reference(xs[2] + o1, mta.temporal[2].weight, T))
    o3 = _conv1d_reference(xs[3], mta.passthrough.weight, T)  # no spatial conv
    torch.testing.assert_close(mta(x), torch.cat([o0, o1, o2, o3], dim=1))


@pytest.mark.parametrize("cascade,reach", [(True, [2, 3, 4, 2]), (False, [2, 2, 2, 2])])
def test_cascade_enlarges_the_temporal_receptive_field(cascade, reach):
    """A change at frame 0 reaches frames 0..i+1 of fragment i through the cascade."""
    t = 8
    mta = MultipleTemporalAggregation(16, t, cascade=cascade)
    for tconv in [*mta.temporal, mta.passthrough]:
        nn.init.uniform_(tconv.weight, 0.5, 1.5)
    x = torch.randn(t, 16, 4, 4)
    x2 = x.clone()
    x2[0] += 1.0
    with torch.no_grad():
        changed = (mta(x2) - mta(x)).abs().view(t, 4, 4, 4, 4).amax(dim=(2, 3, 4)) > 1e-6
    for i, frames in enumerate(reach):  # changed[frame, fragment]
        assert changed[:, i].tolist() == [f < frames for f in range(t)], (i, changed[:, i])


def _unzero_last_bn(model):  # timm zero-inits bn3, which would make every block the identity
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)


def test_res2net_tea_starts_as_res2net_but_for_me_and_the_shifted_fragment():
    res2net = create_trunk("res2net50_26w_4s").eval()
    _unzero_last_bn(res2net)
    tea = copy.deepcopy(res2net)
    convs, bns = tea.layer2[0].convs, tea.layer2[0].bns
    assert len(add_tea(tea, T, shift_passthrough=False)) == 16
    tea.eval()
    block = tea.layer2[0]
    assert isinstance(block, TEABottle2neck) and block.mta.convs is convs and block.mta.bns is bns
    assert not block.mta.cascade and tea.layer2[1].mta.cascade  # Res2Net's is_first
    x = torch.randn(T, 3, 32, 32)  # one clip
    with torch.no_grad():
        ref = res2net.forward_features(x)
        assert not torch.allclose(tea.forward_features(x), ref, atol=1e-4)
        for m in tea.modules():
            if isinstance(m, MotionExcitation):
                nn.init.zeros_(m.bn_exp.weight), nn.init.zeros_(m.bn_exp.bias)  # A = 0
        torch.testing.assert_close(tea.forward_features(x), ref, rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def res2net_tea():
    torch.manual_seed(0)
    return build_model("tea", num_classes=400, num_segments=T, backbone="res2net50_26w_4s",
                       input_size=32).eval()


def test_res2net_tea_has_the_official_codes_parameter_counts(res2net_tea):
    def count(kind):
        return sum(p.numel() for m in res2net_tea.modules() if isinstance(m, kind)
                   for p in m.parameters())
    assert sum(p.numel() for p in res2net_tea.parameters()) == 24_919_354
    assert count(MotionExcitation) == 431_226 and count(TemporalConv) == 18_408
    assert res2net_tea.trunk.layer1[0].me.conv_red.out_channels == 6  # floor(104 / 16)


def test_res2net_tea_contract_at_32px(res2net_tea):
    x = torch.randn(2, T, 3, 32, 32)
    with torch.no_grad():
        full = res2net_tea(x)
        x2 = x.clone()
        x2[1] = torch.randn_like(x2[1]) * 5
        torch.testing.assert_close(res2net_tea(x2)[0], full[0], rtol=1e-4, atol=1e-5)
    assert full.shape == (2, 400)
    res2net_tea(x[:1]).square().sum().backward()  # eval mode: one clip is enough
    assert all(p.grad is not None for p in res2net_tea.parameters())


def test_resnet_placement_me_after_act1_and_mta_from_conv2():
    trunk = create_trunk("resnet50")
    old = trunk.layer2[0].conv2.weight.detach().clone()  # (128, 128, 3, 3), stride 2
    add_tea(trunk, T)
    block = trunk.layer2[0]
    assert isinstance(block.act1.temporal, MotionExcitation)
    mta = block.conv2
    assert isinstance(mta, MultipleTemporalAggregation) and not mta.cascade
    assert isinstance(mta.pool, nn.AvgPool2d) and all(c.stride == (2, 2) for c in mta.convs)
    torch.testing.assert_close(mta.convs[1].weight, old[32:64, 32:64])  # diagonal block 1
    assert trunk.layer2[1].conv2.cascade and isinstance(trunk.layer2[1].conv2.pool, nn.Identity)
    assert block(torch.randn(T, 256, 16, 16)).shape == (T, 512, 8, 8)
    basic = create_trunk("resnet18")
    add_tea(basic, T)
    assert basic.layer3[0].act1.temporal.conv_exp.out_channels == 256
    assert basic.layer3[0].conv2.cascade  # BasicBlock: the stride is on conv1
