"""Load a trained :class:`~lightning_vid.system.VideoClassifier` from a checkpoint alone.

A checkpoint written by ``lightning-vid`` holds the config of its model in its
hyperparameters (LightningCLI saves the class paths and arguments, with the values the data
section linked in), so Lightning rebuilds the system: ``VideoClassifier.load_from_checkpoint``.
:func:`load_checkpoint` keeps only what Lightning cannot do:

- pretrained 2D weights are never downloaded again (``pretrained`` is set to False: the
  checkpoint holds every weight), and ``init_from`` is not read;
- it returns the class names (kept in the checkpoint by the CLI) and the data module's
  arguments (``crop_size``, ``scale_size``, ...) with the system;
- a checkpoint without the model's config (saved from Python) is loaded into ``model=`` or
  ``build_model(arch, num_classes, **options)``, and this project's earlier checkpoints, which
  kept the CLI config under ``checkpoint["lightning_vid"]["config"]``, still load.

Checkpoints are unpickled (as Lightning does): load only files you trust.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import os
from pathlib import Path
from typing import Any, Optional, Union

import torch
import yaml
from torch import nn

from lightning_vid.runs import INFO_KEY
from lightning_vid.system import VideoClassifier

PathLike = Union[str, "os.PathLike[str]"]


def _read_config(config: Union[PathLike, str, dict]) -> dict:
    if isinstance(config, dict):
        return config
    text = str(config)
    if "\n" not in text and os.path.isfile(text):
        text = Path(text).read_text()
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict) or "model" not in loaded:
        raise ValueError(f"not a lightning-vid config (no 'model' section): {str(config)[:80]}")
    return loaded


def _num_classes(checkpoint: dict) -> Optional[int]:
    weight = checkpoint.get("state_dict", {}).get("model.fc.weight")
    return None if weight is None else int(weight.shape[0])


def model_from_config(config: Union[PathLike, str, dict], num_classes: Optional[int] = None
                      ) -> nn.Module:
    """Build the video model of a CLI config (``model.model.class_path`` and ``init_args``),
    with ``pretrained=False``. The CLI's links (:data:`lightning_vid.cli.LINKS`) apply as when
    it instantiates: the data section's values (and ``num_classes``) override what the model
    section holds (a saved config keeps the model's defaults there)."""
    from lightning_vid.cli import linked
    from lightning_vid.models import upgrade_network
    from lightning_vid.models.presets import instantiate

    cfg = upgrade_network(_read_config(config))
    spec = cfg["model"]["model"]
    module_name, _, class_name = spec["class_path"].rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(f"{spec['class_path']} is not an nn.Module")
    args = dict(spec.get("init_args") or {})
    accepted = inspect.signature(cls).parameters
    values = linked(cfg)
    if num_classes is not None:
        values["model.model.init_args.num_classes"] = num_classes
    for target, value in values.items():
        key = target.removeprefix("model.model.init_args.")
        if key != target and key in accepted:
            args[key] = value
    if "pretrained" in accepted:
        args["pretrained"] = False
    return instantiate({"class_path": spec["class_path"], "init_args": args})


def _system_from_hparams(hparams: dict) -> VideoClassifier:
    """Lightning's rebuild of a CLI-built system, without downloads and without init_from."""
    from lightning.pytorch.cli import instantiate_module

    from lightning_vid.models import upgrade_network

    hparams = upgrade_network(copy.deepcopy(hparams))
    hparams.pop("_instantiator", None)
    network = hparams["model"].setdefault("init_args", {})
    if "pretrained" in network:
        network["pretrained"] = False
    hparams["init_from"] = None
    return instantiate_module(VideoClassifier, hparams)


def load_checkpoint(
    path: PathLike,
    model: Optional[nn.Module] = None,
    config: Union[PathLike, str, dict, None] = None,
    arch: Optional[str] = None,
    map_location: Union[str, torch.device] = "cpu",
    **options: Any,
) -> VideoClassifier:
    """A :class:`VideoClassifier` with the checkpoint's weights, in eval mode.

    Args:
        path: a Lightning checkpoint of a ``VideoClassifier``.
        model: a built model to load the weights into (skips the rebuilding).
        config: a CLI config (file, YAML text or dict) to build the model from instead.
        arch: rebuild with ``build_model(arch, num_classes, **options)`` instead.
        map_location: where the weights go.
        **options: ``build_model`` options with ``arch`` (``backbone``, ``num_segments``, ...).

    Returns:
        The system, with two extra attributes: ``class_names`` (a list, or None when the
        checkpoint does not know them) and ``data_config`` (the data module's arguments,
        ``{}`` when unknown: ``crop_size``, ``scale_size``, ...).
    """
    path = Path(path)
    checkpoint = torch.load(path, map_location=map_location, weights_only=False)
    hparams = checkpoint.get("hyper_parameters") or {}
    info = checkpoint.get(INFO_KEY) or {}
    old_config = _read_config(config or info["config"]) if config or info.get("config") else None
    if arch is not None:
        from lightning_vid.models import build_model

        model = build_model(arch, _num_classes(checkpoint), pretrained=False, **options)
    elif model is None and old_config is not None:
        model = model_from_config(old_config, _num_classes(checkpoint))
    if model is not None:
        system = VideoClassifier(model=model, frames_per_segment=model.frames_per_segment)
    elif isinstance(hparams.get("model"), dict) and "class_path" in hparams["model"]:
        system = _system_from_hparams(hparams)
    else:
        raise ValueError(f"cannot rebuild the model of {path}: it holds no model config (it was "
                         "not written by lightning-vid); pass arch= (and build_model options), "
                         "model= or config=")
    system.load_state_dict(checkpoint["state_dict"])
    system.eval()
    system.data_config = _data_config(checkpoint, old_config)
    system.class_names = info.get("class_names") or _class_names_from_data(system.data_config)
    return system.to(map_location)


def _data_config(checkpoint: dict, old_config: Optional[dict]) -> dict:
    """The data module's arguments: Lightning keeps them in the checkpoint."""
    saved = checkpoint.get("datamodule_hyper_parameters")
    if saved:
        return {k: v for k, v in dict(saved).items() if not k.startswith("_")}
    return dict(((old_config or {}).get("data") or {}).get("init_args") or {})


def _class_names_from_data(data: dict) -> Optional[list[str]]:
    """The class-name file of the data root, when it is still there."""
    root, name = data.get("root"), data.get("class_names", "classes.txt")
    if root and isinstance(name, str) and os.path.isfile(os.path.join(root, name)):
        from lightning_vid.data.annotations import read_class_names

        return list(read_class_names(Path(root) / name))
    return None
