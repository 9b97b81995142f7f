"""One builder per architecture: the paper's default trunk and where its block goes.

Each builder has the signature of :func:`lightning_vid.models.build_model` minus ``arch``
and returns a :class:`~lightning_vid.models.recognizer.Recognizer` (or a subclass).
"""

from __future__ import annotations

from typing import Optional

from torch import nn

from lightning_vid.blocks.tsm import TemporalShift
from lightning_vid.models.inject import inject_temporal
from lightning_vid.models.recognizer import Recognizer
from lightning_vid.models.registry import register_model
from lightning_vid.models.trunk import Pretrained, create_trunk


@register_model("tsn")
def build_tsn(
    num_classes: int,
    num_segments: int = 8,
    backbone: Optional[str] = None,
    pretrained: Pretrained = False,
    input_size: int = 224,
    dropout: float = 0.5,
) -> nn.Module:
    """TSN: the plain 2D trunk, average consensus over segments (no temporal modelling)."""
    trunk = create_trunk(backbone or "resnet50", pretrained)
    return Recognizer(trunk, num_classes, num_segments, dropout=dropout)


def tsm_select(stage: int, index: int, num_blocks: int) -> bool:
    """TSM's "blockres" placement: every block, but only every second one in a stage of
    >= 23 blocks (ResNet-101's res4), as the authors' code does."""
    return num_blocks < 23 or index % 2 == 0


def add_temporal_shift(trunk: nn.Module, num_segments: int, fold_div: int = 8) -> list[str]:
    """Inject TSM's residual shift before conv1 of the blocks of res2..res5."""
    return inject_temporal(
        trunk,
        lambda c, _: TemporalShift(c, num_segments, fold_div=fold_div),
        "before_conv1",
        select=tsm_select,
    )


@register_model("tsm")
def build_tsm(
    num_classes: int,
    num_segments: int = 8,
    backbone: Optional[str] = None,
    pretrained: Pretrained = False,
    input_size: int = 224,
    dropout: float = 0.5,
    fold_div: int = 8,
) -> nn.Module:
    """TSM: residual temporal shift of 1/8 + 1/8 channels before conv1 of every block."""
    trunk = create_trunk(backbone or "resnet50", pretrained)
    add_temporal_shift(trunk, num_segments, fold_div)
    return Recognizer(trunk, num_classes, num_segments, dropout=dropout)
