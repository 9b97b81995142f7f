"""TCM: the correlation and match estimation (Eqs. 1-5), the slow/fast pairing, the
temporal attention (Eqs. 10-11), and where the module sits in the trunk."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightning_vid.blocks.correlation import (
    dense_local_correlation,
    kernel_soft_argmax,
    local_correlation,
)
from lightning_vid.blocks.tcm import (
    TCMAttention,
    TemporalCorrelation,
    eca_kernel_size,
    tempo_dynamics,
    tempo_pairs,
)
from lightning_vid.blocks.tsm import TemporalShift
from lightning_vid.models import build_model


def _normalise(x):
    return x / x.norm(dim=1, keepdim=True)


def test_correlation_is_the_windowed_dot_product():
    """corr[n, i*D+j, y, x] = <f1[n, :, y, x], f2[n, :, y+i-R, x+j-R]>, zero outside."""
    n, c, h, w, r = 2, 3, 5, 6, 2
    f1, f2 = torch.randn(n, c, h, w), torch.randn(n, c, h, w)
    corr = local_correlation(f1, f2, r)
    d = 2 * r + 1
    expected = torch.zeros(n, d * d, h, w)
    for i in range(d):
        for j in range(d):
            for y in range(h):
                for x in range(w):
                    y2, x2 = y + i - r, x + j - r
                    if 0 <= y2 < h and 0 <= x2 < w:
                        expected[:, i * d + j, y, x] = (f1[:, :, y, x] * f2[:, :, y2, x2]).sum(1)
    torch.testing.assert_close(corr, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,radius", [((3, 4, 6, 7), 2), ((2, 5, 4, 9), 7), ((1, 2, 3, 3), 0)])
def test_correlation_equals_dense_reference_with_gradients(shape, radius):
    f1 = torch.randn(*shape, dtype=torch.double, requires_grad=True)
    f2 = torch.randn(*shape, dtype=torch.double, requires_grad=True)
    torch.testing.assert_close(local_correlation(f1, f2, radius),
                               dense_local_correlation(f1, f2, radius))
    assert torch.autograd.gradcheck(lambda a, b: local_correlation(a, b, radius), (f1, f2),
                                    fast_mode=True)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit.trace
def test_traced_correlation_equals_eager():
    """The out-of-place path taken under tracing (export, fvcore) gives the same values."""
    f1, f2 = torch.randn(2, 4, 6, 7), torch.randn(2, 4, 6, 7)
    traced = torch.jit.trace(lambda a, b: local_correlation(a, b, 2), (f1, f2))
    g1, g2 = torch.randn(3, 4, 5, 9), torch.randn(3, 4, 5, 9)
    torch.testing.assert_close(traced(g1, g2), local_correlation(g1, g2, 2))


def _peak_bytes(fn):
    profile = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                     profile_memory=True)
    with profile:
        out = fn()
    events = sorted((e for e in profile.profiler.kineto_results.events()
                     if e.name() == "[memory]"), key=lambda e: e.start_ns())
    current = peak = 0
    for e in events:
        current += e.nbytes()
        peak = max(peak, current)
    return peak, out.numel() * out.element_size()


def test_correlation_peak_memory_is_at_most_three_volumes():
    """Output plus at most twice its size in temporaries (the dense reference needs more)."""
    f1, f2 = torch.randn(4, 16, 16, 16), torch.randn(4, 16, 16, 16)
    peak, volume = _peak_bytes(lambda: local_correlation(f1, f2, 3))
    assert peak <= 3 * volume, (peak, volume)
    peak_dense, _ = _peak_bytes(lambda: dense_local_correlation(f1, f2, 3))
    assert peak_dense > 3 * volume  # the check can tell the two apart


def test_soft_argmax_recovers_an_integer_shift():
    """f2 = f1 moved by (dy, dx) = (2, -3): u, v = dx/R, dy/R and confidence 1 where the
    match lies inside the map."""
    r, dy, dx = 4, 2, -3
    f1 = _normalise(torch.randn(2, 64, 16, 16))
    f2 = torch.roll(f1, shifts=(dy, dx), dims=(2, 3))
    flow, conf = kernel_soft_argmax(F.relu(local_correlation(f1, f2, r)), r)
    inner = (slice(None), slice(0, 16 - dy), slice(-dx, 16))
    torch.testing.assert_close(flow[:, 0][inner], torch.full((2, 14, 13), dx / r))
    torch.testing.assert_close(flow[:, 1][inner], torch.full((2, 14, 13), dy / r))
    torch.testing.assert_close(conf[:, 0][inner], torch.ones(2, 14, 13))


@pytest.mark.parametrize("gaussian", ["code", "paper"])
def test_soft_argmax_is_eq3_with_a_gaussian_around_the_hard_argmax(gaussian):
    r, sigma, tau = 2, 1.5, 0.1
    d = 2 * r + 1
    corr = torch.rand(3, d * d, 2, 2)
    flow, conf = kernel_soft_argmax(corr, r, sigma=sigma, tau=tau, gaussian=gaussian)
    for n in range(3):
        for y in range(2):
            for x in range(2):
                s = corr[n, :, y, x].view(d, d)
                iy, ix = divmod(int(s.argmax()), d)
                p = torch.stack(torch.meshgrid(torch.arange(d), torch.arange(d), indexing="ij"))
                sq = (p[0] - iy) ** 2 + (p[1] - ix) ** 2
                g = (torch.exp(-sq / (2 * sigma**2)) if gaussian == "code"
                     else torch.exp(-sq / sigma**2) / (math.sqrt(2 * math.pi) * sigma))
                prob = torch.softmax((g * s / tau).flatten(), 0).view(d, d)
                u = (prob * (p[1] - r)).sum() / r
                v = (prob * (p[0] - r)).sum() / r
                torch.testing.assert_close(flow[n, :, y, x], torch.stack((u, v)))
                torch.testing.assert_close(conf[n, 0, y, x], s.max())


def test_kernel_suppresses_a_distant_second_peak():
    """Two near-equal peaks 6 steps apart: the kernel keeps the argmax, a plain softmax
    (sigma -> infinity) would land between them."""
    r = 3
    corr = torch.zeros(1, 49, 1, 1)
    corr[0, 3 * 7 + 0] = 1.0  # (dy, dx) = (0, -3)
    corr[0, 3 * 7 + 6] = 0.99  # (dy, dx) = (0, +3)
    u_kernel = kernel_soft_argmax(corr, r)[0][0, 0].item()
    u_plain = kernel_soft_argmax(corr, r, sigma=1e6)[0][0, 0].item()
    assert abs(u_kernel + 1.0) < 1e-6 and -0.9 < u_plain < 0.0


def test_pairs_fast_then_slow_within_each_clip():
    t = 4
    x = torch.tensor([10.0 * b + i for b in range(2) for i in range(t)]).view(2 * t, 1, 1, 1)
    first, second = tempo_pairs(x, t)
    first, second = first.view(2, 2 * (t - 1)), second.view(2, 2 * (t - 1))
    for b in range(2):
        assert first[b].tolist() == [10.0 * b + i for i in (0, 1, 2, 0, 0, 0)]
        assert second[b].tolist() == [10.0 * b + i for i in (1, 2, 3, 1, 2, 3)]


def test_motion_maps_fast_slow_and_last_step_duplicated():
    """A pattern moving 1 px right per frame: fast u = 1/R at every frame; slow u at frame t
    = (t+1)/R, the displacement from frame 0; frame T-1 repeats frame T-2."""
    t, r, size = 4, 3, 12
    base = torch.randn(2, 64, size, size)
    clip = torch.stack([torch.roll(base, shifts=k, dims=3) for k in range(t)], 1)
    maps = tempo_dynamics(clip.flatten(0, 1), t, radius=r).view(2, t, 6, size, size)
    inner = maps[..., : size - t]  # columns whose match has not wrapped around
    for k in range(t):
        step = min(k, t - 2) + 1
        torch.testing.assert_close(inner[:, k, 0], torch.full_like(inner[:, k, 0], 1 / r))
        torch.testing.assert_close(inner[:, k, 3], torch.full_like(inner[:, k, 3], step / r))
        torch.testing.assert_close(inner[:, k, [1, 4]], torch.zeros_like(inner[:, k, [1, 4]]))
        torch.testing.assert_close(inner[:, k, [2, 5]], torch.ones_like(inner[:, k, [2, 5]]))
    assert torch.equal(maps[:, -1], maps[:, -2])


def test_eca_kernel_size_follows_eq11_as_the_code_computes_it():
    assert [eca_kernel_size(t) for t in (2, 4, 8, 16, 32)] == [1, 3, 3, 5, 5]
    assert TCMAttention(32, 8).eca.kernel_size == (3,)
    assert TCMAttention(32, 16).eca.kernel_size == (5,)


def test_attention_is_one_temporal_kernel_shared_by_channels():
    """w[t] = sigmoid(sum_j k_j mean(y[t+j-1])), zero-padded at the clip borders."""
    t, c = 4, 5
    att = TCMAttention(c, t)
    with torch.no_grad():
        att.eca.weight.copy_(torch.tensor([[[1.0, 0.0, 0.0]]]))  # w[t] from frame t-1
    y = torch.randn(2 * t, c, 3, 3)
    w = att.weights(y).view(2, t, c)
    pooled = y.mean((2, 3)).view(2, t, c)
    torch.testing.assert_close(w[:, 1:], torch.sigmoid(pooled[:, :-1]))
    torch.testing.assert_close(w[:, 0], torch.full((2, c), 0.5))


def test_module_is_residual_with_displacements_in_the_window():
    t, c = 4, 32
    m = TemporalCorrelation(c, t, radius=2).eval()
    x = torch.randn(2 * t, c, 8, 8)
    m.record = True
    with torch.no_grad():
        out = m(x)
    rec = m.last_outputs  # (u, v) fast then slow, divided by R; confidence fast, slow
    assert rec["displacement"].shape == (2 * t, 4, 8, 8) and rec["confidence"].shape[1] == 2
    assert rec["displacement"].abs().max() <= 1 + 1e-6
    assert (out - x).min() >= 0  # x + non-negative features * sigmoid weights
    last_bn = m.attention.transform[-2]
    nn.init.zeros_(last_bn.weight)
    nn.init.zeros_(last_bn.bias)
    with torch.no_grad():
        torch.testing.assert_close(m(x), x)


def test_head_starts_as_the_codes_xavier_uniform_conv1d():
    """TCM's classifier: Conv1d(D, K, 1), Xavier-uniform weight, zero bias (models.py)."""
    fc = build_model("tcm", num_classes=400, num_segments=4, backbone="resnet18").fc
    bound = (6.0 / (512 + 400)) ** 0.5
    assert fc.weight.abs().max() <= bound and fc.weight.abs().max() > 0.99 * bound
    assert abs(fc.weight.std().item() / (bound / 3 ** 0.5) - 1) < 0.02 and not fc.bias.any()
    tsm_fc = build_model("tsm", num_classes=400, num_segments=4, backbone="resnet18").fc
    assert abs(tsm_fc.weight.std().item() / 0.001 - 1) < 0.02  # TSN's codebase: N(0, 0.001)


