"""One class per architecture: the paper's default trunk and where its block goes.

Each is a :class:`~lightning_vid.models.recognizer.Recognizer` whose constructor has the
arguments of :func:`lightning_vid.models.build_model` minus ``arch``, plus its module's
options, explicitly typed, so the CLI checks a config (``class_path:
lightning_vid.models.zoo.TSM``) before anything runs.
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
class TSN(Recognizer):
    """TSN: the plain 2D trunk, average consensus over segments (no temporal modelling)."""

    def __init__(
        self,
        num_classes: int,
        num_segments: int = 8,
        backbone: Optional[str] = None,
        pretrained: Pretrained = False,
        input_size: int = 224,
        dropout: float = 0.5,
    ) -> None:
        trunk = create_trunk(backbone or "resnet50", pretrained)
        super().__init__(trunk, num_classes, num_segments, dropout=dropout)


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
class TSM(Recognizer):
    """TSM: residual temporal shift of 1/8 + 1/8 channels before conv1 of every block."""

    def __init__(
        self,
        num_classes: int,
        num_segments: int = 8,
        backbone: Optional[str] = None,
        pretrained: Pretrained = False,
        input_size: int = 224,
        dropout: float = 0.5,
        fold_div: int = 8,
    ) -> None:
        trunk = create_trunk(backbone or "resnet50", pretrained)
        add_temporal_shift(trunk, num_segments, fold_div)
        super().__init__(trunk, num_classes, num_segments, dropout=dropout)


from typing import Literal  # noqa: E402  (TEA's typed options)

from lightning_vid.blocks.tea import MotionExcitation, TEABottle2neck, mta_replacing  # noqa: E402
from lightning_vid.models.trunk import stages as trunk_stages  # noqa: E402


def add_tea(
    trunk: nn.Module,
    num_segments: int,
    reduction: int = 16,
    attention_scale: Literal["half", "full"] = "half",
    shift_passthrough: bool = True,
) -> list[str]:
    """Make every block of res2..res5 a TEA block. Res2Net ``Bottle2neck``: wrapped as
    :class:`TEABottle2neck` (ME after conv1/bn1/relu, MTA over its own ``convs``/``bns``).
    ResNet blocks: ME ``after_conv1``, MTA ``replace_conv2`` (see ``blocks/tea.py``)."""
    if all(hasattr(layer[0], "convs") for layer in trunk_stages(trunk)):
        done = []
        for s, layer in enumerate(trunk_stages(trunk), start=1):
            for i, block in enumerate(layer):
                layer[i] = TEABottle2neck(block, num_segments, reduction=reduction,
                                          attention_scale=attention_scale,
                                          shift_passthrough=shift_passthrough)
                done.append(f"layer{s}.{i}")
        return done
    me = inject_temporal(trunk, lambda c, _: MotionExcitation(
        c, num_segments, reduction=reduction, attention_scale=attention_scale), "after_conv1")
    inject_temporal(trunk, lambda _, conv: mta_replacing(
        conv, num_segments, shift_passthrough=shift_passthrough), "replace_conv2")
    return me


@register_model("tea")
class TEA(Recognizer):
    """TEA: motion excitation after conv1 and multiple temporal aggregation in place of the 3x3
    stage, in every block of res2..res5 of Res2Net-50 26w4s (default) or a ResNet."""

    def __init__(
        self,
        num_classes: int,
        num_segments: int = 8,
        backbone: Optional[str] = None,
        pretrained: Pretrained = False,
        input_size: int = 224,
        dropout: float = 0.5,
        reduction: int = 16,
        attention_scale: Literal["half", "full"] = "half",
        shift_passthrough: bool = True,
    ) -> None:
        trunk = create_trunk(backbone or "res2net50_26w_4s", pretrained)
        add_tea(trunk, num_segments, reduction, attention_scale, shift_passthrough)
        super().__init__(trunk, num_classes, num_segments, dropout=dropout)


from typing import Literal  # noqa: E402  (TDN's typed options)

from lightning_vid.models.tdn_recognizer import TDNRecognizer, add_long_term_tdm  # noqa: E402


@register_model("tdn")
class TDN(TDNRecognizer):
    """TDN: 5 frames per segment; S-TDM fused after the stem and res2 (centre frame only in
    the trunk), L-TDM + shift-initialised temporal conv after conv1 of every res3..res5 block."""

    def __init__(
        self,
        num_classes: int,
        num_segments: int = 8,
        backbone: Optional[str] = None,
        pretrained: Pretrained = False,
        input_size: int = 224,
        dropout: float = 0.5,
        frames_per_segment: int = 5,
        fusion_weights: Optional[tuple[float, float]] = None,
        reduction: int = 16,
        upsample: Literal["nearest", "bilinear"] = "nearest",
        official_backward_branch: bool = False,
        temporal_conv: bool = True,
        fold_div: int = 8,
    ) -> None:
        trunk = create_trunk(backbone or "resnet50", pretrained)
        add_long_term_tdm(trunk, num_segments, reduction=reduction, upsample=upsample,
                          official_backward_branch=official_backward_branch,
                          temporal_conv=temporal_conv, fold_div=fold_div)
        super().__init__(trunk, num_classes, num_segments, frames_per_segment=frames_per_segment,
                         dropout=dropout, fusion_weights=fusion_weights)
