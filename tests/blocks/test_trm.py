"""TRM: the relocation of Eqs. (13)-(14), the predictors of Eqs. (6)-(11), where it sits."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightning_vid.blocks.trm import TemporalRelocation, temporal_relocation
from lightning_vid.blocks.tsm import temporal_shift
from lightning_vid.models import build_model
from lightning_vid.trunk.adapter import block_input_sizes, create_trunk

T = 4
VARIANTS = ("c", "s", "t")


def _reference(x, rel, t):
    """Eqs. (13)-(14) literally: y[t] = sum_s max(0, 1 - |s - t - R|) x[s], s over the clip."""
    n, c, h, w = x.shape
    x5 = x.view(-1, t, c, h, w)
    r5 = rel.expand_as(x).reshape(-1, t, c, h, w)
    source = torch.arange(t, dtype=x.dtype).view(1, 1, t, 1, 1, 1)
    target = torch.arange(t, dtype=x.dtype).view(1, t, 1, 1, 1, 1) + r5.unsqueeze(2)
    weight = (1 - (source - target).abs()).clamp(min=0)  # (B, T out, T in, C, H, W)
    return (weight * x5.unsqueeze(1)).sum(2).view(n, c, h, w)


def _block(variant, channels=16, size=4, **kw):
    m = TemporalRelocation(channels, T, variant=variant, feature_size=size, **kw)
    with torch.no_grad():  # leave the identity start: a predictor that relocates
        nn.init.normal_(m.predictor.weight, std=0.3)
        nn.init.normal_(m.predictor.bias, std=0.3)
    return m


def test_zero_relocation_is_identity_and_the_module_starts_there():
    x = torch.randn(2 * T, 16, 4, 4)
    assert torch.equal(temporal_relocation(x, torch.zeros_like(x), T), x)
    for variant in VARIANTS:
        m = TemporalRelocation(16, T, variant=variant, feature_size=4)
        assert torch.equal(m(x), x), variant


def test_plus_minus_one_on_an_eighth_each_is_tsm_shift():
    x = torch.randn(2 * T, 16, 3, 3)
    rel = torch.zeros_like(x)
    rel[:, :2], rel[:, 2:4] = 1.0, -1.0  # first 1/8 from t+1, next 1/8 from t-1
    assert torch.equal(temporal_relocation(x, rel, T), temporal_shift(x, T))
    # the module reaches it too when it relocates 1/4 of the channels (fold_div=4)
    m = TemporalRelocation(16, T, variant="t", fold_div=4)
    with torch.no_grad():
        m.predictor.bias.copy_(torch.tensor([1.0] * 2 + [-1.0] * 2).div(T).atanh())
    torch.testing.assert_close(m(x), temporal_shift(x, T), rtol=0, atol=1e-5)


def test_fractional_relocation_interpolates_linearly_with_zero_borders():
    x = torch.randn(T, 1, 1, 1) + 2  # one clip, values away from zero
    v = x.flatten()
    y = temporal_relocation(x, torch.full_like(x, 0.25), T).flatten()
    torch.testing.assert_close(y[:-1], 0.75 * v[:-1] + 0.25 * v[1:])
    torch.testing.assert_close(y[-1], 0.75 * v[-1])  # x[T] is zero padding
    y = temporal_relocation(x, torch.full_like(x, -1.5), T).flatten()
    torch.testing.assert_close(y[2:], 0.5 * v[1:-1] + 0.5 * v[:-2])
    torch.testing.assert_close(y[:2], torch.stack([0 * v[0], 0.5 * v[0]]))
    assert temporal_relocation(x, torch.full_like(x, float(T)), T).abs().sum() == 0
    # random per-(c, t, h, w) offsets over the whole range [-T, T]
    x = torch.randn(2 * T, 5, 3, 2)
    rel = (torch.rand_like(x) * 2 - 1) * T
    torch.testing.assert_close(temporal_relocation(x, rel, T), _reference(x, rel, T))


def test_gradients_reach_the_relocation():
    x = torch.randn(T, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    frac = torch.rand(T, 3, 2, 2, dtype=torch.float64) * 0.8 + 0.1  # away from the kinks
    rel = (torch.randint(-T, T, frac.shape) + frac).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, r: temporal_relocation(a, r, T), (x, rel))
    (grad,) = torch.autograd.grad(temporal_relocation(x, rel, T).sum(), rel)
    lo = torch.arange(T).view(-1, 1, 1, 1) + rel.detach().floor().long()
    xp = torch.cat([torch.zeros(T, 3, 2, 2), x.detach(), torch.zeros(T + 1, 3, 2, 2)])  # x[-T..2T]
    slope = xp.gather(0, lo + 1 + T) - xp.gather(0, lo + T)  # x[lo + 1] - x[lo]
    torch.testing.assert_close(grad, slope)


@pytest.mark.parametrize("variant", VARIANTS)
def test_zero_initialised_predictor_still_receives_gradients(variant):
    m = TemporalRelocation(16, T, variant=variant, feature_size=4)
    x = torch.randn(2 * T, 16, 4, 4)
    (m(x) * torch.randn_like(x)).sum().backward()
    assert m.predictor.weight.grad.abs().sum() > 0 and m.predictor.bias.grad.abs().sum() > 0
    with torch.no_grad():  # one SGD step leaves the identity
        for p in m.parameters():
            p -= 0.1 * p.grad
    assert m.relocation(x[:, :2]).abs().amax() > 1e-3


def test_ctrm_is_eq10_one_kernel_per_output_pixel():
    m = _block("c", channels=16, size=(2, 3))
    b, cr, h, w = 2, 2, 2, 3
    xr = torch.randn(b * T, cr, h, w)
    # Eq. (10): R'(c0, t0, i) = sum_{s, cn, tn} W[i, s, cn, tn] X(c0 + cn, t0 + tn, s), zero pad
    xs = xr.view(b, T, cr, h * w).permute(0, 3, 2, 1)  # X(c, t, s) as (B, S, C', T)
    weight, bias = m.predictor.weight, m.predictor.bias  # (HW out, HW in, 3, 7)
    xpad = nn.functional.pad(xs, (3, 3, 1, 1))
    ref = bias.view(1, -1, 1, 1).expand(b, h * w, cr, T).clone()
    for cn in range(3):
        for tn in range(7):
            patch = xpad[:, :, cn:cn + cr, tn:tn + T]
            ref += torch.einsum("is,bsct->bict", weight[:, :, cn, tn], patch)
    ref = torch.tanh(ref) * T  # (B, HW, C', T), pixel i = h * W + w
    got = m.relocation(xr).view(b, T, cr, h * w).permute(0, 3, 2, 1)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)


def test_strm_and_ttrm_are_eqs_6_and_8_a_conv_over_time_and_space():
    for variant, ks in (("s", 3), ("t", 1)):
        m = _block(variant)
        xr = torch.randn(2 * T, 2, 4, 4)  # the C' = 2 relocated channels
        w = m.predictor.weight.view(2, 7, 2, ks, ks).transpose(1, 2)  # (C', C', kt, ks, ks)
        x3 = xr.view(2, T, 2, 4, 4).transpose(1, 2)  # (B, C', T, H, W)
        ref = F.conv3d(x3, w, m.predictor.bias, padding=(3, ks // 2, ks // 2))
        ref = torch.tanh(ref).mul(T).transpose(1, 2).reshape(2 * T, 2, 4, 4)
        torch.testing.assert_close(m.relocation(xr), ref, rtol=1e-4, atol=1e-5)


def test_context_of_each_variant():
    """cTRM reads every pixel, sTRM a ks x ks neighbourhood, tTRM only the pixel itself."""
    x = torch.randn(T, 16, 5, 5)
    x2 = x.clone()
    x2[:, :2, 0, 0] += 1.0  # perturb pixel (0, 0) of the relocated channels
    for variant, far, near in [("c", True, True), ("s", False, True), ("t", False, False)]:
        m = _block(variant, size=5)
        r, r2 = m.relocation(x[:, :2]), m.relocation(x2[:, :2])
        assert not torch.equal(r[..., 0, 0], r2[..., 0, 0])
        assert (not torch.equal(r[..., 1, 1], r2[..., 1, 1])) == near, variant
        assert (not torch.equal(r[..., 4, 4], r2[..., 4, 4])) == far, variant


@pytest.mark.parametrize("variant", VARIANTS)
def test_spatial_agnostic_relocation_is_the_same_at_every_pixel(variant):
    aware = _block(variant)
    agnostic = TemporalRelocation(16, T, variant=variant, feature_size=4, spatial_agnostic=True)
    agnostic.load_state_dict(aware.state_dict())
    aware.record = agnostic.record = True
    x = torch.randn(2 * T, 16, 4, 4)
    y_aware, y = aware(x), agnostic(x)
    r = agnostic.last_outputs["relocation"]  # (B, T, C', H, W)
    assert r.shape == (2, T, 2, 4, 4) and not r.requires_grad
    assert torch.equal(r, r[..., :1, :1].expand_as(r))
    assert r.std() > 0.1  # still varies over clips, frames, channels
    mean = aware.last_outputs["relocation"].mean(dim=(3, 4), keepdim=True)
    torch.testing.assert_close(r, mean.expand_as(r))
    assert aware.last_outputs["relocation"].std(dim=(3, 4)).amin() > 0
    torch.testing.assert_close(y[:, :2], _reference(x[:, :2], r.reshape(2 * T, 2, 4, 4), T))
    torch.testing.assert_close(y[:, 2:], x[:, 2:])
    assert not torch.allclose(y, y_aware)


@pytest.mark.parametrize("variant", VARIANTS)
def test_never_mixes_clips(variant):
    m = _block(variant)
    x = torch.randn(3 * T, 16, 4, 4)
    x2 = x.clone()
    x2[T:] = torch.randn_like(x2[T:]) * 5
    torch.testing.assert_close(m(x)[:T], m(x2)[:T], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(m(x)[:T], m(x[:T]), rtol=1e-4, atol=1e-4)


def test_errors_name_the_option():
    m = _block("c")
    with pytest.raises(ValueError, match="feature_size"):
        TemporalRelocation(16, T)
    with pytest.raises(ValueError, match="built for 4x4 .* got 5x5"):
        m(torch.randn(T, 16, 5, 5))
    with pytest.raises(ValueError, match="variant"):
        TemporalRelocation(16, T, variant="x", feature_size=4)


def test_placement_and_per_block_feature_sizes():
    model = build_model("trm", num_classes=3, num_segments=T, backbone="resnet18", input_size=48)
    trms = {n: m for n, m in model.named_modules() if isinstance(m, TemporalRelocation)}
    assert sorted(trms) == [f"trunk.layer{s}.{i}.conv1.temporal" for s in (3, 4) for i in (0, 1)]
    seen = {}
    hooks = [m.register_forward_pre_hook(lambda mod, a, n=n: seen.update({n: a[0].shape[-1]}))
             for n, m in trms.items()]
    model(torch.randn(1, T, 3, 48, 48))  # 48 -> 12 (stem) -> 6 -> 3 -> 2, rounding up
    for h in hooks:
        h.remove()
    assert seen == {n: m.feature_size[0] for n, m in trms.items()}
    assert [m.feature_size[0] for m in trms.values()] == [6, 3, 3, 2]
    with pytest.raises(ValueError, match="input_size"):
        model(torch.randn(1, T, 3, 64, 64))
    with torch.device("meta"):  # the paper's setting (strides only): layer3.0 sees 28^2 at 224
        trunk = create_trunk("resnet50")
    sizes = block_input_sizes(trunk, 224)
    assert [sizes[trunk.layer3[i]] for i in (0, 1, 5)] == [28, 14, 14]
    assert [sizes[trunk.layer4[i]] for i in (0, 1)] == [14, 7]
    m = trms["trunk.layer3.0.conv1.temporal"]
    assert m.predictor.weight.shape == (36, 36, 3, 7) and m.relocated == 128 // 8
    assert sum(p.numel() for p in m.parameters()) == 36 * 36 * 21 + 36


def _predictor_grads(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [m.predictor.weight.grad.abs().sum().item() for m in model.modules()
            if isinstance(m, TemporalRelocation)]


def test_from_scratch_the_predictor_learns_from_the_second_step_not_the_first():
    """The header's claim: timm zero-initialises the last BN of every residual branch, so on
    the first step no gradient reaches TRM (it sits inside the branch); that step moves the
    BN's weight and the predictors get gradient from the second step. In a trunk whose last
    BN is not zero (pretrained, or the paper's two stages) they get it at once."""
    torch.manual_seed(0)
    model = build_model("trm", num_classes=3, num_segments=T, backbone="resnet18", input_size=32)
    x, y = torch.randn(4, T, 3, 32, 32), torch.tensor([0, 1, 2, 0])
    last_bns = [b.bn2 for s in (3, 4) for b in getattr(model.trunk, f"layer{s}")]
    assert all(bn.weight.abs().sum() == 0 for bn in last_bns)  # timm's zero_init_last
    assert _predictor_grads(model, x, y) == [0.0] * 4
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert all(bn.weight.abs().sum() > 0 for bn in last_bns)
    assert all(g > 0 for g in _predictor_grads(model, x, y))
    trained_like = build_model("trm", num_classes=3, num_segments=T, backbone="resnet18",
                               input_size=32)
    with torch.no_grad():
        for s in (3, 4):
            for b in getattr(trained_like.trunk, f"layer{s}"):
                b.bn2.weight.fill_(1.0)
    assert all(g > 0 for g in _predictor_grads(trained_like, x, y))