def test_needs_two_frames():
    with pytest.raises(ValueError, match="num_segments must be >= 2"):
        TemporalCorrelation(64, 1)


@pytest.mark.parametrize("backbone,channels,shifts", [("resnet18", 128, 8), ("resnet50", 512, 16)])
def test_one_tcm_after_res3_on_the_tsm_trunk(backbone, channels, shifts):
    model = build_model("tcm", num_classes=400, num_segments=8, backbone=backbone)
    found = [n for n, m in model.named_modules() if isinstance(m, TemporalCorrelation)]
    assert found == ["trunk.layer2.temporal"]
    assert sum(isinstance(m, TemporalShift) for m in model.modules()) == shifts
    tcm = model.trunk.layer2.temporal
    assert tcm.radius == 7 and tcm.reduce[0].in_channels == channels
    assert tcm.reduce[0].out_channels == channels // 8
    assert tcm.attention.transform[-3].out_channels == channels
    if backbone == "resnet50":  # the authors' code: 71,163 = MTDM 32,896 + attention 38,267
        assert sum(p.numel() for p in tcm.parameters()) == 71_163
        assert sum(p.numel() for p in model.parameters()) == 24_398_795


def test_position_and_window_are_configurable():
    model = build_model("tcm", num_classes=3, num_segments=4, backbone="resnet18", stages=(3, 4))
    assert model.trunk.layer3.temporal.radius == 3 and model.trunk.layer4.temporal.radius == 1
    assert model.trunk.layer3.temporal.reduce[0].in_channels == 256
    assert not hasattr(model.trunk.layer2, "temporal")
    model = build_model("tcm", num_classes=3, num_segments=4, backbone="resnet18", radius=2)
    assert model.trunk.layer2.temporal.radius == 2
    with pytest.raises(ValueError, match="stages are 1..4"):
        build_model("tcm", num_classes=3, num_segments=4, backbone="resnet18", stages=(5,))


def test_tcm_alone_makes_a_tsn_trunk_order_sensitive_at_224():
    """In train mode (batch statistics, permutation-invariant) and without dropout a TSN
    trunk ignores frame order; one TCM is enough to break that."""
    x = torch.randn(1, 4, 3, 224, 224)
    model = build_model("tcm", num_classes=5, num_segments=4, backbone="resnet18", shift=False,
                        dropout=0.0).train()
    with torch.no_grad():
        out, rev = model(x), model(x.flip(1))
    assert out.shape == (1, 5) and torch.isfinite(out).all()
    assert not torch.allclose(out, rev, rtol=1e-3, atol=1e-4)
