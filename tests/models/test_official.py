"""load_official: the authors' checkpoint layouts, written here from their documented key names
and shapes (reference-notes.md section 14), saved as their training scripts save them, load
into our models with the same logits.

Each ``*_layout`` function below writes our model's weights under the official names, as the
authors' code names them; ``ANCHORS`` are (key, shape) pairs read off the authors' own
ResNet-50 models (built from their repositories with random weights) and their key counts,
so a layout writer that drifts from the real files fails here. Nothing is downloaded.
"""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from lightning_vid.models import build_model, load_official, load_weights
from lightning_vid.models.official import OfficialCheckpointError, official_state_dict

T, K, SIZE = 4, 5, 32


def _randomise(model: nn.Module) -> nn.Module:
    """BN statistics and affines away from their defaults, temporal 3-tap kernels perturbed
    (so a swapped tap order shows), a classifier giving logits of order 1."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(0, 0.2, generator=g)
                m.running_mean.normal_(0, 0.2, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
        for name, p in model.named_parameters():
            if p.dim() == 3 and tuple(p.shape[1:]) == (1, 3):  # depthwise temporal convs, ECA
                p.add_(0.3 * torch.randn(p.shape, generator=g))
        model.fc.weight.normal_(0, 0.05, generator=g)
        model.fc.bias.normal_(0, 0.1, generator=g)
    return model.eval()


def _rename(state: dict, rules) -> dict:
    out = {}
    for key, value in state.items():
        for pattern, repl in rules:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out


# ---- the authors' layouts (ours -> theirs) -------------------------------------------------


def tsn_layout(state):
    """temporal-shift-module ops/models.py TSN: ``base_model`` = torchvision ResNet whose fc
    is a Dropout, head ``new_fc``."""
    return _rename(state, [(r"^trunk\.", "base_model."), (r"^fc\.", "new_fc.")])


def tsm_layout(state):
    """... plus make_temporal_shift('blockres'): TemporalShift(net=conv1) in the blocks."""
    return _rename(tsn_layout(state), [(r"\.conv1\.conv\.", ".conv1.net.")])


def tsm_classifier_layout(state):
    """The older TSM files: the head as ``base_model.classifier``."""
    return _rename(tsm_layout(state), [(r"^new_fc\.", "base_model.classifier.")])


def tanet_layout(state):
    """temporal-adaptive-module: TemporalBottleneck(net=block) with ``tam.G`` / ``tam.L``."""
    return _rename(tsn_layout(state), [
        (r"\.act1\.temporal\.global_branch\.", ".tam.G."),
        (r"\.act1\.temporal\.local_branch\.", ".tam.L."),
        (r"^(base_model\.layer\d\.\d+)\.(?!tam\.)", r"\1.net."),
    ])


def tdn_layout(state):
    """TDN ops/tdn_net.py: ``layerN_bak`` (FBResNet blocks with mSEModule ``mse`` and
    ShiftModule ``shift``), ``conv1_5`` and the second ResNet's ``resnext_layer1``; every
    FBResNet conv has a bias (here random, its BN's running mean moved so the function is
    unchanged), plus the unused ``conv1_temp``."""
    ltdm = {"reduce": "conv1", "reduce_bn": "bn1", "smooth": "conv2", "pooled_conv":
            "conv3_smallscale2", "pooled_bn": "bn3_smallscale2", "full_conv": "conv3_smallscale4",
            "full_bn": "bn3_smallscale4", "expand": "conv3", "expand_bn": "bn3"}
    out = _rename(state, [
        (r"^short_term\.conv\.", "base_model.conv1_5.0."),
        (r"^short_term\.bn\.", "base_model.conv1_5.1."),
        (r"^short_term\.stage\.", "base_model.resnext_layer1."),
        (r"^trunk\.layer(\d)\.", r"base_model.layer\1_bak."),
        (r"^trunk\.", "base_model."), (r"^fc\.", "new_fc."),
        *((rf"\.act1\.temporal\.ltdm\.{a}\.", f".mse.{b}.") for a, b in ltdm.items()),
        (r"\.act1\.temporal\.tconv\.", ".shift.conv."),
    ])
    g = torch.Generator().manual_seed(1)
    for key in [k for k in out if re.search(r"(^base_model\.|_bak\.\d+\.|layer1\.\d+\.)"
                                            r"(conv\d|downsample\.0)\.weight$", k)]:
        if ".mse." in key:
            continue
        conv = key[: -len(".weight")]
        bn = re.sub(r"conv(\d)$", r"bn\1", re.sub(r"downsample\.0$", "downsample.1", conv))
        bias = 0.1 * torch.randn(out[key].shape[0], generator=g)
        out[conv + ".bias"] = bias
        out[bn + ".running_mean"] = out[bn + ".running_mean"] + bias
    out["base_model.conv1_temp.weight"] = torch.randn(64, 3, 7, 7, generator=g)
    out["base_model.conv1_temp.bias"] = torch.randn(64, generator=g)
    return out


def tea_layout(state):
    """tea-action-recognition ops/tea50_8f.py Bottle2neckShift: ``me`` (MEModule), ``convs``,
    ``bns`` and ``shifts.i.conv`` (the last one the shift-initialised pass-through)."""
    me = {"conv_red": "conv1", "bn_red": "bn1", "conv_trans": "conv2", "conv_exp": "conv3",
          "bn_exp": "bn3"}
    return _rename(tsn_layout(state), [
        *((rf"\.bn1\.temporal\.{a}\.", f".me.{b}.") for a, b in me.items()),
        (r"\.bn1\.bn\.", ".bn1."),
        (r"\.convs\.(\d)\.temporal\.", r".shifts.\1.conv."),
        (r"\.pool\.temporal\.", ".shifts.3.conv."),
        (r"\.convs\.(\d)\.conv\.", r".convs.\1."),
    ])


def tcm_layout(state):
    """TCM resnet_TSM.py: plain block names (the shift is a function), ``tcm_layer`` with
    ``mtdm.chnl_reduction`` and ``tam.conv1..4`` / ``tam.ETA.conv``; the head a Conv1d."""
    def attention(m):
        i = int(m.group(1))
        name, offset = next((n, o) for n, o in (("conv4", 24), ("conv3", 18), ("conv2", 12),
                                                ("conv1", 0)) if i >= o)
        return f"base_model.tcm_layer.tam.{name}.{i - offset}."

    state = {re.sub(r"^trunk\.layer2\.temporal\.attention\.transform\.(\d+)\.", attention, k): v
             for k, v in state.items()}
    out = _rename(state, [
        (r"^trunk\.layer2\.temporal\.reduce\.", "base_model.tcm_layer.mtdm.chnl_reduction."),
        (r"^trunk\.layer2\.temporal\.attention\.eca\.", "base_model.tcm_layer.tam.ETA.conv."),
        (r"^trunk\.layer2\.stage\.", "trunk.layer2."),
        (r"\.conv1\.conv\.", ".conv1."),
        (r"^trunk\.", "base_model."), (r"^fc\.", "new_fc."),
    ])
    out["new_fc.weight"] = out["new_fc.weight"][..., None]  # (K, 2048, 1)
    return out


def mmaction2_layout(state):
    """mmaction2 ResNetTSM / TANet: ConvModules (``convK.conv``, ``convK.bn``), TSM's
    ``conv1.conv.net``, TANet's TABlock(``block``, ``tam``), head ``cls_head.fc_cls``; plus the
    data preprocessor's buffers."""
    out = _rename(state, [
        (r"^fc\.", "cls_head.fc_cls."),
        (r"^trunk\.conv1\.", "backbone.conv1.conv."), (r"^trunk\.bn1\.", "backbone.conv1.bn."),
        (r"^trunk\.", "backbone."),
        (r"(\.\d+)\.conv1\.conv\.", r"\1.conv1.conv.net."),  # the blocks' shift, not the stem
        (r"\.conv(\d)\.weight", r".conv\1.conv.weight"),
        (r"\.bn(\d)\.", r".conv\1.bn."),
        (r"\.downsample\.0\.", ".downsample.conv."), (r"\.downsample\.1\.", ".downsample.bn."),
        (r"\.act1\.temporal\.global_branch\.", ".tam.G."),
        (r"\.act1\.temporal\.local_branch\.", ".tam.L."),
    ])
    if any(".tam." in k for k in out):  # TANet: the block's own modules under ``block``
        out = {re.sub(r"^(backbone\.layer\d\.\d+)\.(?!tam\.)", r"\1.block.", k): v
               for k, v in out.items()}
    out["data_preprocessor.mean"] = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    out["data_preprocessor.std"] = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    return out


