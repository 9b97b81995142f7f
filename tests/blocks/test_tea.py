"""TEA: ME's motion, attention and excitation; MTA's part-shift init and cascade on the Res2Net
block (the paper's); a plain ResNet trunk refused by name, in Python and from the command."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lightning_vid.blocks.ops import TemporalConv
from lightning_vid.blocks.tea import MotionExcitation, tea
from lightning_vid.blocks.tsm import temporal_shift
from lightning_vid.models import build_model
from lightning_vid.trunk.adapter import create_trunk, stages

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
    """Appendix A: the sub-convs' tconvs start as the identity, the pass-through's as a shift
    (first half of its channels from t+1, second half from t-1)."""
    block = tea(104, T, target=create_trunk("res2net50_26w_4s").layer1[1])  # 4 splits of 26
    for conv in block.convs:
        assert torch.equal(conv.temporal.weight[:, 0], torch.tensor([0.0, 1.0, 0.0]).expand(26, 3))
    w = block.pool.temporal.weight[:, 0]
    assert torch.equal(w[:13], torch.tensor([0.0, 0.0, 1.0]).expand(13, 3))  # from t+1
    assert torch.equal(w[13:], torch.tensor([1.0, 0.0, 0.0]).expand(13, 3))  # from t-1
    x = torch.randn(2 * T, 26, 3, 3)
    torch.testing.assert_close(block.convs[0].temporal(x), x)
    torch.testing.assert_close(block.pool.temporal(x), temporal_shift(x, T, fold_div=2))


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


ROOT = Path(__file__).resolve().parents[2]
TEA_CONFIG = ROOT / "lightning_vid" / "configs" / "tea_r2n50_4x1_synthetic.yaml"


@pytest.mark.parametrize("backbone", ["resnet18", "resnet50.tv_in1k", "resnext50_32x4d"])
def test_a_plain_resnet_trunk_is_refused_by_name_before_any_weight_is_built(backbone,
                                                                            monkeypatch):
    import lightning_vid.models.recognizer as recognizer

    def no_trunk(*args, **kwargs):
        raise AssertionError("a trunk was built")

    monkeypatch.setattr(recognizer, "create_trunk", no_trunk)
    with pytest.raises(ValueError, match=f"tea cannot be built on backbone '{backbone}'.*"
                       "Res2Net.*backbone='res2net50_26w_4s'"):
        build_model("tea", num_classes=5, num_segments=T, backbone=backbone)
    with pytest.raises(TypeError, match="Res2Net Bottle2neck"):  # the block alone, too
        tea(64, T, target=create_trunk("resnet18").layer1[0])


def test_the_command_refuses_tea_on_resnet18_with_that_message(tmp_path):
    """The installed ``lightning-vid`` on TEA's synthetic config with a ResNet-18 trunk: a
    config error (exit 2, as every config error) naming the backbone and Res2Net, before any
    run folder is made."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lightning-vid"), "fit", "--config", str(TEA_CONFIG),
         "--model.model.init_args.backbone", "resnet18"],
        capture_output=True, text=True, cwd=tmp_path, env={"WANDB_MODE": "offline",
                                                            "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert "'resnet18'" in done.stderr and "Res2Net" in done.stderr
    assert "backbone='res2net50_26w_4s'" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "runs").exists()
