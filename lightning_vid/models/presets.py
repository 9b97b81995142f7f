"""Named presets: the papers' models, each a small function, as timm's ``register_model`` ones.

A preset returns the parts of a :class:`~lightning_vid.models.VideoRecognizer` (its ``blocks``,
``frame_hook`` and ``head_init``) for its options; :func:`build_model` adds the common
arguments (classes, segments, trunk, weights, input size, dropout). A block registered with
a name (``register_block("probe", ...)``) is a preset of its own, the block alone, with no
other edit: :func:`list_models` imports every module of ``lightning_vid/blocks/`` first.

>>> {"tsn", "tsm", "tam", "tea", "tdn", "tcm", "trm"} <= set(list_models())
True
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from torch import nn

from lightning_vid.blocks.tam import TemporalAdaptiveModule
from lightning_vid.blocks.tcm import TemporalCorrelation
from lightning_vid.blocks.tdn import LongTermBlock, ShortTermTDM
from lightning_vid.blocks.tea import MotionExcitation, PassthroughShift, SubconvTemporalConv
from lightning_vid.blocks.trm import TemporalRelocation
from lightning_vid.blocks.tsm import TemporalShift
from lightning_vid.models.figures import PaperFigure, figures_of
from lightning_vid.models.recognizer import VideoRecognizer
from lightning_vid.trunk.adapter import Pretrained
from lightning_vid.trunk.inject import every_block
from lightning_vid.trunk.wiring import CONTEXT, Insert, check_blocks, named_blocks

Parts = dict[str, Any]
#: build_model's arguments before the preset's options
COMMON = ("num_classes", "num_segments", "backbone", "pretrained", "input_size", "dropout")


@dataclass(frozen=True)
class Preset:
    """One named preset: its function and default trunk."""

    name: str
    fn: Callable[..., Parts]
    backbone: str = "resnet50"
    title: str = ""  # the paper's name of the model (TANet); default the name in capitals

    @property
    def frames_per_segment(self) -> int:
        """L by default (TDN: 5)."""
        p = inspect.signature(self.fn).parameters.get("frames_per_segment")
        return 1 if p is None else p.default

    @property
    def temporal(self) -> bool:
        """False for TSN: nothing temporal is injected."""
        parts = self.fn()
        return bool(parts.get("blocks")) or parts.get("frame_hook") is not None

    @property
    def figures(self) -> tuple[PaperFigure, ...]:
        """The papers' figures (:mod:`lightning_vid.models.figures`)."""
        return figures_of(self.name)

    def config(self, **args: Any) -> dict:
        """The config (``model.model``: ``class_path`` and ``init_args``) that builds this
        preset with ``args`` (common arguments and options), for ``--model.model``."""
        return _config(self, args)

    def check_trunk(self, backbone: str) -> None:
        """A ValueError naming ``backbone`` and a trunk that works, when a block's placement
        does not exist in it (TEA on a plain ResNet); from the name, before any weight."""
        check_blocks(backbone, self.fn().get("blocks", ()), self.name)

    def accepts(self, backbone: str) -> bool:
        """Whether :meth:`check_trunk` passes."""
        try:
            self.check_trunk(backbone)
        except ValueError:
            return False
        return True


def to_config(obj: Any) -> Any:
    """``class_path``/``init_args`` of a ``blocks`` entry or frame hook (what a config holds)."""
    if isinstance(obj, Insert):
        args = {"block": to_config(obj.block), "placement": obj.placement,
                "stages": None if obj.stages is None else list(obj.stages),
                "select": None if obj.select is None else
                f"{obj.select.__module__}.{obj.select.__qualname__}"}
        return {"class_path": "lightning_vid.trunk.Insert",
                "init_args": {k: v for k, v in args.items() if v is not None}}
    init = {}
    if isinstance(obj, functools.partial):
        obj, init = obj.func, {k: v for k, v in obj.keywords.items() if v is not None}
    spec = {"class_path": f"{obj.__module__}.{obj.__qualname__}"}
    if init:
        spec["init_args"] = {k: list(v) if isinstance(v, tuple) else v for k, v in init.items()}
    return spec