def with_prefix(state):
    return {"module." + k: v for k, v in state.items()}


#: format -> (our arch, trunk, layout writer, DataParallel prefix, ANCHORS, official key count)
#: ANCHORS and counts: the authors' R50 models, random weights, state_dict() (T = 4, K = 5).
FORMATS = {
    "tsm": ("tsm", "resnet50", tsm_layout, True, {
        "base_model.layer1.0.conv1.net.weight": (64, 64, 1, 1),
        "base_model.layer3.5.conv1.net.weight": (256, 1024, 1, 1),
        "base_model.layer4.0.downsample.1.running_var": (2048,),
        "new_fc.weight": (K, 2048)}, 320),
    "tsm_classifier": ("tsm", "resnet50", tsm_classifier_layout, True, {
        "base_model.classifier.weight": (K, 2048),
        "base_model.classifier.bias": (K,)}, 320),
    "tsn": ("tsn", "resnet50", tsn_layout, True, {
        "base_model.layer1.0.conv1.weight": (64, 64, 1, 1), "new_fc.bias": (K,)}, 320),
    "tanet": ("tam", "resnet50", tanet_layout, True, {
        "base_model.layer1.0.net.conv1.weight": (64, 64, 1, 1),
        "base_model.layer2.0.net.downsample.0.weight": (512, 256, 1, 1),
        "base_model.layer3.5.tam.L.0.weight": (64, 256, 3),
        "base_model.layer3.5.tam.L.3.weight": (256, 64, 1),
        "base_model.layer1.0.tam.G.0.weight": (2 * T, T),
        "base_model.layer1.0.tam.G.1.running_mean": (2 * T,),
        "base_model.layer1.0.tam.G.3.weight": (3, 2 * T)}, 544),
    "tdn": ("tdn", "resnet50", tdn_layout, True, {
        "base_model.conv1.bias": (64,),
        "base_model.conv1_5.0.weight": (64, 12, 7, 7),
        "base_model.conv1_5.1.running_var": (64,),
        "base_model.conv1_temp.weight": (64, 3, 7, 7),
        "base_model.resnext_layer1.0.conv1.bias": (64,),
        "base_model.resnext_layer1.0.downsample.0.bias": (256,),
        "base_model.layer1_bak.2.conv3.bias": (256,),
        "base_model.layer2_bak.0.shift.conv.weight": (128, 1, 3),
        "base_model.layer2_bak.0.mse.conv2.weight": (8, 1, 3, 3),
        "base_model.layer4_bak.2.mse.conv3_smallscale2.weight": (32, 32, 3, 3),
        "base_model.layer4_bak.2.mse.bn3.weight": (512,)}, 789),
    "tea": ("tea", "res2net50_26w_4s", tea_layout, True, {
        "base_model.layer1.0.me.conv1.weight": (6, 104, 1, 1),
        "base_model.layer1.0.me.conv2.weight": (6, 1, 3, 3),
        "base_model.layer2.0.convs.2.weight": (52, 52, 3, 3),
        "base_model.layer4.2.shifts.0.conv.weight": (208, 1, 3),
        "base_model.layer4.2.shifts.3.conv.weight": (208, 1, 3)}, 784),
    "tcm": ("tcm", "resnet50", tcm_layout, True, {
        "base_model.layer2.0.conv1.weight": (128, 256, 1, 1),
        "base_model.tcm_layer.mtdm.chnl_reduction.0.weight": (64, 512, 1, 1),
        "base_model.tcm_layer.tam.conv1.9.weight": (16, 6, 1, 1),
        "base_model.tcm_layer.tam.conv4.3.weight": (512, 64, 1, 1),
        "base_model.tcm_layer.tam.ETA.conv.weight": (1, 1, 3),
        "new_fc.weight": (K, 2048, 1)}, 387),
    "mmaction2_tsm": ("tsm", "resnet50", mmaction2_layout, False, {
        "backbone.conv1.conv.weight": (64, 3, 7, 7),
        "backbone.conv1.bn.running_var": (64,),
        "backbone.layer1.0.conv1.conv.net.weight": (64, 64, 1, 1),
        "backbone.layer1.0.conv2.bn.weight": (64,),
        "backbone.layer2.0.downsample.conv.weight": (512, 256, 1, 1),
        "cls_head.fc_cls.weight": (K, 2048)}, 322),
    "mmaction2_tanet": ("tam", "resnet50", mmaction2_layout, False, {
        "backbone.layer1.0.block.conv1.conv.weight": (64, 64, 1, 1),
        "backbone.layer1.0.block.conv3.bn.weight": (256,),
        "backbone.layer1.0.block.downsample.conv.weight": (256, 64, 1, 1),
        "backbone.layer1.0.tam.G.0.weight": (2 * T, T),
        "backbone.layer1.0.tam.L.3.weight": (64, 16, 1)}, 546),
}


