"""TDN: the difference stack, the S-TDM branch and its two fusions, the L-TDM's mathematics and
initialisation, placement, parameter counts, frame order within a segment."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightning_vid.blocks.ops import TemporalConv
from lightning_vid.blocks.tdn import LongTermTDM, ShortTermTDM, aligned_differences, rgb_differences
from lightning_vid.blocks.tsm import temporal_shift
from lightning_vid.models import build_model
from lightning_vid.trunk.adapter import create_trunk

T, L = 4, 5


def _randomise_bn(model):
    """Non-trivial BN (timm zero-inits the last BN of each residual branch)."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = torch.rand(c, generator=g) + 0.5
            m.bias.data = torch.randn(c, generator=g) * 0.1
            m.running_mean = torch.randn(c, generator=g) * 0.1
            m.running_var = torch.rand(c, generator=g) + 0.5
    return model


def _tdn(**kw):
    return build_model("tdn", num_classes=5, num_segments=T, backbone="resnet18", **kw).eval()


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return _randomise_bn(_tdn())


def test_difference_stack_and_centre():
    frames = torch.randn(6, L, 3, 8, 8)
    centre, d = rgb_differences(frames)
    assert torch.equal(centre, frames[:, 2])
    expected = torch.cat([frames[:, i + 1] - frames[:, i] for i in range(4)], dim=1)
    assert d.shape == (6, 12, 8, 8) and torch.equal(d, expected)


def test_short_term_conv_is_inflated_conv1_and_res2_a_copy():
    trunk = create_trunk("resnet18")
    stdm = ShortTermTDM.from_trunk(trunk, T)
    mean = trunk.conv1.weight.mean(dim=1)  # (64, 7, 7)
    assert stdm.conv.weight.shape == (64, 12, 7, 7)
    for k in range(12):
        torch.testing.assert_close(stdm.conv.weight[:, k], mean)
    assert stdm.stage is not trunk.layer1
    for (n, p), (_, q) in zip(stdm.stage.named_parameters(), trunk.layer1.named_parameters()):
        assert torch.equal(p, q) and p.data_ptr() != q.data_ptr(), n
    other = create_trunk("resnet18")  # weights loaded after the model was built
    stdm.init_from_trunk(other)
    torch.testing.assert_close(stdm.conv.weight[:, 5], other.conv1.weight.mean(dim=1))
    assert all(torch.equal(a, b) for a, b in zip(stdm.stage.state_dict().values(),
                                                 other.layer1.state_dict().values()))


def test_short_term_branch_is_pool_conv_bn_relu_maxpool_then_res2():
    stdm = _randomise_bn(ShortTermTDM.from_trunk(create_trunk("resnet18"), T)).eval()
    frames = torch.randn(3 * L, 3, 32, 32)  # 3 segments of L frames
    centre, maps = stdm(frames)
    d1, d2 = maps["stem"], maps["layer1"]
    centre_ref, d = rgb_differences(frames.view(3, L, 3, 32, 32))
    assert torch.equal(centre, centre_ref)
    bn = stdm.bn
    ref = F.conv2d(F.avg_pool2d(d, 2), stdm.conv.weight, stride=2, padding=3)
    ref = (ref - bn.running_mean[:, None, None]) / (bn.running_var[:, None, None] + bn.eps).sqrt()
    ref = F.max_pool2d((ref * bn.weight[:, None, None] + bn.bias[:, None, None]).relu(), 3, 2, 1)
    torch.testing.assert_close(d1, ref, rtol=1e-4, atol=1e-5)
    assert d1.shape == (3, 64, 4, 4)
    torch.testing.assert_close(d2, stdm.stage(d1))


def test_fusion_weights_follow_the_code(model):
    def weights(m):
        return m.short_term.alpha, m.short_term.beta

    assert weights(model) == (0.75, 0.25)  # T != 8
    assert weights(build_model("tdn", num_classes=5, num_segments=8, backbone="resnet18")) == (
        0.5, 0.5)
    assert weights(_tdn(fusion_weights=(1.0, 0.5))) == (1.0, 0.5)


