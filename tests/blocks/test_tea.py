"""TEA: ME's motion, attention and excitation; MTA's part-shift init and cascade; the Res2Net
block (the paper's) and the ResNet placement."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightning_vid.blocks.ops import TemporalConv
from lightning_vid.blocks.tea import MotionExcitation, MultipleTemporalAggregation, tea
from lightning_vid.blocks.tsm import temporal_shift
from lightning_vid.models import build_model
from lightning_vid.models.trunk import create_trunk, stages

T = 4


def _add_tea(trunk, **options):
    """TEA in every block of res2..res5 of ``trunk``, as the ``tea`` registration does."""
    for stage in stages(trunk):
        for i, block in enumerate(stage):
            stage[i] = tea(block.conv1.out_channels, T, target=block, **options)
    return trunk


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


def test_mta_computes_eq6_in_the_codes_fragment_order(conv1d_over_time):
    mta = MultipleTemporalAggregation(16, T)
    for tconv in [*mta.temporal, mta.passthrough]:
        nn.init.normal_(tconv.weight)
    x = torch.randn(2 * T, 16, 5, 5)
    xs = x.split(4, dim=1)
    o0 = mta.convs[0](conv1d_over_time(xs[0], mta.temporal[0].weight, T))
    o1 = mta.convs[1](conv1d_over_time(xs[1] + o0, mta.temporal[1].weight, T))
    o2 = mta.convs[2](conv1d_over_time(xs[2] + o1, mta.temporal[2].weight, T))
    o3 = conv1d_over_time(xs[3], mta.passthrough.weight, T)  # no spatial conv
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
    trunk = _add_tea(copy.deepcopy(res2net), shift_passthrough=False).eval()
    block = trunk.layer2[0]  # timm's Bottle2neck, its forward unchanged
    assert isinstance(block.bn1.temporal, MotionExcitation)
    assert all(isinstance(c.temporal, TemporalConv) for c in block.convs)
    assert block.is_first and not trunk.layer2[1].is_first  # Res2Net's cascade rule kept
    x = torch.randn(T, 3, 32, 32)  # one clip
    with torch.no_grad():
        ref = res2net.forward_features(x)
        assert not torch.allclose(trunk.forward_features(x), ref, atol=1e-4)
        for m in trunk.modules():
            if isinstance(m, MotionExcitation):
                nn.init.zeros_(m.bn_exp.weight), nn.init.zeros_(m.bn_exp.bias)  # A = 0
        torch.testing.assert_close(trunk.forward_features(x), ref, rtol=1e-4, atol=1e-4)


def test_res2net_tea_block_is_eq6_7_on_res2net_fragments(conv1d_over_time):
    """One TEA block written out (Fig. 2 in the code's fragment order): ME, then per fragment
    tconv -> 3x3 -> BN -> ReLU with the cascade, the shifted pass-through, conv3, shortcut."""
    block = create_trunk("res2net50_26w_4s").layer1[1]  # not is_first: the cascade runs
    _unzero_last_bn(block)
    block = tea(104, T, target=block).eval()
    for m in block.modules():
        if isinstance(m, TemporalConv):
            nn.init.normal_(m.weight)
    x = torch.randn(2 * T, 256, 8, 8)
    with torch.no_grad():
        me = block.bn1.temporal
        h = me(F.relu(block.bn1.bn(block.conv1(x))))
        xs = h.split(26, dim=1)
        outs, sp = [], None
        for i in range(3):
            sp = xs[i] if i == 0 else sp + xs[i]
            sp = conv1d_over_time(sp, block.convs[i].temporal.weight, T)
            sp = F.relu(block.bns[i](block.convs[i].conv(sp)))
            outs.append(sp)
        outs.append(conv1d_over_time(xs[3], block.pool.temporal.weight, T))
        ref = F.relu(block.bn3(block.conv3(torch.cat(outs, 1))) + x)
        torch.testing.assert_close(block(x), ref, rtol=1e-4, atol=1e-5)


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
    assert res2net_tea.trunk.layer1[0].bn1.temporal.conv_red.out_channels == 6  # floor(104/16)


def test_resnet_placement_me_after_act1_and_mta_from_conv2():
    trunk = create_trunk("resnet50")
    old = trunk.layer2[0].conv2.weight.detach().clone()  # (128, 128, 3, 3), stride 2
    _add_tea(trunk)
    block = trunk.layer2[0]
    assert isinstance(block.act1.temporal, MotionExcitation)
    mta = block.conv2
    assert isinstance(mta, MultipleTemporalAggregation) and not mta.cascade
    assert isinstance(mta.pool, nn.AvgPool2d) and all(c.stride == (2, 2) for c in mta.convs)
    torch.testing.assert_close(mta.convs[1].weight, old[32:64, 32:64])  # diagonal block 1
    assert trunk.layer2[1].conv2.cascade and isinstance(trunk.layer2[1].conv2.pool, nn.Identity)
    assert block(torch.randn(T, 256, 16, 16)).shape == (T, 512, 8, 8)
    basic = _add_tea(create_trunk("resnet18"))
    assert basic.layer3[0].act1.temporal.conv_exp.out_channels == 256
    assert basic.layer3[0].conv2.cascade  # BasicBlock: the stride is on conv1