def _config(preset: Preset, args: dict) -> dict:
    options = {k: v for k, v in args.items() if k not in COMMON}
    parts = preset.fn(**options)
    init = {k: args[k] for k in COMMON if k in args and k != "num_classes"}
    init["backbone"] = init.get("backbone") or preset.backbone
    init["blocks"] = [to_config(b) for b in parts.get("blocks", ())]
    if parts.get("frame_hook") is not None:
        init["frame_hook"] = to_config(parts["frame_hook"])
    if parts.get("head_init"):
        init["head_init"] = parts["head_init"]
    return {"class_path": "lightning_vid.models.VideoRecognizer", "init_args": init}


_PRESETS: dict[str, Preset] = {}
_BLOCKS_IMPORTED = False


def register_model(backbone: str = "resnet50", title: str = ""
                   ) -> Callable[[Callable[..., Parts]], Callable[..., Parts]]:
    """Function decorator: the function's name becomes a preset on ``backbone`` by default
    (``title``: the paper's name of the model, default the name in capitals)."""

    def register(fn: Callable[..., Parts]) -> Callable[..., Parts]:
        _PRESETS[fn.__name__] = Preset(fn.__name__, fn, backbone, title or fn.__name__.upper())
        return fn

    return register


def entry(block: Callable[..., nn.Module], stages: Optional[Sequence[int]] = None,
          select: Optional[Callable] = None, **options: Any) -> Any:
    """One ``blocks`` entry: ``block`` with ``options`` (checked against its signature now),
    wired as registered unless ``stages`` or ``select`` is given."""
    accepted = inspect.signature(block).parameters
    unknown = sorted(set(options) - set(accepted) | set(options) & set(CONTEXT))
    if unknown:
        raise TypeError(f"{block.__qualname__} has no option {', '.join(unknown)}")
    factory = functools.partial(block, **options) if options else block
    if stages is None and select is None:
        return factory
    return Insert(factory, stages=None if stages is None else tuple(stages), select=select)


@register_model()
def tsn() -> Parts:
    """TSN: the 2D trunk on each frame, logits averaged (no temporal block)."""
    return {"blocks": []}


@register_model()
def tsm(stages: Optional[Sequence[int]] = None, **options: Any) -> Parts:
    """TSM: the temporal shift on the residual branch (``blocks/tsm.py``)."""
    return {"blocks": [entry(TemporalShift, stages, **options)]}


@register_model(title="TANet")
def tam(stages: Optional[Sequence[int]] = None, **options: Any) -> Parts:
    """TANet: TAM after conv1 of every residual block (``blocks/tam.py``)."""
    return {"blocks": [entry(TemporalAdaptiveModule, stages, **options)]}


@register_model(backbone="res2net50_26w_4s")
def tea(stages: Optional[Sequence[int]] = None, shift_passthrough: bool = True,
        **options: Any) -> Parts:
    """TEA on Res2Net: ME, the sub-convs' temporal convs and the pass-through shift."""
    blocks = [entry(MotionExcitation, stages, **options), entry(SubconvTemporalConv, stages)]
    if shift_passthrough:
        blocks.append(entry(PassthroughShift, stages))
    return {"blocks": blocks}


@register_model()
def tdn(stages: Optional[Sequence[int]] = None, frames_per_segment: int = 5,
        fusion_weights: Optional[tuple[float, float]] = None, **options: Any) -> Parts:
    """TDN: L-TDM blocks in res3..res5 and S-TDM on the 5 frames of each segment."""
    hook = functools.partial(ShortTermTDM, frames_per_segment=frames_per_segment,
                             fusion_weights=fusion_weights)
    return {"blocks": [entry(LongTermBlock, stages, **options)], "frame_hook": hook}


