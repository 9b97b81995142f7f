"""Wiring: where a temporal block goes in the trunk, declared once, next to the block.

.. code-block:: python

    from lightning_vid.trunk import register_block

    @register_block("probe", placement="before_conv1")
    class Probe(nn.Module):
        def __init__(self, channels: int, num_segments: int, *, gain: float = 1.0) -> None: ...
        def forward(self, x: Tensor) -> Tensor: ...  # (B*T, C, H, W) -> (B*T, C, H, W)

A registration holds only wiring: the placement (:data:`~lightning_vid.trunk.inject.PLACEMENTS`),
the stages (1..4 = res2..res5) and a ``select`` rule over the residual blocks. The model
(:class:`lightning_vid.models.VideoRecognizer`) receives its blocks as a list of callables
``block(channels, num_segments, **context)`` -- a class, a ``functools.partial`` of one, or
what the CLI makes of ``class_path`` and ``init_args`` -- and reads their wiring here; an
:class:`Insert` entry overrides it for one entry. A name makes the block alone a model
preset (``build_model("probe", ...)``, ``list_models()``).

The arguments a block declares among :data:`CONTEXT` are filled in per site:
``feature_size`` (the side of the map the residual block receives), ``stage`` (1..4) and
``target`` (the module wrapped or replaced, for ``replace_conv2`` and ``block``).
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

from torch import nn

from lightning_vid.trunk.adapter import check_placement
from lightning_vid.trunk.inject import PLACEMENTS, BlockSelect, BlockSite, Placement, inject_temporal

#: Arguments a block may declare that the injection fills in for each site (not options).
CONTEXT = ("feature_size", "stage", "target")
#: ``block(channels, num_segments, **context)`` -> the temporal module for one site.
BlockFactory = Callable[[int, int], nn.Module]


@dataclass(frozen=True)
class Wiring:
    """Where a block goes (see :func:`register_block`)."""

    placement: str
    stages: tuple[int, ...] = (1, 2, 3, 4)
    select: Optional[BlockSelect] = None
    name: Optional[str] = None


_WIRINGS: dict[object, Wiring] = {}
_NAMED: dict[str, Callable[..., nn.Module]] = {}


def register_block(
    name: Optional[str],
    placement: Placement,
    *,
    stages: Sequence[int] = (1, 2, 3, 4),
    select: Optional[BlockSelect] = None,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Class (or factory function) decorator: where the block goes by default.

    Args:
        name: a preset name for the block alone on a ResNet-50 (``build_model(name)``), or
            None (a part of other presets: TEA's temporal convs).
        placement: one of :data:`~lightning_vid.trunk.inject.PLACEMENTS`.
        stages: the stages (1..4 = res2..res5) that receive it.
        select: ``select(site)``: which residual blocks of those stages get one (default all).
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}; valid: {', '.join(PLACEMENTS)}")
    if any(s not in (1, 2, 3, 4) for s in stages):
        raise ValueError(f"stages are 1..4 (res2..res5), got {tuple(stages)}")

    def register(block: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        old = _NAMED.get(name) if name else None
        if old is not None and _key(old) != _key(block):
            raise KeyError(f"block name {name!r} is already registered by "
                           f"{old.__module__}.{old.__qualname__}")
        params = list(inspect.signature(block).parameters.values())
        if len(params) < 2 or any(p.kind == p.KEYWORD_ONLY for p in params[:2]):
            raise TypeError(f"register_block({name!r}) on {block.__qualname__}: a block is "
                            "called as block(channels, num_segments, ...)")
        _WIRINGS[block] = Wiring(placement, tuple(stages), select, name)
        if name:
            _NAMED[name] = block
        return block

    return register


def _key(block: Callable) -> tuple[str, str]:
    return block.__module__, block.__qualname__


def named_blocks() -> dict[str, Callable[..., nn.Module]]:
    """The blocks registered with a name (those imported so far), by name."""
    return dict(_NAMED)


def block_of(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """The registered class or function inside ``factory``: itself, or the callable a
    ``functools.partial`` (Python's or the CLI's) wraps; else the first class found there."""
    found, stack = None, [factory]
    while stack:
        f = stack.pop(0)
        if (isinstance(f, type) or inspect.isfunction(f)) and f in _WIRINGS:
            return f
        if isinstance(f, functools.partial):
            stack += [f.func, *f.args]
        elif found is None and isinstance(f, type) and issubclass(f, nn.Module):
            found = f
    return found or factory


def wiring_of(factory: Callable[..., nn.Module]) -> Optional[Wiring]:
    """The registration of the block inside ``factory``, or None."""
    return _WIRINGS.get(block_of(factory))


class Insert:
    """One entry of a model's ``blocks`` whose wiring differs from its registration.

    Args:
        block: the block (a class, a partial, or ``class_path``/``init_args`` in a config).
        placement: replaces the registration's placement.
        stages: replaces its stages.
        select: replaces its ``select`` rule (:func:`~lightning_vid.trunk.inject.every_block`:
            all blocks).

    >>> from lightning_vid.blocks.tsm import TemporalShift
    >>> Insert(TemporalShift, stages=(3, 4)).wiring().stages
    (3, 4)
    """

    def __init__(self, block: BlockFactory, *, placement: Optional[Placement] = None,
                 stages: Optional[tuple[int, ...]] = None,
                 select: Optional[BlockSelect] = None) -> None:
        self.block, self.placement, self.select = block, placement, select
        self.stages = None if stages is None else tuple(stages)

    def wiring(self) -> Wiring:
        """The registration's wiring with this entry's changes."""
        base = wiring_of(self.block)
        if base is None and self.placement is None:
            raise ValueError(f"{describe(self.block)} is not registered (register_block): "
                             "give its placement")
        base = base or Wiring(self.placement)
        return Wiring(self.placement or base.placement,
                      base.stages if self.stages is None else self.stages,
                      base.select if self.select is None else self.select, base.name)

    def __repr__(self) -> str:
        return (f"Insert({describe(self.block)}, placement={self.placement!r}, "
                f"stages={self.stages!r}, select={self.select!r})")


Entry = Union[BlockFactory, Insert]


def describe(factory: Callable[..., nn.Module]) -> str:
    """The block's name for messages: its registered name or its class/function name."""
    block = block_of(factory)
    wiring = _WIRINGS.get(block)
    return (wiring and wiring.name) or getattr(block, "__qualname__", repr(block))


