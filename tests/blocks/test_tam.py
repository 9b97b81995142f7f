"""TAM (TANet): eq. (7) against a direct loop, both branches recomputed from their weights,
the hand-written backward, the paper's variants, T baked into G, recording and placement."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightning_vid.blocks.tam import TemporalAdaptiveModule, temporal_adaptive
from lightning_vid.models import build_model
from lightning_vid.models.complexity import count_params

T = 4


def _direct(x, kernel, importance, reverse=False):
    """Eq. (7) one (n, c) signal, one frame and one tap at a time, zero outside [0, T)."""
    nt, c, h, w = x.shape
    k_size, pad = kernel.shape[-1], kernel.shape[-1] // 2
    x5 = x.view(nt // T, T, c, h, w)
    y = torch.zeros_like(x5)
    for n in range(x5.shape[0]):
        for ch in range(c):
            v = importance[n, ch]
            z = x5[n, :, ch] if reverse else x5[n, :, ch] * v[:, None, None]
            for t in range(T):
                for k in range(k_size):
                    if 0 <= t + k - pad < T:
                        y[n, t, ch] += kernel[n, ch, k] * z[t + k - pad]
            if reverse:
                y[n, :, ch] *= v[:, None, None]
    return y.view(nt, c, h, w)


def _inputs(n=2, c=3, k_size=3, size=5, dtype=torch.float32):
    x = torch.randn(n * T, c, size, size, dtype=dtype)
    kernel = torch.softmax(torch.randn(n, c, k_size, dtype=dtype), dim=-1)
    importance = torch.rand(n, c, T, dtype=dtype)
    return x, kernel, importance


class _Fixed(nn.Module):
    """Stands in for a branch: returns ``value`` broadcast to the branch's output shape."""

    def __init__(self, value, shape):
        super().__init__()
        self.value, self.shape = value, shape

    def forward(self, inp):
        return self.value.expand(*self.shape(inp))


def _randomise_bn(module):
    for m in module.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.5, 0.5)
    return module.eval()


