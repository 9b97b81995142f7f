"""The contract every registered architecture keeps (DESIGN.md), with no per-block code here:
the seven of ``lightning_vid/blocks/`` and the probe below, registered by this file alone the
way a researcher adds a module (one decorator), are built, run, checked for batch
independence, order sensitivity and gradients, exported, and drawn the same way."""

import contextlib
import copy
import importlib.util
import io
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
import yaml
from torch import Tensor, nn

from lightning_vid.blocks.ops import Recorder, temporal_difference
from lightning_vid.export import (
    example_clip,
    export_onnx,
    export_program,
    export_torchscript,
    load_torchscript,
    max_abs_diff,
    run_onnx,
)
from lightning_vid.models import (
    VideoRecognizer,
    build_model,
    get_architecture,
    list_models,
    register_block,
)
from lightning_vid.trunk.adapter import stages
from lightning_vid.viz.interpret import (
    collect_interpretables,
    recording_modules,
    to_views,
)

T = 4


@register_block("probe", placement="before_conv1")
class Probe(Recorder, nn.Module):
    """The smallest temporal block: each channel mixes in its change since the previous frame,
    ``y = x + gain * (x[t-1] - x[t])``; it records that change for the figures."""

    layouts = {"change": "(B T) C h w"}

    def __init__(self, channels: int, num_segments: int, *, gain: float = 0.5) -> None:
        super().__init__()
        self.num_segments = num_segments
        self.gain = nn.Parameter(torch.full((channels, 1, 1), gain))

    def forward(self, x: Tensor) -> Tensor:
        change = temporal_difference(x, x, self.num_segments, step=-1)  # x(t-1) - x(t)
        if self.record:
            self.remember(change=change)
        return x + self.gain * change


ARCHS = list_models()


def _clip(model, batch=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, model.num_segments * model.frames_per_segment, 3, size, size,
                       generator=g)