def _official_file(tmp_path, fmt: str, model: nn.Module):
    arch, _, layout, prefixed, anchors, count = FORMATS[fmt]
    state = layout(model.state_dict())
    for key, shape in anchors.items():
        assert tuple(state[key].shape) == shape, key
    assert len(state) == count
    path = tmp_path / f"{fmt}.pth.tar"
    if prefixed:  # main.py's save_checkpoint, the model wrapped in DataParallel
        torch.save({"epoch": 45, "arch": "resnet50", "state_dict": with_prefix(state),
                    "best_prec1": 45.6}, path)
    else:  # mmaction2's runner, after publish_model
        torch.save({"meta": {"epoch": 50}, "state_dict": state}, path)
    return path


def _clips(model: nn.Module, batch: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(2)
    return torch.randn(batch, T * model.frames_per_segment, 3, SIZE, SIZE, generator=g)


@pytest.fixture(scope="module")
def tsm_model():
    return _randomise(build_model("tsm", num_classes=K, num_segments=T, backbone="resnet50"))


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_round_trip_gives_the_same_logits(fmt, tmp_path):
    arch, backbone, *_ = FORMATS[fmt]
    ours = _randomise(build_model(arch, num_classes=K, num_segments=T, backbone=backbone))
    loaded = load_official(_official_file(tmp_path, fmt, ours), arch, num_segments=T)
    assert type(loaded) is type(ours) and not loaded.training
    assert type(loaded.trunk) is type(ours.trunk) and loaded.num_segments == T
    if fmt == "tdn":
        # its conv biases folded into the BN means: each folded mean is rounded to float32
        # once (relative 2**-24), so the two networks differ by rounding only. Compared in
        # float64 (float32 would add reductions whose order depends on the thread count; the
        # random R50's logits reach a few hundred), the logits agree to ~1e-7 of their scale;
        # 1e-5 of it still fails a bias left unfolded or folded twice.
        with torch.no_grad():
            clips = _clips(ours).double()
            expected, got = ours.double()(clips), loaded.double()(clips)
        scale = float(expected.abs().max())
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-5 * scale)
        return
    with torch.no_grad():
        expected, got = ours(_clips(ours)), loaded(_clips(ours))
    # renames only: the same tensors, the same logits
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in ours.state_dict().items())
    assert torch.equal(got, expected)


