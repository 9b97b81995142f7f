"""The model classes configs and checkpoints named before the presets: ``TSM``, ``TANet``, ...

Configs written for earlier releases name ``lightning_vid.models.zoo.TSM`` (this module's
classes, re-exported by ``zoo.py``) or ``lightning_vid.blocks.tsm.TSM`` (a name a block module
no longer holds: blocks sit below the models). :func:`upgrade_network` turns the second into
the first; the CLI (config files, ``--model.model``, ``--ckpt_path``) and
:func:`lightning_vid.load_checkpoint` call it. Each class keeps its old typed arguments, builds
the same modules under the same state-dict names as the preset (so saved weights load) and
warns with the config of today's form (:meth:`~lightning_vid.models.presets.Preset.config`).
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any, Literal, Optional

import yaml

from lightning_vid.models.presets import get_architecture
from lightning_vid.models.recognizer import VideoRecognizer
from lightning_vid.trunk.adapter import Pretrained
from lightning_vid.models.presets import COMMON as _COMMON
from lightning_vid.trunk.wiring import Insert


class LegacyModelWarning(UserWarning):
    """A config or checkpoint names a model class of an earlier release."""


class _Legacy(VideoRecognizer):
    architecture = ""  # the preset it builds

    def _build(self, args: dict) -> None:
        """Warn with today's form, then build the preset from ``args`` (the old arguments)."""
        args = {k: v for k, v in args.items() if k not in ("self", "__class__")}
        preset = get_architecture(self.architecture)
        defaults = {k: p.default for k, p in inspect.signature(type(self)).parameters.items()}
        given = {k: v for k, v in args.items() if k in _COMMON or v != defaults.get(k)}
        today = yaml.safe_dump({"model": {"model": preset.config(**given)}}, sort_keys=False)
        warnings.warn(f"lightning_vid.models.zoo.{type(self).__name__} is a model name of an "
                      f"earlier release; it builds the same model as today's config:\n{today}"
                      f"(or build_model({self.architecture!r}, ...) in Python)",
                      LegacyModelWarning, stacklevel=3)
        options = {k: v for k, v in args.items() if k not in _COMMON}
        if "stages" in options:
            options["stages"] = tuple(options["stages"])
        common = {k: args[k] for k in _COMMON}
        common["backbone"] = common["backbone"] or preset.backbone
        preset.check_trunk(common["backbone"])
        VideoRecognizer.__init__(self, **common, **preset.fn(**options))
        self.preset, self.title = self.architecture, preset.title


class TSN(_Legacy):
    """Earlier name of ``build_model("tsn")``."""

    architecture = "tsn"

    def __init__(self, num_classes: Optional[int] = None, num_segments: int = 8,
                 backbone: Optional[str] = None, pretrained: Pretrained = False,
                 input_size: int = 224, dropout: float = 0.5) -> None:
        self._build(locals())


class TSM(_Legacy):
    """Earlier name of ``build_model("tsm")``."""

    architecture = "tsm"

    def __init__(self, num_classes: Optional[int] = None, num_segments: int = 8,
                 backbone: Optional[str] = None, pretrained: Pretrained = False,
                 input_size: int = 224, dropout: float = 0.5, *,
                 stages: tuple[int, ...] = (1, 2, 3, 4), fold_div: int = 8) -> None:
        self._build(locals())


class TANet(_Legacy):
    """Earlier name of ``build_model("tam")``."""

    architecture = "tam"

    def __init__(self, num_classes: Optional[int] = None, num_segments: int = 8,
                 backbone: Optional[str] = None, pretrained: Pretrained = False,
                 input_size: int = 224, dropout: float = 0.5, *,
                 stages: tuple[int, ...] = (1, 2, 3, 4), kernel_size: int = 3, alpha: int = 2,
                 beta: int = 4, variant: Literal["tanet", "tanet_r", "global", "local"] = "tanet",
                 local_kernel_size: int = 3, global_bn: bool = True) -> None:
        self._build(locals())


class TCM(_Legacy):
    """Earlier name of ``build_model("tcm")``."""

    architecture = "tcm"

    def __init__(self, num_classes: Optional[int] = None, num_segments: int = 8,
                 backbone: Optional[str] = None, pretrained: Pretrained = False,
                 input_size: int = 224, dropout: float = 0.5, *,
                 stages: tuple[int, ...] = (2,), radius: Optional[int] = None,
                 reduction: int = 8, sigma: float = 5.0, tau: float = 0.01,
                 gaussian: Literal["code", "paper"] = "code", corr_relu: bool = True,
                 stem_groups: int = 3, shift: bool = True, fold_div: int = 8) -> None:
        self._build(locals())


class TDN(_Legacy):
    """Earlier name of ``build_model("tdn")``."""

    architecture = "tdn"

    def __init__(self, num_classes: Optional[int] = None, num_segments: int = 8,
                 backbone: Optional[str] = None, pretrained: Pretrained = False,
                 input_size: int = 224, dropout: float = 0.5, *,
                 stages: tuple[int, ...] = (2, 3, 4), reduction: int = 16,
                 upsample: Literal["nearest", "bilinear"] = "nearest",
                 first_release_backward_branch: bool = False, temporal_conv: bool = True,
                 fold_div: int = 8, frames_per_segment: int = 5,
                 fusion_weights: Optional[tuple[float, float]] = None) -> None:
        self._build(locals())


class TEA(_Legacy):
    """Earlier name of ``build_model("tea")``."""

    architecture = "tea"

    def __init__(self, num_classes: Optional[int] = None, num_segments: int = 8,
                 backbone: Optional[str] = None, pretrained: Pretrained = False,
                 input_size: int = 224, dropout: float = 0.5, *,
                 stages: tuple[int, ...] = (1, 2, 3, 4), reduction: int = 16,
                 attention_scale: Literal["half", "full"] = "half",
                 shift_passthrough: bool = True) -> None:
        self._build(locals())


