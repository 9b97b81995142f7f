"""Injection of temporal blocks into a built (and possibly pretrained) timm ResNet trunk.

One function, :func:`inject_temporal`, and a small table of named placements:

=================  ===========================================================================
placement          where the block goes (``channels`` it receives)
=================  ===========================================================================
``before_conv1``   on the residual branch, before conv1: the identity/downsample path sees
                   the unchanged input (TSM "blockres", TRM). ``conv1.in_channels``.
``after_conv1``    after conv1 -> bn1 -> act1, before conv2 (TAM, TEA's ME, TDN's L-TDM).
                   ``conv1.out_channels``.
``replace_conv2``  replaces conv2 (the 3x3 stage, TEA's MTA); the factory receives the old
                   conv2 so it can copy its stride and widths. ``conv2.out_channels``.
``after_stage``    after a whole stage (TCM after res3). The stage's output channels.
=================  ===========================================================================

Wrapped modules keep their pretrained weights: ``conv1`` becomes
``Sequential(temporal=block, conv=conv1)`` and ``act1`` becomes
``Sequential(act=act1, temporal=block)``, so state-dict keys read ``layer1.0.conv1.conv.weight``.

Stages are numbered 1..4 for res2..res5 (timm's ``layer1``..``layer4``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Literal, Optional, Sequence

from torch import nn

from lightning_vid.models.trunk import stages as trunk_stages

Placement = Literal["before_conv1", "after_conv1", "replace_conv2", "after_stage"]
PLACEMENTS: tuple[str, ...] = ("before_conv1", "after_conv1", "replace_conv2", "after_stage")

#: ``factory(channels, target)`` -> the temporal module; ``target`` is the module being
#: wrapped or replaced (conv1, act1, conv2 or the stage), for blocks that need its geometry.
BlockFactory = Callable[[int, nn.Module], nn.Module]
#: ``select(stage, index, num_blocks)`` -> whether block ``index`` of ``stage`` gets a module.
BlockSelect = Callable[[int, int, int], bool]


def _stage_channels(stage: nn.Sequential) -> int:
    last = stage[-1]
    for name in ("conv3", "conv2"):  # Bottleneck, then BasicBlock
        conv = getattr(last, name, None)
        if isinstance(conv, nn.Conv2d):
            return conv.out_channels
    raise TypeError(f"cannot tell the output channels of {type(last).__name__}")


def _inject_in_block(block: nn.Module, factory: BlockFactory, placement: str) -> None:
    if placement == "before_conv1":
        conv1 = block.conv1
        block.conv1 = nn.Sequential(
            OrderedDict(temporal=factory(conv1.in_channels, conv1), conv=conv1)
        )
    elif placement == "after_conv1":
        act1 = block.act1
        block.act1 = nn.Sequential(
            OrderedDict(act=act1, temporal=factory(block.conv1.out_channels, act1))
        )
    elif placement == "replace_conv2":
        block.conv2 = factory(block.conv2.out_channels, block.conv2)
    else:
        raise ValueError(f"unknown placement {placement!r}; valid: {', '.join(PLACEMENTS)}")


def inject_temporal(
    trunk: nn.Module,
    factory: BlockFactory,
    placement: Placement,
    stages: Sequence[int] = (1, 2, 3, 4),
    select: Optional[BlockSelect] = None,
) -> list[str]:
    """Insert temporal modules into ``trunk`` in place.

    Args:
        trunk: a timm ResNet-family model (``layer1``..``layer4`` of residual blocks).
        factory: builds one module, ``factory(channels, target)``.
        placement: one of :data:`PLACEMENTS`.
        stages: which stages (1..4 = res2..res5) receive modules.
        select: optional filter over the blocks of a stage (default: every block).

    Returns:
        The dotted names of the modules that were wrapped or replaced.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}; valid: {', '.join(PLACEMENTS)}")
    all_stages = trunk_stages(trunk)
    done: list[str] = []
    for s in stages:
        stage = all_stages[s - 1]
        if placement == "after_stage":
            block = factory(_stage_channels(stage), stage)
            setattr(trunk, f"layer{s}", nn.Sequential(OrderedDict(stage=stage, temporal=block)))
            done.append(f"layer{s}")
            continue
        for i, block in enumerate(stage):
            if select is None or select(s, i, len(stage)):
                _inject_in_block(block, factory, placement)
                done.append(f"layer{s}.{i}")
    return done