@register_model()
def tcm(stages: Optional[Sequence[int]] = None, shift: bool = True, fold_div: int = 8,
        **options: Any) -> Parts:
    """TCM: TSM's shift in every block, then the TCM after res3; the code's Xavier head."""
    blocks = [entry(TemporalShift, select=every_block, fold_div=fold_div)] if shift else []
    blocks.append(entry(TemporalCorrelation, stages, **options))
    return {"blocks": blocks, "head_init": "xavier_uniform"}


@register_model()
def trm(stages: Optional[Sequence[int]] = None, **options: Any) -> Parts:
    """TRM: temporal relocation before conv1 in res4 and res5 (``blocks/trm.py``)."""
    return {"blocks": [entry(TemporalRelocation, stages, **options)]}


def import_blocks() -> None:
    """Import every module of ``lightning_vid/blocks/`` once: a block registered there with a
    name becomes a preset (the block alone on ResNet-50)."""
    global _BLOCKS_IMPORTED
    if _BLOCKS_IMPORTED:
        return
    import lightning_vid.blocks as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    _BLOCKS_IMPORTED = True


def _block_preset(block: Callable[..., nn.Module]) -> Callable[..., Parts]:
    def preset(stages: Optional[Sequence[int]] = None, **options: Any) -> Parts:
        return {"blocks": [entry(block, stages, **options)]}

    return preset


def _all() -> dict[str, Preset]:
    import_blocks()
    found = dict(_PRESETS)
    for name, block in named_blocks().items():
        if name not in found:
            found[name] = Preset(name, _block_preset(block), title=name.upper())
    return found


def list_models() -> list[str]:
    """The preset names, sorted: the papers' and every named block's."""
    return sorted(_all())


def get_architecture(name: str) -> Preset:
    """The preset ``name``; a ValueError lists the valid names."""
    found = _all()
    if name not in found:
        raise ValueError(f"unknown arch {name!r}; valid names: {', '.join(sorted(found))}")
    return found[name]


def build_model(
    arch: str,
    num_classes: int,
    num_segments: int = 8,
    backbone: Optional[str] = None,
    pretrained: Pretrained = False,
    input_size: int = 224,
    dropout: float = 0.5,
    **options: Any,
) -> VideoRecognizer:
    """Build a preset.

    Args:
        arch: one of :func:`list_models` (``tsn``, ``tsm``, ...).
        num_classes: K.
        num_segments: T.
        backbone: a timm ResNet-family name; ``None`` picks the paper's default.
        pretrained: ``False``, ``True`` (timm's hub) or a local 2D weights file.
        input_size: the square frame size the model will see (used by TRM's cTRM).
        dropout: before the fc.
        **options: the preset's: ``stages`` and its block's options (``fold_div``, ...).

    Returns:
        A :class:`VideoRecognizer` (``num_segments`` and ``frames_per_segment`` attributes)
        mapping ``(B, num_segments*frames_per_segment, 3, H, W)`` to logits ``(B, num_classes)``;
        its ``preset`` attribute is ``arch``.

    >>> import torch
    >>> m = build_model("tsm", num_classes=5, num_segments=4, backbone="resnet18")
    >>> m(torch.randn(2, 4, 3, 32, 32)).shape
    torch.Size([2, 5])
    """
    preset = get_architecture(arch)
    parts = preset.fn(**options)
    backbone = backbone or preset.backbone
    check_blocks(backbone, parts.get("blocks", ()), arch)
    model = VideoRecognizer(num_classes, num_segments, backbone, pretrained, input_size,
                            dropout, **parts)
    model.preset, model.title = arch, preset.title
    return model


def instantiate(spec: dict) -> nn.Module:
    """The model a config's ``model.model`` (``class_path`` and ``init_args``) names, built as
    the CLI builds it: jsonargparse checks every argument, nested ``blocks`` included."""
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--model", type=nn.Module)
    return parser.instantiate(parser.parse_object({"model": spec})).model