@pytest.mark.parametrize("style", ["bare_prefixed", "bare", "checkpoint_unprefixed"])
def test_bare_state_dicts_load_too(style, tsm_model, tmp_path):
    state = tsm_layout(tsm_model.state_dict())
    obj = {"bare_prefixed": with_prefix(state), "bare": state,
           "checkpoint_unprefixed": {"epoch": 1, "state_dict": state}}[style]
    torch.save(obj, tmp_path / "f.pth")
    loaded = load_official(tmp_path / "f.pth", "tsm", num_segments=T)
    with torch.no_grad():
        assert torch.equal(loaded(_clips(loaded)), tsm_model(_clips(loaded)))


def test_a_file_of_another_architecture_names_the_keys(tsm_model, tmp_path):
    path = _official_file(tmp_path, "tsm", tsm_model)
    with pytest.raises(OfficialCheckpointError) as err:
        load_official(path, "tsn", num_segments=T)
    text = str(err.value)
    assert "16 keys of the file left over" in text and "16 keys of the model missing" in text
    assert "base_model.layer1.0.conv1.net.weight" in text
    assert "trunk.layer1.0.conv1.weight" in text and "looks like tsm" in text
    with pytest.raises(OfficialCheckpointError, match=r"left over .*\.conv1\.net\.weight"):
        load_official(path, "tam", num_segments=T)