@pytest.mark.parametrize("size", [16, 19])
def test_both_fusions_and_the_trunk_sees_only_centre_frames(model, size):
    x = torch.randn(2, T * L, 3, size, size)
    seen = {}
    hooks = [getattr(model.trunk, n).register_forward_pre_hook(
        lambda _, a, n=n: seen.__setitem__(n, a[0].clone())) for n in ("conv1", "layer1", "layer2")]
    with torch.no_grad():
        model(x)
        for h in hooks:
            h.remove()
        # segment-major: frames [5t, 5t+5) belong to segment t, its centre is frame 5t+2
        assert torch.equal(seen["conv1"], x[:, 2::L].flatten(0, 1))
        t, a, b = model.trunk, model.short_term.alpha, model.short_term.beta
        maps = model.short_term(x.flatten(0, 1))[1]
        d1, d2 = maps["stem"], maps["layer1"]
        stem = t.maxpool(t.act1(t.bn1(t.conv1(seen["conv1"]))))
        up1 = F.interpolate(d1, size=stem.shape[-2:], mode="nearest")
        torch.testing.assert_close(seen["layer1"], a * stem + b * up1)
        res2 = t.layer1(seen["layer1"])
        up2 = F.interpolate(d2, size=res2.shape[-2:], mode="nearest")
        torch.testing.assert_close(seen["layer2"], a * res2 + b * up2)


def test_without_the_short_term_branch_the_model_is_its_trunk_on_centre_frames(model):
    model = copy.deepcopy(model)
    model.short_term.alpha, model.short_term.beta = 1.0, 0.0
    x = torch.randn(2, T * L, 3, 16, 16)
    x_other = x.clone()
    x_other[:, [i for i in range(T * L) if i % L != 2]] = torch.randn(2, T * (L - 1), 3, 16, 16)
    with torch.no_grad():
        feats = model.frame_features(x.flatten(0, 1))
        trunk = model.trunk
        ref = trunk.forward_head(trunk.forward_features(x[:, 2::L].flatten(0, 1)), pre_logits=True)
        assert torch.equal(feats, ref)
        assert torch.equal(model(x), model(x_other))


def test_aligned_differences_are_bidirectional_with_zero_borders():
    z, s = torch.randn(2 * T, 3, 4, 4), torch.randn(2 * T, 3, 4, 4)
    fwd, bwd = (d.view(2, T, 3, 4, 4) for d in aligned_differences(z, s, T))
    z5, s5 = z.view(2, T, 3, 4, 4), s.view(2, T, 3, 4, 4)
    for t in range(T):
        want_f = s5[:, t + 1] - z5[:, t] if t < T - 1 else torch.zeros_like(z5[:, t])
        want_b = s5[:, t - 1] - z5[:, t] if t > 0 else torch.zeros_like(z5[:, t])
        assert torch.equal(fwd[:, t], want_f) and torch.equal(bwd[:, t], want_b)


def _ltdm_reference(m, x, first_release=False):
    """The L-TDM written out step by step from the notes; one BN call per direction."""
    z = m.reduce_bn(F.conv2d(x, m.reduce.weight))
    zs = F.conv2d(z, m.smooth.weight, padding=1, groups=z.shape[1])
    z5, s5 = z.view(-1, T, *z.shape[1:]), zs.view(-1, T, *z.shape[1:])
    zero = torch.zeros_like(z5[:, :1])
    df = torch.cat([s5[:, 1:] - z5[:, :-1], zero], 1).flatten(0, 1)
    db = torch.cat([zero, s5[:, :-1] - z5[:, 1:]], 1).flatten(0, 1)

    def full(d):
        return m.full_bn(F.conv2d(d, m.full_conv.weight, padding=1))

    def att(d, c):
        p = m.pooled_bn(F.conv2d(F.avg_pool2d(d, 2), m.pooled_conv.weight, padding=1))
        b = F.interpolate(p, size=d.shape[-2:], mode="nearest")
        return torch.sigmoid(m.expand_bn(F.conv2d((d + b + c) / 3, m.expand.weight))) - 0.5

    cf = full(df)
    cb = full(cf) if first_release else full(db)
    y = 0.5 * att(df, cf) + 0.5 * att(db, cb)
    return x + x * y, y


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("quirk", [False, True])
def test_long_term_module_matches_its_equations(quirk, train):
    m = _randomise_bn(LongTermTDM(64, T, first_release_backward_branch=quirk)).train(train)
    m.record = True
    ref_m = copy.deepcopy(m)
    x = torch.randn(2 * T, 64, 7, 7)
    out = m(x)
    ref, y = _ltdm_reference(ref_m, x, quirk)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(m.last_outputs["attention"], y, rtol=1e-4, atol=1e-5)
    for a, b in zip(m.buffers(), ref_m.buffers()):  # running statistics, updated per direction
        torch.testing.assert_close(a, b)
    assert y.abs().max() < 0.5 and y[:, :, 0, 0].ne(y[:, :, 3, 3]).any()  # per pixel
    other, _ = _ltdm_reference(m, x, not quirk)
    assert not torch.allclose(out, other, rtol=1e-3, atol=1e-4)  # the first release differs


