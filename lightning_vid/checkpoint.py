"""Load a trained :class:`~lightning_vid.system.VideoClassifier` from a checkpoint alone.

The system saves its hyperparameters without the model (it receives a built one), so the
model is rebuilt first, from the first of these that is available:

1. ``model=``: an already built model;
2. ``arch=`` (and ``build_model`` options): ``build_model(arch, num_classes, **options)``;
3. ``config=``: the run's CLI config (a ``lightning_config.yaml`` path, YAML text or a dict);
4. the config the CLI stores in every checkpoint (``checkpoint["lightning_vid"]``, written by
   :class:`lightning_vid.cli.SaveRunConfig`);
5. a ``lightning_config.yaml`` saved by the CLI near the checkpoint (the W&B run's ``files`` folder or
   the logger's ``log_dir`` under the checkpoint's grandparent folder), the newest whose
   model loads the weights exactly.

``num_classes`` comes from the checkpoint (its fc weights). Pretrained 2D weights are never
downloaded again (``pretrained`` is set to False): the checkpoint holds all the weights.
Checkpoints are unpickled (as Lightning does): load only files you trust.
"""

from __future__ import annotations

import importlib
import inspect
import os
from pathlib import Path
from typing import Any, Optional, Union

import torch
import yaml
from torch import nn

from lightning_vid.cli import RUN_CONFIG
from lightning_vid.system import VideoClassifier

PathLike = Union[str, "os.PathLike[str]"]
INFO_KEY = "lightning_vid"  # what cli.SaveRunConfig stores in each checkpoint


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
    info = checkpoint.get(INFO_KEY) or {}
    if info.get("num_classes"):
        return int(info["num_classes"])
    weight = checkpoint.get("state_dict", {}).get("model.fc.weight")
    return None if weight is None else int(weight.shape[0])


def model_from_config(config: Union[PathLike, str, dict], num_classes: Optional[int] = None
                      ) -> nn.Module:
    """Build the video model of a CLI config (``model.model.class_path`` and ``init_args``),
    with ``pretrained=False``. As the CLI's links do when it instantiates, ``num_classes`` and
    the data section (``num_segments``, ``frames_per_segment``, ``crop_size`` as
    ``input_size``) override what the model section holds: a saved config keeps the model's
    defaults there (the links apply after parsing)."""
    cfg = _read_config(config)
    spec = cfg["model"]["model"]
    module_name, _, class_name = spec["class_path"].rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(f"{spec['class_path']} is not an nn.Module")
    args = dict(spec.get("init_args") or {})
    data = (cfg.get("data") or {}).get("init_args") or {}
    accepted = inspect.signature(cls).parameters
    linked = (("num_classes", num_classes), ("num_segments", data.get("num_segments")),
              ("frames_per_segment", data.get("frames_per_segment")),
              ("input_size", data.get("crop_size")))  # the CLI's links from the data section
    for key, value in linked:
        if key in accepted and value is not None:
            args[key] = value
    if "pretrained" in accepted:
        args["pretrained"] = False
    return cls(**args)


def _nearby_configs(path: Path) -> list[Path]:
    root = path.resolve().parent.parent
    found = sorted(root.rglob(RUN_CONFIG), key=lambda p: p.stat().st_mtime, reverse=True)
    return found[:20]


def _model_for(checkpoint: dict, path: Path, config: Any, arch: Optional[str],
               options: dict) -> tuple[nn.Module, Optional[dict]]:
    """The rebuilt model and the config it came from (None for ``arch``)."""
    k = _num_classes(checkpoint)
    if arch is not None:
        from lightning_vid.models import build_model

        return build_model(arch, k, pretrained=False, **options), None
    stored = (checkpoint.get(INFO_KEY) or {}).get("config")
    if config is not None or stored is not None:
        cfg = _read_config(config if config is not None else stored)
        return model_from_config(cfg, k), cfg
    state = {key[len("model."):]: v for key, v in checkpoint["state_dict"].items()
             if key.startswith("model.")}
    for candidate in _nearby_configs(path):
        try:
            cfg = _read_config(candidate)
            model = model_from_config(cfg, k)
            model.load_state_dict(state)
        except Exception:  # noqa: BLE001 - another run's config: try the next one
            continue
        return model, cfg
    raise ValueError(
        f"cannot rebuild the model of {path}: it holds no CLI config and no lightning_config.yaml near it "
        "matches its weights; pass config= (the run's lightning_config.yaml), arch= or model="
    )


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
        config: the run's CLI config (file, YAML text or dict).
        arch: rebuild with ``build_model(arch, num_classes, **options)`` instead.
        map_location: where the weights go.
        **options: ``build_model`` options with ``arch`` (``backbone``, ``num_segments``, ...).

    Returns:
        The system, with two extra attributes: ``class_names`` (a list, or None when the
        checkpoint does not know them) and ``data_config`` (the data module's init args from
        the config, ``{}`` when unknown: ``crop_size``, ``scale_size``, ...).
    """
    path = Path(path)
    checkpoint = torch.load(path, map_location=map_location, weights_only=False)
    cfg = None
    if model is None:
        model, cfg = _model_for(checkpoint, path, config, arch, options)
    frames_per_segment = getattr(model, "frames_per_segment", 1)
    system = VideoClassifier(model=model, frames_per_segment=frames_per_segment)
    system.load_state_dict(checkpoint["state_dict"])
    system.eval()
    info = checkpoint.get(INFO_KEY) or {}
    system.class_names = info.get("class_names")
    system.data_config = dict(((cfg or {}).get("data") or {}).get("init_args") or {})
    if system.class_names is None:
        system.class_names = _class_names_from_data(system.data_config)
    return system.to(map_location)


def _class_names_from_data(data: dict) -> Optional[list[str]]:
    """The class-name file of the config's data root, when it is still there."""
    root, name = data.get("root"), data.get("class_names", "classes.txt")
    if root and name and os.path.isfile(os.path.join(root, name)):
        from lightning_vid.data.annotations import read_class_names

        return list(read_class_names(Path(root) / name))
    return None