def test_a_key_it_cannot_place_is_named(tsm_model, tmp_path):
    state = with_prefix(tsm_layout(tsm_model.state_dict()))
    state["module.base_model.layer1.0.nl_block.weight"] = torch.zeros(3)
    torch.save({"state_dict": state}, tmp_path / "f.pth")
    with pytest.raises(OfficialCheckpointError, match=r"1 keys of the file left over "
                       r"\[base_model\.layer1\.0\.nl_block\.weight\], 0 keys of the model"):
        load_official(tmp_path / "f.pth", "tsm", num_segments=T)


def test_no_converter_for_the_pair_and_no_classifier(tsm_model, tmp_path):
    torch.save({"state_dict": mmaction2_layout(tsm_model.state_dict())}, tmp_path / "mm.pth")
    with pytest.raises(OfficialCheckpointError, match="no converter for 'tdn' from .*mmaction2"):
        load_official(tmp_path / "mm.pth", "tdn")
    torch.save({"state_dict": {"model." + k: v for k, v in tsm_model.state_dict().items()}},
               tmp_path / "ours.ckpt")  # a lightning-vid checkpoint is not an authors' file
    with pytest.raises(OfficialCheckpointError, match="no classifier"):
        load_official(tmp_path / "ours.ckpt", "tsm")
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_official(tmp_path / "missing.pth", "tsm")


def test_a_tanet_file_names_the_segments_it_was_trained_with(tmp_path):
    ours = build_model("tam", num_classes=K, num_segments=T, backbone="resnet50")
    path = _official_file(tmp_path, "tanet", ours)
    with pytest.raises(OfficialCheckpointError, match=f"num_segments={T}"):
        load_official(path, "tam", num_segments=8)


def test_official_state_dict_detects_the_authors_files(tsm_model):
    assert official_state_dict(tsm_model.state_dict()) is None
    assert official_state_dict({"state_dict": {"model." + k: v for k, v in
                                               tsm_model.state_dict().items()}}) is None
    for layout in (tsm_layout, mmaction2_layout):
        converted = official_state_dict({"state_dict": with_prefix(layout(
            tsm_model.state_dict()))})
        assert converted.keys() == tsm_model.state_dict().keys()