def _awake(model):
    """Every weight moved off its initialisation: timm zero-initialises the last BN of each
    residual branch and several blocks start as the identity (TRM's zero predictor, TEA's
    temporal convs), which would hide them from the checks below."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.uniform_(0.5, 1.5, generator=g)
        model.train()(_clip(model, batch=3))  # BN statistics the eval checks must use
    return model.eval()


def _trunk(arch, backbone):
    """``backbone``, or the architecture's own trunk where it refuses that one (TEA: only
    Res2Net)."""
    spec = get_architecture(arch)
    return backbone if spec.accepts(backbone) else spec.backbone


@pytest.fixture(scope="module", params=ARCHS)
def tiny(request):
    torch.manual_seed(0)
    return _awake(build_model(request.param, num_classes=6, num_segments=T,
                              backbone=_trunk(request.param, "resnet18"), input_size=32))


def test_the_probe_is_registered_by_its_decorator_alone():
    assert "probe" in ARCHS and {"tsn", "tsm", "tam", "tea", "tdn", "tcm", "trm"} <= set(ARCHS)
    model = build_model("probe", num_classes=3, num_segments=T, backbone="resnet18", gain=0.25)
    probes = [m for m in model.modules() if isinstance(m, Probe)]
    assert len(probes) == 8 and all(p.gain.mean() == 0.25 for p in probes)  # every block


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("backbone,size", [("resnet18", 64), ("resnet50", 32)])
def test_shapes_and_attributes(arch, backbone, size):
    model = build_model(arch, num_classes=7, num_segments=T, backbone=_trunk(arch, backbone),
                        input_size=size)
    spec = get_architecture(arch)
    assert isinstance(model, VideoRecognizer) and model.preset == arch
    assert model.num_segments == T and model.frames_per_segment == spec.frames_per_segment
    out = model(_clip(model, size=size))
    assert out.shape == (2, 7) and out.dtype == torch.float32


def test_batch_independence_in_eval_mode(tiny):
    x = _clip(tiny, batch=3)
    with torch.no_grad():
        full = tiny(x)
        x2 = x.clone()
        x2[1:] = torch.randn_like(x2[1:]) * 5
        torch.testing.assert_close(tiny(x2)[0], full[0], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(tiny(x[:1]), full[:1], rtol=1e-4, atol=1e-5)


def test_segment_order_matters_unless_the_model_has_no_temporal_block(tiny):
    x = _clip(tiny)
    segments = x.view(2, T, tiny.frames_per_segment, *x.shape[2:])
    reversed_clip = segments.flip(1).flatten(1, 2)  # the segments backwards, frames kept
    with torch.no_grad():
        out, rev = tiny(x), tiny(reversed_clip)
    if get_architecture(tiny.preset).temporal:
        assert not torch.allclose(out, rev, rtol=1e-3, atol=1e-4)
    else:  # TSN: per-frame logits averaged
        torch.testing.assert_close(out, rev, rtol=1e-4, atol=1e-5)


def test_wrong_clip_length_names_the_expected_one(tiny):
    n = tiny.num_segments * tiny.frames_per_segment
    with pytest.raises(ValueError, match=f"T\\*L = .*{n}"):
        tiny(torch.randn(1, n + 1, 3, 32, 32))


def test_gradients_reach_every_parameter(tiny):
    model = copy.deepcopy(tiny).train()  # a training step moves BN statistics: not the fixture's
    model(_clip(model)).square().sum().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"parameters without gradient: {missing[:5]}"


def _close_to_eager(exported: Tensor, model, batch) -> bool:
    """float32 agreement with the model's computation: the exported logits within
    ``max(1e-4 * scale, 8 * own)`` of eager float32's or of the float64 logits (the computation
    itself), where ``scale`` is the logits' largest magnitude and ``own`` how far eager float32
    is from float64 on this input.

    The awakened weights make the logits large (about 1e2 for the ResNet-18 trunks, 1e6 for
    TEA's Res2Net-50), and TEA's ill-conditioned on some inputs: there eager float32 is up to
    6e-3 of the scale from float64 (1e-5 on most inputs), by an amount that changes with the
    thread count and the kernels (onnxruntime's, or the exported graph's decompositions), so no
    fixed tolerance against one float32 route holds on every machine. A dropped or misplaced op
    moves the logits by a fraction of their scale, far past both bounds.
    """
    with torch.no_grad():
        eager = model(batch)
        scale = max(1.0, float(eager.abs().max()))
        exact = copy.deepcopy(model).double()(batch.double())
        own = float((eager.double() - exact).abs().max())
        allowed = max(1e-4 * scale, 8 * own)
        return min(max_abs_diff(exported, model, batch),
                   float((exported.double() - exact).abs().max())) <= allowed


def test_torch_export_program_matches_eager_with_a_dynamic_batch(tiny, tmp_path):
    clip = example_clip(tiny, batch=2, size=32)
    export_program(tiny, tmp_path / "model.pt2", clip)
    loaded = torch.export.load(str(tmp_path / "model.pt2")).module()  # no lightning_vid code
    for batch in (clip, example_clip(tiny, batch=3, size=32), example_clip(tiny, 1, 32)):
        with torch.no_grad():
            assert _close_to_eager(loaded(batch), tiny, batch)


def test_onnx_dynamo_export_matches_eager_with_a_dynamic_batch(tiny, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    clip = example_clip(tiny, batch=2, size=32)
    path = export_onnx(tiny, tmp_path / "model.onnx", clip)
    for batch in (clip, example_clip(tiny, batch=3, size=32), example_clip(tiny, 1, 32)):
        assert _close_to_eager(run_onnx(path, batch), tiny, batch)


def test_legacy_torchscript_export_matches_eager(tiny, tmp_path):
    clip = example_clip(tiny, batch=2, size=32)
    export_torchscript(tiny, tmp_path / "model.ts", clip)
    loaded = load_torchscript(tmp_path / "model.ts")  # no lightning_vid code needed
    for batch in (clip, example_clip(tiny, batch=3, size=32)):
        with torch.no_grad():
            assert _close_to_eager(loaded(batch), tiny, batch)


def test_recorded_tensors_reach_the_figures(tiny):
    """Every recording block is collected, each tensor gets a plot layout with the clips'
    batch and T, and the model is left as it was."""
    tiny = copy.deepcopy(tiny).train()  # a training forward moves BN statistics: a copy
    recorders = recording_modules(tiny)
    outputs = collect_interpretables(tiny, _clip(tiny))
    assert set(outputs) == set(recorders)
    assert tiny.training and not any(m.record or m.last_outputs for m in recorders.values())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing skipped
        views = to_views(outputs, tiny, batch=2)
    assert {v.module for v in views} == set(recorders)
    assert all(not t.requires_grad for ts in outputs.values() for t in ts.values())
    for v in views:
        assert v.data.shape[0] == 2 and v.data.dtype == torch.float32
        if v.kind != "kernel":
            assert v.data.shape[1] == T, (v.label, v.data.shape)


# The probe everywhere else a registered architecture goes: configs, the CLI, export, the
# zoo and the figures report, with nothing but its decorator above.

CONFIGS = Path(__file__).resolve().parents[2] / "lightning_vid" / "configs"
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
PROBE_PATH = f"{Probe.__module__}.Probe"


def _script(name):
    sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_probe_config_is_typed_checked_and_printed_config_loads_again(tmp_path):
    from lightning_vid.cli import cli_main

    blocks = "--model.model.init_args.blocks=[{class_path: %s, init_args: {gain: %s}}]"
    args = ["fit", "--config", str(CONFIGS / "tsn_r18_4x1_synthetic.yaml")]
    with pytest.raises(SystemExit), contextlib.redirect_stdout(io.StringIO()) as out:
        cli_main([*args, blocks % (PROBE_PATH, 0.25), "--print_config"])
    printed = yaml.safe_load(out.getvalue())["model"]["model"]
    assert printed == {"class_path": "lightning_vid.models.VideoRecognizer", "init_args": {
        "backbone": "resnet18", "pretrained": False, "dropout": 0.5,
        "blocks": [{"class_path": PROBE_PATH, "init_args": {"gain": 0.25}}],
        "frame_hook": None, "head_init": "normal"}}
    (tmp_path / "printed.yaml").write_text(out.getvalue())
    with pytest.raises(SystemExit), contextlib.redirect_stdout(io.StringIO()) as again:
        cli_main(["fit", "--config", str(tmp_path / "printed.yaml"), "--print_config"])
    assert yaml.safe_load(again.getvalue())["model"]["model"] == printed
    for typo in (blocks.replace("gain", "gian") % (PROBE_PATH, 0.25),
                 blocks % (PROBE_PATH, "much")):
        with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as err:
            cli_main([*args, typo])
        assert "gian" in err.getvalue() or "much" in err.getvalue()


def test_the_probe_trains_from_the_cli_and_exports_from_its_checkpoint(tmp_path, monkeypatch):
    from lightning_vid.cli import cli_main
    from lightning_vid.data.synthetic import generate

    data = generate(tmp_path / "data", num_train=4, num_val=2, num_test=2, size=32, frames=20,
                    workers=1, verbose=False)
    monkeypatch.chdir(tmp_path)
    cli = cli_main(["fit", "--config", str(CONFIGS / "tsn_r18_4x1_synthetic.yaml"),
                    f"--model.model.init_args.blocks=[{{class_path: {PROBE_PATH}}}]",
                    "--run_name=probe", "--data.root", str(data),
                    "--data.batch_size=2", "--data.num_workers=0", "--data.crop_size=32",
                    "--data.scale_size=32",
                    "--trainer.max_epochs=1", "--trainer.limit_train_batches=1",
                    "--trainer.limit_val_batches=1", "--trainer.enable_progress_bar=false",
                    '--trainer.logger={"class_path": "lightning.pytorch.loggers.CSVLogger", '
                    '"init_args": {"save_dir": "runs/csv"}}'])
    assert cli.trainer.state.finished
    ckpt = str(tmp_path / "runs/probe/version_0/checkpoints/last.ckpt")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}  # the probe's module
    command = [sys.executable, "-m", "lightning_vid.export", ckpt, "--out", "export", "--size",
               "32"]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("torch.export", "onnx"):
        assert f"{name}: max |exported - eager|" in done.stdout
    assert {p.name for p in (tmp_path / "export").iterdir()} == {"model.pt2", "model.onnx"}
    assert "FutureWarning" not in done.stderr and "deprecated" not in done.stderr
    legacy = subprocess.run([*command, "--no-onnx", "--torchscript", "--out", "legacy"],
                            capture_output=True, text=True, env=env)
    assert legacy.returncode == 0, legacy.stderr[-2000:]
    assert "torchscript: max |exported - eager|" in legacy.stdout
    assert {p.name for p in (tmp_path / "legacy").iterdir()} == {"model.pt2", "model.ts"}


def test_the_probe_is_in_the_zoo_and_the_figures_report(capsys, monkeypatch):
    [row] = _script("zoo").measure(["probe"], steps=1, memory=False)
    tsn = build_model("tsn", num_classes=8, num_segments=T, backbone="resnet18")
    gains = sum(b.conv1.in_channels for stage in stages(tsn.trunk) for b in stage)  # one a channel
    assert row["params"] == sum(p.numel() for p in tsn.parameters()) + gains
    assert row["frames"] == T and row["train_cps"] > 0 and row["gmacs_r50"] > 30
    figures = _script("model_figures")
    monkeypatch.setattr(figures, "count_gmacs", lambda model, size: 1.0)  # measured above
    assert figures.main(["--arch", "probe"]) == 0
    assert "| probe | 8x224², 400 cls" in capsys.readouterr().out
