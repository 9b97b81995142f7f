"""Injection of temporal blocks into a built (and possibly pretrained) timm ResNet trunk.

One function, :func:`inject_temporal`, and a small table of named placements:

=================  ===========================================================================
placement          where the block goes (``channels`` it receives)
=================  ===========================================================================
``before_conv1``   on the residual branch, before conv1: the identity/downsample path sees
                   the unchanged input (TSM "blockres", TRM). conv1's input channels.
``after_conv1``    after conv1 -> bn1 -> act1, before conv2 (TAM, TEA's ME, TDN's L-TDM).
                   conv1's output channels.
``replace_conv2``  replaces conv2 (the 3x3 stage); the block receives the old conv2 as
                   ``target`` to copy its stride and widths. conv2's output channels.
``after_stage``    after a whole stage (TCM after res3). The stage's output channels.
``block``          the residual block itself: the factory receives it as ``target`` and
                   returns what takes its place. conv1's output channels.
``before_subconvs``  Res2Net only: before each 3x3 sub-conv of the hierarchical stage (TEA's
                   MTA). The split width.
``before_passthrough``  Res2Net only: on the split that skips the sub-convs (TEA's shift).
                   The split width.
=================  ===========================================================================

How each placement maps onto timm's modules, and the wrappers that keep the pretrained
weights (``conv1`` -> ``conv1.conv``), are the trunk adapter's (``trunk.py``). Stages are
numbered 1..4 for res2..res5 (timm's ``layer1``..``layer4``).

The factory receives a :class:`BlockSite`: where the block goes and what it sees there.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Callable, Literal, Optional, Sequence

from torch import nn

import lightning_vid.trunk.adapter as adapter

Placement = Literal["before_conv1", "after_conv1", "replace_conv2", "after_stage", "block",
                    "before_subconvs", "before_passthrough"]
PLACEMENTS: tuple[str, ...] = typing.get_args(Placement)


@dataclass(frozen=True)
class BlockSite:
    """Where one temporal block goes.

    Args:
        stage: 1..4 (res2..res5).
        index: the residual block's index in its stage; None for ``after_stage``.
        depths: the number of blocks of each of the trunk's four stages.
        channels: C, the channels the block sees.
        target: the module it wraps or replaces (conv1, act1, conv2, the stage, the block).
        feature_size: the side of the map the residual block (``after_stage``: the stage)
            receives for the model's ``input_size``; None when that is not known.
    """

    stage: int
    index: Optional[int]
    depths: tuple[int, ...]
    channels: int
    target: nn.Module
    feature_size: Optional[int] = None


#: ``factory(site)`` -> the temporal module for one site.
BlockFactory = Callable[[BlockSite], nn.Module]
#: ``select(site)`` -> whether this residual block gets a module (``site.target`` not built yet).
BlockSelect = Callable[[BlockSite], bool]


def every_block(site: BlockSite) -> bool:
    """The default :data:`BlockSelect`: every block of the chosen stages."""
    return True


def inject_temporal(
    trunk: nn.Module,
    factory: BlockFactory,
    placement: Placement,
    stages: Sequence[int] = (1, 2, 3, 4),
    select: Optional[BlockSelect] = None,
    input_size: Optional[int] = None,
) -> list[str]:
    """Insert temporal modules into ``trunk`` in place.

    Args:
        trunk: a timm ResNet-family model (``layer1``..``layer4`` of residual blocks).
        factory: builds one module from its :class:`BlockSite`.
        placement: one of :data:`PLACEMENTS`.
        stages: which stages (1..4 = res2..res5) receive modules.
        select: a filter over the blocks of a stage (default: every block).
        input_size: the frame side the model will see (gives ``BlockSite.feature_size``).

    Returns:
        The residual blocks (``layer2.3``) or stages (``layer2``) that received a module.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}; valid: {', '.join(PLACEMENTS)}")
    all_stages = adapter.stages(trunk)
    if any(s not in (1, 2, 3, 4) for s in stages):
        raise ValueError(f"stages are 1..4 (res2..res5), got {tuple(stages)}")
    depths = tuple(len(stage) for stage in all_stages)
    sizes = adapter.block_input_sizes(trunk, input_size) if input_size else {}
    done: list[str] = []
    for s in stages:
        stage = all_stages[s - 1]
        if placement == "after_stage":
            out = sizes.get(stage[-1])  # the last block's input side: its stride is 1
            done.append(adapter.wrap_stage(trunk, s, lambda c, layer: factory(
                BlockSite(s, None, depths, c, layer, out))))
            continue
        for i, block in enumerate(stage):
            size = sizes.get(block)
            if select is not None and not select(BlockSite(s, i, depths, 0, block, size)):
                continue
            if placement == "block":
                c = adapter.block_width(block)
                stage[i] = factory(BlockSite(s, i, depths, c, block, size))
                done.append(f"layer{s}.{i}")
                continue
            adapter.insert(block, placement, lambda c, target: factory(
                BlockSite(s, i, depths, c, target, size)))
            done.append(f"layer{s}.{i}")
    return done