def test_init_from_an_authors_file_fine_tunes_with_a_new_head(tsm_model, tmp_path):
    path = _official_file(tmp_path, "tsm", tsm_model)
    target = build_model("tsm", num_classes=3, num_segments=T, backbone="resnet50")
    report = load_weights(target, path, skip=("fc",))
    assert report.skipped == ["fc.bias", "fc.weight"] and not report.missing
    assert report.unexpected == ["fc.bias", "fc.weight"]
    for key, value in target.state_dict().items():
        if not key.startswith("fc."):
            assert torch.equal(value, tsm_model.state_dict()[key]), key


def _tsm_layout_r101(state):
    """The authors' (and mmaction2's) rule once layer3 has >= 23 blocks: the shift wraps
    conv1 of every second block of every stage (n_round = 2)."""
    out = {}
    for key, value in tsn_layout(_rename(state, [(r"\.conv1\.conv\.", ".conv1.")])).items():
        m = re.match(r"base_model\.layer\d\.(\d+)\.conv1\.weight$", key)
        if m and int(m.group(1)) % 2 == 0:
            key = key.replace(".conv1.weight", ".conv1.net.weight")
        out[key] = value
    return out


def test_resnet101_tsm_shifts_every_second_block(tmp_path):
    ours = _randomise(build_model("tsm", num_classes=K, num_segments=T, backbone="resnet101"))
    state = _tsm_layout_r101(ours.state_dict())
    assert sum(k.endswith("conv1.net.weight") for k in state) == 18  # 2 + 2 + 12 + 2 of 33
    torch.save({"state_dict": with_prefix(state)}, tmp_path / "r101.pth")
    loaded = load_official(tmp_path / "r101.pth", "tsm", num_segments=T)
    assert sum(k.endswith("conv1.conv.weight") for k in loaded.state_dict()) == 18
    with torch.no_grad():
        assert torch.equal(loaded(_clips(loaded)), ours(_clips(loaded)))


def test_a_file_that_states_another_t_is_an_error_for_tdn_and_a_note_for_tsm(tsm_model,
                                                                              tmp_path):
    """TDN's fusion weights follow T (0.5/0.5 at 8 frames, 0.75/0.25 otherwise) and are not
    in the file, so a 16-frame file evaluated at 8 frames is not the authors' model:
    ``load_official`` and ``init_from`` (``load_weights``, strict when evaluating) both stop.
    A TSM file tested at another T loads with a warning (legitimate, another protocol)."""
    tdn = build_model("tdn", num_classes=K, num_segments=T, backbone="resnet50")
    path = _official_file(tmp_path, "tdn", tdn).rename(tmp_path / f"TDN_{2 * T}x1x1.pth.tar")
    message = rf"says it was trained with num_segments={2 * T} \(its name .*0\.75/0\.25"
    with pytest.raises(OfficialCheckpointError, match=message):
        load_official(path, "tdn", num_segments=T)
    with pytest.raises(OfficialCheckpointError, match=message):
        load_weights(tdn, path, strict=True)  # --model.init_from in test / validate / predict
    with pytest.warns(UserWarning, match=f"num_segments={2 * T}"):
        load_weights(tdn, path)  # fit: fine-tuning at another T, a note
    checkpoint = torch.load(path, weights_only=True)
    for field in ({"segments": T}, {"arch": f"tdn_segment{T}"}):  # the fields say T: no error
        torch.save({**checkpoint, **field}, tmp_path / "best.pth.tar")
        assert load_official(tmp_path / "best.pth.tar", "tdn", num_segments=T).num_segments == T
    torch.save({**checkpoint, "segments": 2 * T}, tmp_path / "best.pth.tar")
    with pytest.raises(OfficialCheckpointError, match=r"its 'segments' field"):
        load_official(tmp_path / "best.pth.tar", "tdn", num_segments=T)
    tsm = _official_file(tmp_path, "tsm", tsm_model).rename(
        tmp_path / f"TSM_something_RGB_resnet50_shift8_blockres_avg_segment{2 * T}_e45.pth")
    with pytest.warns(UserWarning, match=f"num_segments={2 * T}.*another T"):
        assert load_official(tsm, "tsm", num_segments=T).num_segments == T
