"""Configs and checkpoints of the earlier release (model classes ``lightning_vid.blocks.tsm.TSM``
and ``lightning_vid.models.zoo.TSM`` with their arguments) still load, build the same modules
under the same names as today's presets, give the same logits, and warn with today's form."""

import warnings
from pathlib import Path

import pytest
import torch
import yaml

from lightning_vid.checkpoint import load_checkpoint, model_from_config
from lightning_vid.models import build_model, upgrade_network
from lightning_vid.models.legacy import LegacyModelWarning
from lightning_vid.models.presets import instantiate

CONFIGS = Path(__file__).resolve().parents[2] / "lightning_vid" / "configs"
T = 4

#: (the earlier class path, its init_args, the preset and options building the same model)
OLD = [
    ("lightning_vid.blocks.tsm.TSM", {"backbone": "resnet18", "fold_div": 4}, "tsm",
     {"fold_div": 4}),
    ("lightning_vid.models.zoo.TCM", {"backbone": "resnet18", "radius": 2, "shift": True}, "tcm",
     {"radius": 2}),
    ("lightning_vid.blocks.tdn.TDN", {"backbone": "resnet18", "stages": [3, 4]}, "tdn",
     {"stages": (3, 4)}),
    ("lightning_vid.blocks.tea.TEA", {"backbone": "res2net50_26w_4s", "shift_passthrough": False},
     "tea", {"shift_passthrough": False}),
]


def _clip(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, T * model.frames_per_segment, 3, 32, 32, generator=g)


@pytest.mark.parametrize("path,args,arch,options", OLD, ids=[o[0] for o in OLD])
def test_an_earlier_config_builds_the_presets_model_and_warns_with_todays_form(path, args, arch,
                                                                              options):
    config = {"model": {"model": {"class_path": path, "init_args": args}},
              "data": {"init_args": {"num_segments": T}}}
    with pytest.warns(LegacyModelWarning, match="lightning_vid.models.VideoRecognizer") as caught:
        old = model_from_config(config, num_classes=3).eval()
    torch.manual_seed(0)
    new = build_model(arch, num_classes=3, num_segments=T, backbone=args["backbone"],
                      input_size=224, **options).eval()
    assert list(old.state_dict()) == list(new.state_dict())
    new.load_state_dict(old.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(new(_clip(new)), old(_clip(old)), rtol=0, atol=0)
    # the form the warning shows builds that model again
    shown = yaml.safe_load(str(caught[0].message).split("\n", 1)[1].rsplit("(or", 1)[0])
    spec = shown["model"]["model"]
    spec["init_args"].update(num_classes=3, num_segments=T)
    again = instantiate(spec)
    assert list(again.state_dict()) == list(old.state_dict())


def test_class_paths_no_module_holds_are_upgraded_and_others_kept():
    hparams = {"model": {"class_path": "lightning_vid.blocks.tam.TANet", "init_args": {}},
               "optimizer": {"class_path": "torch.optim.SGD"}}
    assert upgrade_network(hparams) == {
        "model": {"class_path": "lightning_vid.models.zoo.TANet", "init_args": {}},
        "optimizer": {"class_path": "torch.optim.SGD"}}
    assert upgrade_network("lightning_vid.blocks.tsm.TemporalShift") == (
        "lightning_vid.blocks.tsm.TemporalShift")


def test_a_checkpoint_saved_with_an_earlier_class_path_loads_with_equal_logits(
        synthetic_data, tmp_path, monkeypatch):
    """A run of the earlier release's TCM config (``lightning_vid.blocks.tcm.TCM`` in the file,
    as the earlier synthetic configs named it), its checkpoint holding that class path as the
    earlier release saved it: ``load_checkpoint`` rebuilds it, the logits are equal."""
    from lightning_vid.cli import cli_main

    old_config = tmp_path / "tcm_r18_4x1_synthetic.yaml"
    old_config.write_text(
        "seed_everything: 0\n"
        "model:\n  model:\n    class_path: lightning_vid.blocks.tcm.TCM\n"
        "    init_args: {backbone: resnet18, pretrained: false, dropout: 0.5}\n"
        f"  optimizer: {CONFIGS}/synthetic/sgd.yaml\n"
        f"  lr_scheduler: {CONFIGS}/synthetic/cosine.yaml\n"
        f"data: {CONFIGS}/synthetic/data_4x1.yaml\ntrainer: {CONFIGS}/synthetic/trainer.yaml\n")
    monkeypatch.chdir(tmp_path)
    with pytest.warns(LegacyModelWarning):
        cli = cli_main(["fit", "--config", str(old_config), "--data.root", synthetic_data,
                        "--data.batch_size=2", "--data.num_workers=0", "--data.crop_size=32",
                        "--data.scale_size=32", "--trainer.max_epochs=1",
                        "--trainer.limit_train_batches=1", "--trainer.limit_val_batches=1",
                        "--trainer.enable_progress_bar=false", "--trainer.logger=false"])
    [ckpt] = tmp_path.glob("runs/*/version_0/checkpoints/last.ckpt")
    saved = torch.load(ckpt, weights_only=False)
    saved["hyper_parameters"]["model"]["class_path"] = "lightning_vid.blocks.tcm.TCM"
    torch.save(saved, ckpt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        system = load_checkpoint(ckpt)
    assert any(issubclass(w.category, LegacyModelWarning) for w in caught)
    trained = cli.model.eval()
    x = _clip(system.model)
    with torch.no_grad():
        torch.testing.assert_close(system(x), trained(x), rtol=0, atol=0)
