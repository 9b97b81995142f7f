"""The registry: a temporal block registers itself, where it is defined, as an architecture.

.. code-block:: python

    from lightning_vid.models import register_block

    @register_block("probe", placement="before_conv1")
    class Probe(nn.Module):
        def __init__(self, channels: int, num_segments: int, *, gain: float = 1.0) -> None: ...
        def forward(self, x: Tensor) -> Tensor: ...  # (B*T, C, H, W) -> (B*T, C, H, W)

With only that, ``probe`` is in :func:`list_models`, ``build_model("probe", ...)`` builds it
(ResNet-50 by default, a ``Probe`` before conv1 of every block of res2..res5, one frame per
segment), and a model class with a typed signature is generated for configs and checkpoints:
``<the block's module>.PROBE`` (also reachable as ``lightning_vid.models.zoo.PROBE``), whose
arguments are :func:`~lightning_vid.models.build_model`'s plus ``stages`` and the block's
keyword options (``gain: float = 1.0``), so the CLI checks them before anything runs. Every
module of ``lightning_vid/blocks/`` is imported the first time the registry is read, so a file
dropped there needs no other edit; a block in a user's module or notebook is registered when
that module runs (a config naming ``mymodule.PROBE`` imports it).

The registration can say more (:func:`register_block`): the stages and a ``select`` rule,
the default backbone, frames per segment with a frame hook (TDN's short-term branch), other
architectures injected with it (TCM on TSM's shift), the head's initialisation, and the
papers' figures that ``scripts/model_figures.py`` compares with.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import pkgutil
import sys
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Optional, Sequence

from torch import nn

from lightning_vid.models.inject import PLACEMENTS, BlockSelect

HeadInit = Literal["normal", "xavier_uniform"]
#: Arguments a block may declare that the injector fills in for each site (not options).
CONTEXT = ("feature_size", "stage", "target")
#: Arguments every generated model has (``build_model``'s), in this order.
COMMON = ("num_classes", "num_segments", "backbone", "pretrained", "input_size", "dropout")
_MISSING = inspect.Parameter.empty


@dataclass(frozen=True)
class PaperFigure:
    """What a paper (or its authors' code, measured) reports for one setting, for
    ``scripts/model_figures.py``; ``kwargs`` go to ``build_model`` (``backbone``, options)."""

    source: str
    num_classes: int = 400
    input_size: int = 224
    params_m: Optional[float] = None
    gmacs: Optional[float] = None
    kwargs: dict = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class With:
    """Another registered architecture whose blocks are injected first (TCM: TSM's shift).

    Args:
        arch: its name.
        switch: the boolean model argument that turns it off (``shift``).
        select: replaces that architecture's ``select`` rule (None: keep it).
    """

    arch: str
    switch: str
    select: Optional[BlockSelect] = None


@dataclass(frozen=True)
class Option:
    """A typed keyword argument of a generated model class."""

    name: str
    annotation: Any
    default: Any


@dataclass
class Architecture:
    """One registration (see :func:`register_block`); ``model_class`` is generated from it."""

    name: str
    block: Optional[Callable[..., nn.Module]]
    placement: Optional[str]
    stages: tuple[int, ...]
    select: Optional[BlockSelect]
    backbone: str
    frames_per_segment: int
    frame_hook: Optional[type]
    combine: tuple[With, ...]
    head_init: HeadInit
    figures: tuple[PaperFigure, ...]
    class_name: str
    module: str
    trunks: tuple[str, ...] = ()
    trunk_reason: str = ""
    options: tuple[Option, ...] = ()
    hook_options: tuple[Option, ...] = ()
    context: tuple[str, ...] = ()
    model_class: Optional[type] = None

    @property
    def temporal(self) -> bool:
        """False for an architecture without temporal modelling (TSN): nothing is injected."""
        return self.placement is not None or bool(self.combine) or self.frame_hook is not None

    def accepts(self, backbone: str) -> bool:
        """Whether ``backbone`` (a timm name, pretrained tag allowed) matches :attr:`trunks`
        (always, when the registration names none)."""
        base = backbone.split(".", 1)[0]
        return not self.trunks or any(fnmatch.fnmatch(base, p) for p in self.trunks)

    def check_trunk(self, backbone: str) -> None:
        """Raise a ValueError naming ``backbone`` and the paper's trunk if it is not
        accepted (:meth:`accepts`); called before any weight is built."""
        if not self.accepts(backbone):
            why = f" ({self.trunk_reason})" if self.trunk_reason else ""
            raise ValueError(
                f"{self.name} cannot be built on backbone {backbone!r}: it needs a trunk "
                f"matching {', '.join(self.trunks)}{why}; use backbone={self.backbone!r} "
                f"({self.name}'s paper trunk)"
            )


_ARCHS: dict[str, Architecture] = {}
_BLOCKS_IMPORTED = False


def _typed_options(fn: Callable, skip: int, what: str
                   ) -> tuple[tuple[Option, ...], tuple[str, ...]]:
    """The keyword options of ``fn`` after its first ``skip`` parameters, with resolved
    annotations, and the :data:`CONTEXT` arguments it declares."""
    init = fn.__init__ if isinstance(fn, type) else fn
    params = list(inspect.signature(fn).parameters.values())
    if len(params) < skip:
        raise TypeError(f"{what} must take {skip} positional arguments first")
    try:
        hints = typing.get_type_hints(init)
    except Exception:  # noqa: BLE001 - an unresolvable annotation: keep it untyped
        hints = {}
    options, context = [], []
    for p in params[skip:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name in CONTEXT:
            context.append(p.name)
        elif p.default is _MISSING:
            raise TypeError(f"{what}: option {p.name!r} needs a default (it becomes a config "
                            "argument)")
        else:
            options.append(Option(p.name, hints.get(p.name, Any), p.default))
    return tuple(options), tuple(context)


def register_block(
    name: str,
    placement: Optional[str],
    *,
    stages: Sequence[int] = (1, 2, 3, 4),
    select: Optional[BlockSelect] = None,
    backbone: str = "resnet50",
    trunks: Sequence[str] = (),
    trunk_reason: str = "",
    frames_per_segment: int = 1,
    frame_hook: Optional[type] = None,
    combine: Sequence[With] = (),
    head_init: HeadInit = "normal",
    figures: Sequence[PaperFigure] = (),
    class_name: Optional[str] = None,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Class (or factory function) decorator: the block becomes the architecture ``name``.

    Args:
        name: the architecture's name for ``build_model`` and ``list_models``.
        placement: one of ``lightning_vid.models.inject.PLACEMENTS``; None injects nothing
            (TSN).
        stages: the stages (1..4 = res2..res5) that receive blocks by default.
        select: ``select(site)``: which residual blocks of those stages get one (default all).
        backbone: the default timm trunk (the paper's).
        trunks: glob patterns of the timm trunks the block can be built on (TEA:
            ``res2net*``); empty: any ResNet-family trunk. Another backbone is refused with a
            ValueError, before any weight is built, that names it, ``trunk_reason`` and
            ``backbone``.
        trunk_reason: why the block needs those trunks (for that message).
        frames_per_segment: L; more than one needs a ``frame_hook``.
        frame_hook: a module class that sees the L frames of each segment before the trunk
            (TDN's short-term branch): ``frame_hook.from_trunk(trunk, num_segments,
            frames_per_segment, **options)`` builds it, stored as ``model.<hook_name>``;
            its ``forward(x (B*T*L, C, H, W))`` returns the trunk's input ``(B*T, C, H, W)``
            and ``{fusion point: tensor}``, which ``fuse(h, tensor)`` adds to the trunk's maps
            there (``lightning_vid.models.trunk.FUSION_POINTS``).
        combine: other architectures injected first (:class:`With`).
        head_init: the fc's initialisation: ``"normal"`` N(0, 0.001) (TSN's codebase) or
            ``"xavier_uniform"`` (TCM's code); bias zero.
        figures: the papers' parameter and MAC figures (:class:`PaperFigure`).
        class_name: the generated model class (default ``name.upper()``), set as an attribute
            of the block's module, which must not bind that name itself.

    How a block's recorded tensors are drawn is declared on the block, next to what it
    records (``lightning_vid.blocks.ops.Recorder.layouts``). The block is called as
    ``block(channels, num_segments, **options, **context)``: its
    keyword options (with defaults and type annotations) become the model's arguments; the
    arguments named in :data:`CONTEXT` are filled in per site (``feature_size``: the side of
    the map the residual block receives; ``stage``: 1..4; ``target``: the module wrapped or
    replaced, for ``replace_conv2`` and ``block``).
    """
    if placement is not None and placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}; valid: {', '.join(PLACEMENTS)}")
    if frames_per_segment != 1 and frame_hook is None:
        raise ValueError("frames_per_segment > 1 needs a frame_hook that consumes the frames")
    if trunks and not any(fnmatch.fnmatch(backbone, p) for p in trunks):
        raise ValueError(f"default backbone {backbone!r} does not match trunks {tuple(trunks)}")

    def register(block: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        what = f"register_block({name!r}) on {getattr(block, '__qualname__', block)}"
        options, context = _typed_options(block, 2, what) if placement else ((), ())
        hook_options = ()
        if frame_hook is not None:
            hook_options = _typed_options(frame_hook.from_trunk, 3, f"{what}: frame_hook")[0]
        arch = Architecture(
            name=name, block=block, placement=placement, stages=tuple(stages), select=select,
            backbone=backbone, frames_per_segment=frames_per_segment, frame_hook=frame_hook,
            combine=tuple(combine), head_init=head_init, figures=tuple(figures),
            class_name=class_name or name.upper(), module=block.__module__, options=options,
            hook_options=hook_options, context=context, trunks=tuple(trunks),
            trunk_reason=trunk_reason,
        )
        _add(arch, block)
        return block

    return register


def _add(arch: Architecture, block: Callable) -> None:
    from lightning_vid.models.zoo import model_class  # the zoo builds on this module

    old = _ARCHS.get(arch.name)
    same = old is not None and (old.module, old.block.__qualname__) == (arch.module,
                                                                      block.__qualname__)
    if old is not None and not same:
        raise KeyError(f"architecture {arch.name!r} is already registered by "
                       f"{old.module}.{old.block.__qualname__}")
    module = sys.modules[arch.module]
    present = getattr(module, arch.class_name, None)
    if present is not None and getattr(present, "architecture", None) is None:
        raise ValueError(f"{arch.module} already defines {arch.class_name!r}; register "
                         f"{arch.name!r} with another class_name")
    for part in arch.combine:
        get_architecture(part.arch)
    arch.model_class = model_class(arch)
    setattr(module, arch.class_name, arch.model_class)
    _ARCHS[arch.name] = arch


def import_blocks() -> None:
    """Import every module of ``lightning_vid/blocks/`` once, registering its blocks."""
    global _BLOCKS_IMPORTED
    if _BLOCKS_IMPORTED:
        return
    _BLOCKS_IMPORTED = True
    import lightning_vid.blocks as package

    try:
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")
    except BaseException:
        _BLOCKS_IMPORTED = False
        raise


def list_models() -> list[str]:
    """The registered architecture names, sorted."""
    import_blocks()
    return sorted(_ARCHS)


def get_architecture(name: str) -> Architecture:
    """The registration of ``name``; a ValueError lists the valid names."""
    import_blocks()
    try:
        return _ARCHS[name]
    except KeyError:
        raise ValueError(
            f"unknown arch {name!r}; valid names: {', '.join(list_models())}"
        ) from None


def architectures() -> list[Architecture]:
    """Every registration, sorted by name."""
    return [_ARCHS[name] for name in list_models()]