class TRM(_Legacy):
    """Earlier name of ``build_model("trm")``."""

    architecture = "trm"

    def __init__(self, num_classes: Optional[int] = None, num_segments: int = 8,
                 backbone: Optional[str] = None, pretrained: Pretrained = False,
                 input_size: int = 224, dropout: float = 0.5, *,
                 stages: tuple[int, ...] = (3, 4), variant: Literal["c", "s", "t"] = "c",
                 fold_div: int = 8, temporal_kernel: int = 7, channel_kernel: int = 3,
                 spatial_kernel: int = 3, spatial_agnostic: bool = False) -> None:
        self._build(locals())


CLASSES = {cls.__name__: cls for cls in (TSN, TSM, TANet, TCM, TDN, TEA, TRM)}
_ARGS = """
    Args:
        num_classes: K, the number of classes. Required in Python; the CLI sets it from the
            data (--data.init_args.num_classes or the class-name file).
        num_segments: T, fixed at construction (several blocks bake it into their weights).
        backbone: a timm ResNet-family name; None: the preset's.
        pretrained: False, True (timm's hub) or a local 2D weights file.
        input_size: the square frame size the model will see.
        dropout: before the fc.
        stages: the stages (1..4 = res2..res5) that receive the block.
"""
for _cls in CLASSES.values():  # the CLI's help reads the arguments' documentation here
    _cls.__doc__ = f"{_cls.__doc__}\n{_ARGS}"
#: the class paths of earlier releases that no module holds any more -> this module's class
MOVED = {f"lightning_vid.blocks.{cls.architecture}.{name}": f"lightning_vid.models.zoo.{name}"
         for name, cls in CLASSES.items()}


def upgrade_path(class_path: Any) -> Any:
    """``lightning_vid.blocks.tsm.TSM`` -> ``lightning_vid.models.zoo.TSM``; anything else
    unchanged."""
    return MOVED.get(class_path, class_path) if isinstance(class_path, str) else class_path


def upgrade_network(spec: Any) -> Any:
    """A model config (``{"class_path", "init_args"}``, a bare class path, or a whole config
    or hparams dict holding ``model.model`` / ``model``) with the class paths of earlier
    releases that no module holds replaced (:data:`MOVED`); a new object, the input unchanged.
    Call it on anything read from a file before jsonargparse or Lightning sees it."""
    if isinstance(spec, str):
        return upgrade_path(spec)
    if isinstance(spec, dict):
        return {k: upgrade_path(v) if k == "class_path" else upgrade_network(v)
                for k, v in spec.items()}
    if isinstance(spec, list):
        return [upgrade_network(v) for v in spec]
    return spec


def check_network(network: Any) -> None:
    """Raise a ValueError, before anything is built, if the model config ``network``
    (``class_path`` and ``init_args``, a dict or a jsonargparse Namespace) puts a block where
    its trunk has no such place (TEA's sub-convs on a plain ResNet); the message names the
    backbone and a trunk that works. Other configs pass (their errors come when built)."""
    from lightning_vid.trunk.wiring import check_blocks

    get = (lambda o, k: o.get(k) if hasattr(o, "get") else getattr(o, k, None))
    path = upgrade_path(str(get(network, "class_path") or ""))
    args = get(network, "init_args") or {}
    module, _, name = path.rpartition(".")
    if module == "lightning_vid.models.zoo" and name in CLASSES:
        preset = get_architecture(CLASSES[name].architecture)
        preset.check_trunk(get(args, "backbone") or preset.backbone)
    elif path == "lightning_vid.models.VideoRecognizer" or path.endswith(".VideoRecognizer"):
        blocks = [_factory(b) for b in (get(args, "blocks") or [])]
        default = inspect.signature(VideoRecognizer).parameters["backbone"].default
        check_blocks(get(args, "backbone") or default, [b for b in blocks if b is not None])


def _factory(spec: Any) -> Any:
    """The block class of a ``blocks`` entry's config (an Insert keeps its placement)."""
    import importlib

    get = (lambda o, k: o.get(k) if hasattr(o, "get") else getattr(o, k, None))
    path = spec if isinstance(spec, str) else get(spec, "class_path")
    if not isinstance(path, str):
        return spec if callable(spec) else None
    module, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None  # the parser reports it
    if cls is Insert:
        args = get(spec, "init_args") or {}
        block = _factory(get(args, "block"))
        return None if block is None else Insert(block, placement=get(args, "placement"))
    return cls


def read_configs_with_moved_names() -> None:
    """Make jsonargparse's YAML reading apply :func:`upgrade_network` (config files and
    ``--model.model=lightning_vid.blocks.tsm.TSM``); called once by the CLI."""
    from jsonargparse import get_loader, set_loader

    base = get_loader("yaml")
    if getattr(base, "upgrades_names", False):
        return

    def load(text: str) -> Any:
        return upgrade_network(base(text))

    load.upgrades_names = True
    set_loader("yaml", load, exceptions=(yaml.YAMLError,))


def upgrade_argv(argv: list[str]) -> list[str]:
    """Command-line arguments with :data:`MOVED` class paths replaced
    (``--model.model=lightning_vid.blocks.tsm.TSM``, or the value as the next argument)."""
    out = []
    for arg in argv:
        key, eq, value = arg.partition("=")
        out.append(f"{key}={upgrade_path(value)}" if eq else upgrade_path(arg))
    return out