def _bn(h, bn):
    return (h - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias


def test_centre_kernel_with_unit_importance_is_the_identity():
    x, _, _ = _inputs()
    centre = torch.tensor([0.0, 1.0, 0.0])
    y = temporal_adaptive(x, T, centre.expand(2, 3, 3), torch.ones(2, 3, T))
    assert torch.equal(y, x)
    m = TemporalAdaptiveModule(8, T).eval()
    m.global_branch = _Fixed(centre, lambda rows: (rows.shape[0], 3))  # rows: (B*C, T)
    m.local_branch = _Fixed(torch.ones(()), lambda pooled: pooled.shape)  # (B, C, T)
    x = torch.randn(2 * T, 8, 4, 4)
    assert torch.equal(m(x), x)


def test_one_hot_kernel_shifts_like_tsm_with_zero_border():
    """Sec. 3.4.1: Theta = [1, 0, 0] reads frame t-1 (TSM's shift right), [0, 0, 1] frame t+1."""
    x, _, _ = _inputs()
    x5 = x.view(2, T, 3, 5, 5)
    back = temporal_adaptive(x, T, torch.tensor([1.0, 0, 0]).expand(2, 3, 3)).view_as(x5)
    fwd = temporal_adaptive(x, T, torch.tensor([0, 0, 1.0]).expand(2, 3, 3)).view_as(x5)
    torch.testing.assert_close(back[:, 1:], x5[:, :-1])
    assert back[:, 0].abs().sum() == 0
    torch.testing.assert_close(fwd[:, :-1], x5[:, 1:])
    assert fwd[:, -1].abs().sum() == 0


@pytest.mark.parametrize("k_size", [1, 3, 5])
@pytest.mark.parametrize("reverse", [False, True])
def test_aggregation_equals_direct_per_channel_computation(k_size, reverse):
    x, kernel, importance = _inputs(k_size=k_size)
    y = temporal_adaptive(x, T, kernel, importance, reverse=reverse)
    torch.testing.assert_close(y, _direct(x, kernel, importance, reverse))
    y = temporal_adaptive(x, T, kernel)  # global only: V = 1
    torch.testing.assert_close(y, _direct(x, kernel, torch.ones_like(importance)))


@pytest.mark.parametrize("reverse,k_size", [(False, 3), (True, 3), (False, 5)])
def test_hand_written_backward_matches_numerical_gradients(reverse, k_size):
    x, kernel, importance = (t.requires_grad_() for t in _inputs(n=2, c=2, k_size=k_size,
                                                                 size=2, dtype=torch.float64))
    assert torch.autograd.gradcheck(
        lambda *a: temporal_adaptive(a[0], T, a[1], a[2], reverse=reverse),
        (x, kernel, importance),
    )
    assert torch.autograd.gradcheck(lambda a, b: temporal_adaptive(a, T, b), (x, kernel))


def test_module_is_eq7_of_its_branches_recomputed_from_the_weights():
    c = 8
    m = _randomise_bn(TemporalAdaptiveModule(c, T))
    m.record = True
    x = torch.randn(2 * T, c, 5, 5)
    with torch.no_grad():
        y = m(x)
        pooled = x.mean((2, 3)).view(2, T, c)  # eq. (1)
        lin1, bn_g, _, lin2, _ = m.global_branch
        h = torch.relu(_bn(pooled.transpose(1, 2) @ lin1.weight.T, bn_g))  # eq. (4)
        kernel = torch.softmax(h @ lin2.weight.T, dim=-1)  # (B, C, K)
        conv1, bn_l, _, conv2, _ = m.local_branch
        h = F.conv1d(pooled.transpose(1, 2), conv1.weight, padding=1)  # eq. (3)
        h = torch.relu(_bn(h.transpose(1, 2), bn_l)).transpose(1, 2)
        importance = torch.sigmoid(F.conv1d(h, conv2.weight))  # (B, C, T)
    torch.testing.assert_close(m.last_outputs["kernel"], kernel)
    torch.testing.assert_close(m.last_outputs["importance"], importance)
    torch.testing.assert_close(y, _direct(x, kernel, importance))


def test_recorded_kernel_is_a_softmax_and_importance_a_sigmoid():
    m = TemporalAdaptiveModule(16, T, kernel_size=5)
    x = torch.randn(3 * T, 16, 6, 6, requires_grad=True)
    m(x)
    assert m.last_outputs == {}  # off by default
    m.record = True
    m(x)
    kernel, importance = m.last_outputs["kernel"], m.last_outputs["importance"]
    assert kernel.shape == (3, 16, 5) and importance.shape == (3, 16, T)
    assert not kernel.requires_grad and not importance.requires_grad
    torch.testing.assert_close(kernel.sum(-1), torch.ones(3, 16))
    assert (kernel > 0).all() and (importance > 0).all() and (importance < 1).all()


def test_variants_compute_what_they_document():
    c = 8
    x = torch.randn(2 * T, c, 5, 5)
    full = _randomise_bn(TemporalAdaptiveModule(c, T))
    rev = _randomise_bn(TemporalAdaptiveModule(c, T, variant="tanet_r"))
    rev.load_state_dict(full.state_dict())
    for m in (full, rev):
        m.record = True
    with torch.no_grad():
        y_full, y_rev = full(x), rev(x)
    kernel, importance = full.last_outputs["kernel"], full.last_outputs["importance"]
    torch.testing.assert_close(rev.last_outputs["kernel"], kernel)
    torch.testing.assert_close(y_rev, _direct(x, kernel, importance, reverse=True))
    assert not torch.allclose(y_rev, y_full, atol=1e-4)

    local = TemporalAdaptiveModule(c, T, variant="local").eval()
    local.record = True
    y = local(x)
    assert local.global_branch is None and set(local.last_outputs) == {"importance"}
    v = local.last_outputs["importance"].transpose(1, 2).reshape(2 * T, c, 1, 1)
    torch.testing.assert_close(y, x * v)

    glob = TemporalAdaptiveModule(c, T, variant="global").eval()
    glob.record = True
    y = glob(x)
    assert glob.local_branch is None and set(glob.last_outputs) == {"kernel"}
    ones = torch.ones(2, c, T)
    torch.testing.assert_close(y, _direct(x, glob.last_outputs["kernel"], ones))


def test_parameter_counts_match_the_official_module():
    """reference-notes 11: C = 256, T = 8 -> L 65,664 + G 208 = 65,872."""
    assert count_params(TemporalAdaptiveModule(256, 8)) == 65_872
    assert count_params(TemporalAdaptiveModule(256, 8, variant="local")) == 65_664
    assert count_params(TemporalAdaptiveModule(256, 8, variant="global")) == 208
    assert count_params(TemporalAdaptiveModule(256, 8, variant="global", global_bn=False)) == 176
    assert count_params(TemporalAdaptiveModule(256, 8, alpha=4, beta=2)) == (
        256 * 128 * 3 + 128 * 256 + 2 * 128 + 8 * 32 + 32 * 3 + 2 * 32
    )
    m = TemporalAdaptiveModule(64, 8, kernel_size=5, local_kernel_size=5)
    assert m.local_branch[0].weight.shape == (16, 64, 5) and m.global_branch[3].out_features == 5


def test_num_segments_is_baked_into_the_global_branch():
    m = TemporalAdaptiveModule(16, T, alpha=2)
    assert m.global_branch[0].weight.shape == (2 * T, T)
    with pytest.raises(ValueError, match=f"num_segments={T}.*6 frames"):
        m(torch.randn(6, 16, 4, 4))
    with pytest.raises(ValueError, match="odd"):
        TemporalAdaptiveModule(16, T, kernel_size=4)
    with pytest.raises(ValueError, match="variant"):
        TemporalAdaptiveModule(16, T, variant="both")


def test_channels_last_input_gives_the_same_values():
    m = _randomise_bn(TemporalAdaptiveModule(8, T)).eval()
    x = torch.randn(3 * T, 8, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(m(x.to(memory_format=torch.channels_last)), m(x))


@pytest.mark.parametrize("backbone,widths", [
    ("resnet18", [64] * 2 + [128] * 2 + [256] * 2 + [512] * 2),
    ("resnet50", [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3),
])
def test_one_tam_after_act1_of_every_block(backbone, widths):
    model = build_model("tam", num_classes=400, num_segments=8, backbone=backbone)
    tams = [(n, m) for n, m in model.named_modules() if isinstance(m, TemporalAdaptiveModule)]
    assert all(n.endswith(".act1.temporal") for n, _ in tams)
    assert [m.channels for _, m in tams] == widths
    if backbone == "resnet50":  # reference-notes 11: the official TANet-R50, 400 classes
        assert count_params(model) == 25_590_320
