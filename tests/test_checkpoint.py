"""``lightning_vid.load_checkpoint``: a system rebuilt from its checkpoint alone."""

import shutil

import pytest
import torch
import yaml

import lightning_vid
from lightning_vid.models import build_model
from lightning_vid.models.zoo import TCM
from lightning_vid.system import VideoClassifier


def _same_predictions(a, b):
    frames = a.model.num_segments * a.model.frames_per_segment
    clip = torch.randn(2, frames, 3, 32, 32)
    with torch.no_grad():
        return torch.allclose(a.eval()(clip), b.eval()(clip), atol=1e-5)


def test_lightning_rebuilds_a_cli_system_from_its_checkpoint(cli_run):
    """The CLI saves the model's class path and arguments in the hyperparameters."""
    system = VideoClassifier.load_from_checkpoint(cli_run["ckpt"], map_location="cpu")
    assert isinstance(system.model, TCM) and system.model.num_classes == 8
    assert _same_predictions(system, cli_run["cli"].model)


def test_load_checkpoint_adds_class_names_and_the_data_config(cli_run):
    system = lightning_vid.load_checkpoint(cli_run["ckpt"])
    assert isinstance(system, VideoClassifier) and isinstance(system.model, TCM)
    assert not system.training
    assert system.class_names == cli_run["cli"].datamodule.classes
    assert system.data_config["crop_size"] == 32
    assert _same_predictions(system, cli_run["cli"].model)


def test_a_checkpoint_of_the_earlier_format_still_loads(cli_run, tmp_path):
    """Checkpoints written before the model's config went into the hyperparameters kept the
    CLI config under ``lightning_vid``; they load, as does one given ``config=``."""
    checkpoint = torch.load(cli_run["ckpt"], weights_only=False)
    config = yaml.safe_load(next(cli_run["work"].rglob("lightning_config.yaml")).read_text())
    for key in ("model", "optimizer", "lr_scheduler", "_instantiator"):
        checkpoint["hyper_parameters"].pop(key, None)
    checkpoint["lightning_vid"] = {"config": config, "class_names": None}
    checkpoint.pop("datamodule_hyper_parameters", None)
    torch.save(checkpoint, tmp_path / "old.ckpt")
    old = lightning_vid.load_checkpoint(tmp_path / "old.ckpt")
    assert _same_predictions(old, cli_run["cli"].model)
    assert old.class_names == cli_run["cli"].datamodule.classes  # from the data root
    assert old.data_config["crop_size"] == 32
    del checkpoint["lightning_vid"]
    torch.save(checkpoint, tmp_path / "bare.ckpt")
    given = lightning_vid.load_checkpoint(tmp_path / "bare.ckpt", config=config)
    assert _same_predictions(given, cli_run["cli"].model)


def test_a_python_checkpoint_needs_arch_or_model(tmp_path):
    system = VideoClassifier(build_model("tsm", 5, num_segments=4, backbone="resnet18"))
    assert "model" not in system.hparams  # built in Python: the module is not a hyperparameter
    path = tmp_path / "run" / "checkpoints" / "plain.ckpt"
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": system.state_dict()}, path)
    with pytest.raises(ValueError, match="pass arch=.*model= or config="):
        lightning_vid.load_checkpoint(path)
    loaded = lightning_vid.load_checkpoint(path, arch="tsm", backbone="resnet18", num_segments=4)
    assert loaded.model.num_classes == 5 and loaded.class_names is None
    assert _same_predictions(loaded, system)
    other = build_model("tsm", 5, num_segments=4, backbone="resnet18")
    assert _same_predictions(lightning_vid.load_checkpoint(path, model=other), system)
    shutil.rmtree(path.parent)


@pytest.mark.parametrize("arch, cls, frames", [("tdn", "TDN", 5), ("trm", "TRM", 1)])
def test_values_left_to_links_come_from_the_data_section(arch, cls, frames):
    """With links applied at instantiation, num_segments, TDN's frames per segment and the
    input size (TRM's per-position kernels) are blank in the saved config, or hold the model's
    defaults (what a saved CLI config holds): the data section has them and wins, as the CLI's
    links do, and the weights of the trained model fit."""
    from lightning_vid.checkpoint import model_from_config

    trained = build_model(arch, 3, num_segments=4, backbone="resnet18", input_size=48)
    for left in ({"num_classes": None, "num_segments": None, "input_size": None},
                 {"num_classes": 400, "num_segments": 8, "input_size": 224}):
        config = {"model": {"model": {"class_path": f"lightning_vid.models.zoo.{cls}",
                                      "init_args": {**left, "backbone": "resnet18",
                                                    "pretrained": True}}},
                  "data": {"init_args": {"num_segments": 4, "frames_per_segment": frames,
                                         "crop_size": 48}}}
        model = model_from_config(config, num_classes=3)  # pretrained: never downloaded again
        assert (model.num_classes, model.num_segments, model.frames_per_segment) == (
            3, 4, frames)
        model.load_state_dict(trained.state_dict())  # strict: the same shapes everywhere