def resolve(entry: Entry) -> tuple[BlockFactory, Wiring]:
    """The factory and wiring of one ``blocks`` entry (a ValueError names an unregistered
    block without a placement)."""
    if isinstance(entry, Insert):
        return entry.block, entry.wiring()
    wiring = wiring_of(entry)
    if wiring is None:
        raise ValueError(f"{describe(entry)} is not a registered temporal block "
                         "(register_block); wrap it in lightning_vid.trunk.Insert with a placement")
    return entry, wiring


def check_blocks(backbone: str, entries: Sequence[Entry], who: Optional[str] = None) -> None:
    """Raise a ValueError, from the names alone, if a block's placement does not exist in
    ``backbone``'s residual blocks (TEA's sub-convs need Res2Net)."""
    for entry in entries:
        factory, wiring = resolve(entry)
        check_placement(backbone, wiring.placement, who or describe(factory))


def inject_blocks(trunk: nn.Module, entries: Sequence[Entry], num_segments: int,
                  input_size: Optional[int] = None) -> None:
    """Inject every entry into ``trunk``, in order, each at its wiring's sites."""
    for entry in entries:
        factory, wiring = resolve(entry)
        accepted = inspect.signature(block_of(factory)).parameters
        context = [k for k in CONTEXT if k in accepted]

        def make(site: BlockSite, factory=factory, context=context) -> nn.Module:
            here = {"feature_size": site.feature_size, "stage": site.stage, "target": site.target}
            return factory(site.channels, num_segments, **{k: here[k] for k in context})

        inject_temporal(trunk, make, wiring.placement, wiring.stages, wiring.select, input_size)