def test_long_term_convs_start_as_the_authors_init_loop():
    """FBResNet's loop: every conv normal(0, sqrt(2 / (k*k*C_out))), BN weight 1, bias 0."""
    m = LongTermTDM(2048, T)  # c = 128 difference channels: enough weights for the statistics
    for conv in (m.reduce, m.smooth, m.pooled_conv, m.full_conv, m.expand):
        k, c_out = conv.kernel_size[0], conv.out_channels
        std = (2.0 / (k * k * c_out)) ** 0.5
        assert abs(conv.weight.std().item() / std - 1) < 0.1, conv
    assert all(torch.equal(bn.weight, torch.ones_like(bn.weight)) and not bn.bias.any()
               for bn in (m.reduce_bn, m.pooled_bn, m.full_bn, m.expand_bn))


def test_long_term_module_is_the_identity_where_its_attention_is_zero():
    m = _randomise_bn(LongTermTDM(32, T))
    nn.init.zeros_(m.expand_bn.weight)
    nn.init.zeros_(m.expand_bn.bias)
    x = torch.randn(2 * T, 32, 6, 6)
    for train in (True, False):
        m.train(train)
        assert torch.equal(m(x), x)
    assert m.last_outputs == {}  # nothing recorded unless asked
    m.record = True
    m(x)
    assert torch.equal(m.last_outputs["attention"], torch.zeros_like(x))


def test_long_term_module_handles_maps_down_to_one_pixel():
    m = LongTermTDM(32, T, upsample="bilinear").eval()
    for s in (1, 2, 3):
        assert m(torch.randn(T, 32, s, s)).shape == (T, 32, s, s)


def test_the_temporal_conv_after_each_ltdm_starts_as_tsm_shift(model):
    block = model.trunk.layer3[0].act1.temporal
    x = torch.randn(2 * T, block.tconv.weight.shape[0], 3, 3)
    assert torch.equal(block.tconv(x), temporal_shift(x, T))
    assert not hasattr(_tdn(temporal_conv=False).trunk.layer3[0].act1.temporal, "tconv")


def test_placement_and_parameter_counts_match_the_official_resnet50():
    model = build_model("tdn", num_classes=400, num_segments=8)
    ltdm = [n for n, m in model.named_modules() if isinstance(m, LongTermTDM)]
    assert len(ltdm) == 13 and all(n.endswith(".act1.temporal.ltdm") for n in ltdm)
    assert not any(n.startswith("trunk.layer1") for n in ltdm)
    count = lambda cls: sum(p.numel() for m in model.modules() if isinstance(m, cls)  # noqa: E731
                            for p in m.parameters())
    assert count(LongTermTDM) == 253_728 and count(TemporalConv) == 10_752  # notes 11
    stdm = model.short_term
    assert sum(p.numel() for p in [*stdm.conv.parameters(), *stdm.bn.parameters()]) == 37_760
    # official 24,883,120 minus its 28,032 never-loaded conv biases and unused conv1_temp
    assert sum(p.numel() for p in model.parameters()) == 24_883_120 - 28_032 - 9_408


def test_frame_order_within_a_segment_matters(model):
    """S-TDM's differences see the order of the L frames (the contract test checks the order
    of the segments)."""
    x = torch.randn(2, T * L, 3, 16, 16)
    frames_reversed = x.view(2, T, L, 3, 16, 16).flip(2).flatten(1, 2)
    with torch.no_grad():
        assert not torch.allclose(model(x), model(frames_reversed), rtol=1e-3, atol=1e-4)


def test_bad_frames_per_segment_is_rejected():
    with pytest.raises(ValueError, match="odd"):
        _tdn(frames_per_segment=4)
