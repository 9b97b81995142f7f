"""TDN's recognizer: five frames per segment, S-TDM fused twice, L-TDM in res3-res5.

Input ``(B, T*L, C, H, W)``, L = ``frames_per_segment`` = 5, segment-major: frames
``[L*t, L*t + L)`` belong to segment t and frame ``L*t + L//2`` is its centre. Only the
centre frames go through the trunk's stem and stages; the others reach the model through
the S-TDM's differences (lightning_vid/blocks/tdn.py, which documents every departure)::

    x (B*T*L, C, H, W) -> (B*T, L, C, H, W) -> centre (B*T, C, H, W), D (B*T, 3(L-1), H, W)
    h = maxpool(act1(bn1(conv1(centre))));  d1, d2 = S-TDM(D)
    h = a*h + b*up(d1);  h = a*layer1(h) + b*up(d2);  layer2..4 (L-TDM + temporal conv inside)

This is timm's ``ResNet.forward_features`` through its public attributes, with the two
fusion points. Fusion weights (a, b) are the authors' fixed constants, 0.5 / 0.5 for T = 8
and 0.75 / 0.25 for any other T (ops/tdn_net.py); the paper's Eq. (1) would be (1, 1).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal, Optional

from torch import Tensor, nn

from lightning_vid.blocks.tdn import (
    LongTermTDM,
    ShortTermTDM,
    TemporalConv,
    lateral_fusion,
    rgb_differences,
)
from lightning_vid.models.inject import inject_temporal
from lightning_vid.models.recognizer import Recognizer


def official_fusion_weights(num_segments: int) -> tuple[float, float]:
    """The authors' (alpha, beta): (0.5, 0.5) when T == 8, (0.75, 0.25) otherwise."""
    return (0.5, 0.5) if num_segments == 8 else (0.75, 0.25)


def add_long_term_tdm(trunk: nn.Module, num_segments: int, *, reduction: int = 16,
                      upsample: Literal["nearest", "bilinear"] = "nearest",
                      official_backward_branch: bool = False,
                      temporal_conv: bool = True, fold_div: int = 8) -> list[str]:
    """Put an L-TDM (then a shift-initialised temporal conv) after act1 of every block of
    res3..res5; the module sits at ``layerS.I.act1.temporal`` (``.ltdm``, ``.tconv``)."""

    def factory(channels: int, _: nn.Module) -> nn.Module:
        parts = OrderedDict(ltdm=LongTermTDM(
            channels, num_segments, reduction=reduction, upsample=upsample,
            official_backward_branch=official_backward_branch))
        if temporal_conv:
            parts["tconv"] = TemporalConv(channels, num_segments, fold_div=fold_div)
        return nn.Sequential(parts)

    return inject_temporal(trunk, factory, "after_conv1", stages=(2, 3, 4))


class TDNRecognizer(Recognizer):
    """A Recognizer for L frames per segment with TDN's short-term module.

    Args:
        trunk: a timm ResNet (weights already loaded: the S-TDM copies conv1 and layer1).
        num_classes: K.
        num_segments: T.
        frames_per_segment: L (odd, >= 3; 5 in the paper).
        dropout: before the fc.
        fusion_weights: (alpha, beta) of both fusions; ``None``: :func:`official_fusion_weights`.

    >>> import torch
    >>> from lightning_vid.models.trunk import create_trunk
    >>> m = TDNRecognizer(create_trunk("resnet18"), num_classes=3, num_segments=2).eval()
    >>> m(torch.randn(1, 2 * 5, 3, 32, 32)).shape, (m.alpha, m.beta)
    (torch.Size([1, 3]), (0.75, 0.25))
    """

    def __init__(self, trunk: nn.Module, num_classes: int, num_segments: int, *,
                 frames_per_segment: int = 5, dropout: float = 0.5,
                 fusion_weights: Optional[tuple[float, float]] = None) -> None:
        super().__init__(trunk, num_classes, num_segments, frames_per_segment, dropout)
        self.short_term = ShortTermTDM.from_trunk(trunk, num_segments, frames_per_segment)
        alpha, beta = fusion_weights or official_fusion_weights(num_segments)
        self.alpha, self.beta = float(alpha), float(beta)

    def frame_features(self, x: Tensor) -> Tensor:
        """``(B*T*L, C, H, W)`` -> pooled features ``(B*T, D)``."""
        frames = x.view(-1, self.frames_per_segment, *x.shape[1:])  # (B*T, L, C, H, W)
        centre, diffs = rgb_differences(frames)  # (B*T, C, H, W), (B*T, 3(L-1), H, W)
        d1, d2 = self.short_term(diffs)
        t = self.trunk
        h = t.maxpool(t.act1(t.bn1(t.conv1(centre))))
        h = lateral_fusion(h, d1, self.alpha, self.beta)
        h = lateral_fusion(t.layer1(h), d2, self.alpha, self.beta)
        h = t.layer4(t.layer3(t.layer2(h)))
        return t.forward_head(h, pre_logits=True)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}"
