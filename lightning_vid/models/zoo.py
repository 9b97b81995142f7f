"""One class per architecture: the paper's default trunk and where its block goes.

Each is a :class:`~lightning_vid.models.recognizer.Recognizer` whose constructor has the
arguments of :func:`lightning_vid.models.build_model` minus ``arch``, plus its module's
options, explicitly typed, so the CLI checks a config (``class_path:
lightning_vid.models.zoo.TSM``) before anything runs.
"""

from __future__ import annotations

from typing import Literal, Optional

from torch import nn

from lightning_vid.blocks.correlation import Gaussian
from lightning_vid.blocks.tam import TAMVariant, TemporalAdaptiveModule
from lightning_vid.blocks.tcm import RADIUS_BY_STAGE, TemporalCorrelation
from lightning_vid.blocks.tea import MotionExcitation, TEABottle2neck, mta_replacing
from lightning_vid.blocks.trm import TemporalRelocation
from lightning_vid.blocks.tsm import TemporalShift
from lightning_vid.models.inject import inject_temporal
from lightning_vid.models.recognizer import Recognizer
from lightning_vid.models.registry import register_model
from lightning_vid.models.tdn_recognizer import TDNRecognizer, add_long_term_tdm
from lightning_vid.models.trunk import Pretrained, create_trunk
from lightning_vid.models.trunk import stages as trunk_stages


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


def conv1_input_sizes(trunk: nn.Module, input_size: int) -> dict[nn.Module, int]:
    """The side of the map each residual block's conv1 sees for ``input_size``-squared frames.

    timm's ResNet stem divides by 4 (stride-2 conv, stride-2 max-pool), then each block by its
    largest conv stride; with padding k // 2 every stride-2 conv or pool rounds up.
    """
    size, sizes = -(-input_size // 4), {}
    for stage in trunk_stages(trunk):
        for block in stage:
            sizes[block.conv1] = size  # before the block's stride: 28 for layer3.0 at 224
            stride = max(m.stride[0] for m in block.modules() if isinstance(m, nn.Conv2d))
            size = -(-size // stride)
    return sizes


def add_temporal_relocation(
    trunk: nn.Module, num_segments: int, input_size: int, **options: object
) -> list[str]:
    """Inject TRM before conv1 of every layer3/layer4 block, each built for its map size."""
    sizes = conv1_input_sizes(trunk, input_size)
    return inject_temporal(
        trunk,
        lambda c, conv1: TemporalRelocation(c, num_segments, feature_size=sizes[conv1], **options),
        "before_conv1",
        stages=(3, 4),
    )


@register_model("trm")
class TRM(Recognizer):
    """TRM: temporal relocation of the first C/8 channels, offsets predicted per pixel, before
    conv1 of every layer3/layer4 block; cTRM (default) is built for ``input_size``."""

    def __init__(
        self,
        num_classes: int,
        num_segments: int = 8,
        backbone: Optional[str] = None,
        pretrained: Pretrained = False,
        input_size: int = 224,
        dropout: float = 0.5,
        variant: Literal["c", "s", "t"] = "c",
        fold_div: int = 8,
        temporal_kernel: int = 7,
        channel_kernel: int = 3,
        spatial_kernel: int = 3,
        spatial_agnostic: bool = False,
    ) -> None:
        trunk = create_trunk(backbone or "resnet50", pretrained)
        add_temporal_relocation(
            trunk, num_segments, input_size, variant=variant, fold_div=fold_div,
            temporal_kernel=temporal_kernel, channel_kernel=channel_kernel,
            spatial_kernel=spatial_kernel, spatial_agnostic=spatial_agnostic,
        )
        super().__init__(trunk, num_classes, num_segments, dropout=dropout)


def add_temporal_adaptive(trunk: nn.Module, num_segments: int, **options: object) -> list[str]:
    """Inject TAM after conv1 -> bn1 -> act1 of every block of res2..res5 (16 in R50)."""
    return inject_temporal(
        trunk, lambda c, _: TemporalAdaptiveModule(c, num_segments, **options), "after_conv1"
    )


@register_model("tam")
class TANet(Recognizer):
    """TANet: TAM (local importance map V, global softmax kernel Theta) after the first conv of
    every block of res2..res5; see ``lightning_vid/blocks/tam.py`` for the options."""

    def __init__(
        self,
        num_classes: int,
        num_segments: int = 8,
        backbone: Optional[str] = None,
        pretrained: Pretrained = False,
        input_size: int = 224,
        dropout: float = 0.5,
        kernel_size: int = 3,
        alpha: int = 2,
        beta: int = 4,
        variant: TAMVariant = "tanet",
        local_kernel_size: int = 3,
        global_bn: bool = True,
    ) -> None:
        trunk = create_trunk(backbone or "resnet50", pretrained)
        add_temporal_adaptive(
            trunk, num_segments, kernel_size=kernel_size, alpha=alpha, beta=beta,
            variant=variant, local_kernel_size=local_kernel_size, global_bn=global_bn,
        )
        super().__init__(trunk, num_classes, num_segments, dropout=dropout)


def add_temporal_correlation(
    trunk: nn.Module, num_segments: int, stages: tuple[int, ...] = (2,),
    radius: Optional[int] = None, **options: object,
) -> list[str]:
    """Inject one TCM after each of ``stages`` (1..4 = res2..res5; 2 = res3, the paper's),
    with R from the code's table by stage unless ``radius`` is given."""
    done = []
    for s in stages:
        if s not in RADIUS_BY_STAGE:
            raise ValueError(f"TCM stages are 1..4 (res2..res5), got {s}")
        r = RADIUS_BY_STAGE[s] if radius is None else radius
        done += inject_temporal(
            trunk, lambda c, _, r=r: TemporalCorrelation(c, num_segments, radius=r, **options),
            "after_stage", stages=(s,),
        )
    return done


@register_model("tcm")
class TCM(Recognizer):
    """TCM-R50: TSM trunk (residual shift in every block) plus one Temporal Correlation
    Module after res3; see ``lightning_vid/blocks/tcm.py`` for the options."""

    def __init__(
        self,
        num_classes: int,
        num_segments: int = 8,
        backbone: Optional[str] = None,
        pretrained: Pretrained = False,
        input_size: int = 224,
        dropout: float = 0.5,
        fold_div: int = 8,
        shift: bool = True,
        stages: tuple[int, ...] = (2,),
        radius: Optional[int] = None,
        reduction: int = 8,
        sigma: float = 5.0,
        tau: float = 0.01,
        gaussian: Gaussian = "code",
        corr_relu: bool = True,
        stem_groups: int = 3,
    ) -> None:
        trunk = create_trunk(backbone or "resnet50", pretrained)
        if shift:
            add_temporal_shift(trunk, num_segments, fold_div)
        add_temporal_correlation(
            trunk, num_segments, tuple(stages), radius, reduction=reduction, sigma=sigma,
            tau=tau, gaussian=gaussian, corr_relu=corr_relu, stem_groups=stem_groups,
        )
        super().__init__(trunk, num_classes, num_segments, dropout=dropout)
