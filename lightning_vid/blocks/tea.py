"""TEA: Temporal Excitation and Aggregation (motion excitation ME + multi-temporal aggregation MTA).

Paper: Y. Li, B. Ji, X. Shi, J. Zhang, B. Kang, L. Wang, "TEA: Temporal Excitation and
Aggregation for Action Recognition", CVPR 2020: Eq. 1-7 and appendix A. Authors' code:
Phoenix1327/tea-action-recognition (ops/tea50_8f.py) has no licence; this is reimplemented from
the paper and reference-notes.md sections 5 and 12, nothing copied.

One TEA block, the residual branch of a Res2Net-50 Bottle2neck (``s``: attention scale)::

    x -> conv1 1x1 -> BN -> ReLU -> X (B*T, C, H, W)
    ME   X -> conv_red 1x1 + BN -> Z -> channel-wise 3x3 -> Z'             Eq. 1
              M(t) = Z'(t+1) - Z(t),  M(T-1) = 0                            Eq. 2
              M -> pool -> conv_exp 1x1 + BN -> A = s * (sigmoid - 1/2)     Eq. 3, 4
         X <- X + X * A,  one A per (n, t, c)                               Eq. 5
    MTA  split X into 4 fragments X0..X3 of C/4 channels                    Eq. 6, 7
         X0 -----------> tconv0 -> spatial0 -> o0
         X1 (+ o0) ----> tconv1 -> spatial1 -> o1
         X2 (+ o1) ----> tconv2 -> spatial2 -> o2
         X3 -----------> tconv3 (shift init) -> [pool] -> o3
         concat(o0, o1, o2, o3) -> conv3 1x1 -> BN -> + shortcut -> ReLU

``tconv``: channel-wise temporal conv, kernel 3, zero padding, no bias (``ops.TemporalConv``).
Appendix A's "part shift" init: tconv0-2 start as identity [0, 1, 0], tconv3 as a shift (first
half of its channels from t+1, second half from t-1): at init 1/8 + 1/8 of C are shifted, as
TSM. ``spatial_i`` are Res2Net's own ``convs[i] -> bns[i] -> ReLU``: a pretrained TEA starts as
pretrained Res2Net except for ME and the shifted fragment.

The Bottle2neck keeps its own forward (timm's): the ``tea`` preset injects three registered
parts, :class:`MotionExcitation` after ``relu(bn1(conv1))`` (``after_conv1``),
:class:`SubconvTemporalConv` before each ``convs[i]`` (``before_subconvs``) and
:class:`PassthroughShift` on the last split (``before_passthrough``), through the trunk
adapter's Res2Net slots (``lightning_vid/trunk/adapter.py``); :func:`tea` does the same to one
block. The block's shared ReLU runs once more on ME's output, which is non-negative, so
nothing changes.

Departures (where paper and authors' code disagree we follow the code; the other choice is an
option where it is cheap):

- Trunk: Res2Net only (``res2net*``, ``res2next*``; Res2Net-50 26w4s by default), as appendix
  B.1 and the code (section 4.2 says ResNet-50; appendix B.1 explains that MTA is based on
  Res2Net). MTA is a Res2Net block's hierarchical 3x3 stage with temporal convs added; a plain
  ResNet's 3x3 conv2 is one full C -> C conv that C/4 -> C/4 sub-convs cannot compute (they
  would keep 3/16 of its weights: 15.3 M parameters for TEA on ResNet-50 against TSN's 24.3 M),
  so a pretrained ResNet's function at initialisation would be lost, and neither the paper's
  tables nor the code build one. ``build_model("tea", backbone="resnet50")`` is refused, before
  any weight is built, with a message pointing to ``backbone="res2net50_26w_4s"``. TEA's fair
  baseline is TSN on the same Res2Net trunk (docs/measurements.md, ``make bench``), as the paper's Table 1
  sets baselines on that trunk ("(2+1)D Res2Net").
- Attention A = sigmoid - 1/2 in (-1/2, 1/2), the code (``attention_scale="half"``); ``"full"``
  is the paper's 2 sigmoid - 1 (Eq. 4).
- ME has BN after conv_red and after conv_exp (code; not in the paper); its width is floor(C/r)
  (104 -> 6); its convs start kaiming-normal (fan_out), BNs at gamma 1, beta 0, as the code.
- Fragment order is the code's (Res2Net's): the cascade runs over fragments 0-2 and the last one
  passes through; the paper passes the first one through. Equal up to a channel permutation.
- The pass-through fragment has a shift-initialised tconv (code); ``shift_passthrough=False``
  leaves it untouched (paper).
- Sub-convs are followed by BN + ReLU (Res2Net, code); Eq. 6 has none. In a stage's first block
  (Res2Net ``is_first``) there is no cascade and the pass-through is average-pooled (3x3,
  stride of the block), as Res2Net and the code.
- tconv is computed as per-channel multiply-adds of time-shifted slices of ``(B, T, C, H, W)``,
  not a Conv1d on ``(B*H*W, C, T)``: same values, no permutes; fvcore misses its MACs (0.074 G
  for Res2Net-50 at 8 x 224^2). In place on slices when training; out of place (padded
  frames) while traced, for TorchScript / ONNX export (``lightning_vid/export.py``).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from lightning_vid.blocks.ops import Recorder, TemporalConv, init_fan_out, temporal_difference
from lightning_vid.trunk import register_block
from lightning_vid.trunk.adapter import insert, is_res2net_block

AttentionScale = Literal["half", "full"]


@register_block(None, placement="after_conv1")
class MotionExcitation(Recorder, nn.Module):
    """ME (Eq. 1-5), ``(B*T, C, H, W)`` -> ``(B*T, C, H, W)``.

    Args:
        channels: C.
        num_segments: T.
        reduction: r; the motion branch has ``C // r`` channels.
        attention_scale: ``"half"``: A = sigmoid - 1/2 (code); ``"full"``: 2 sigmoid - 1 (Eq. 4).

    Recorded (:class:`~lightning_vid.blocks.ops.Recorder`): the attention A ``(B, T, C)``.

    >>> me = MotionExcitation(64, num_segments=4)
    >>> me(torch.randn(8, 64, 7, 7)).shape
    torch.Size([8, 64, 7, 7])
    """

    layouts = {"attention": "B T C"}

    def __init__(self, channels: int, num_segments: int, *, reduction: int = 16,
                 attention_scale: AttentionScale = "half") -> None:
        super().__init__()
        if attention_scale not in ("half", "full"):
            raise ValueError(f"attention_scale must be 'half' or 'full', got {attention_scale!r}")
        self.num_segments = num_segments
        self.scale = 1.0 if attention_scale == "half" else 2.0
        mid = max(1, channels // reduction)
        self.conv_red = nn.Conv2d(channels, mid, 1, bias=False)
        self.bn_red = nn.BatchNorm2d(mid)
        self.conv_trans = nn.Conv2d(mid, mid, 3, padding=1, groups=mid, bias=False)
        self.conv_exp = nn.Conv2d(mid, channels, 1, bias=False)
        self.bn_exp = nn.BatchNorm2d(channels)
        init_fan_out(self.conv_red, self.conv_trans, self.conv_exp)

    def forward(self, x: Tensor) -> Tensor:
        z = self.bn_red(self.conv_red(x))  # Eq. 1, (B*T, C/r, H, W)
        m = temporal_difference(self.conv_trans(z), z, self.num_segments)  # Eq. 2
        m = m.mean(dim=(2, 3), keepdim=True)  # Eq. 3, (B*T, C/r, 1, 1)
        a = torch.sigmoid(self.bn_exp(self.conv_exp(m)))  # (B*T, C, 1, 1)
        a = self.scale * (a - 0.5)  # Eq. 4 (scale 2) or the code (scale 1)
        if self.record:
            self.remember(attention=a.view(-1, self.num_segments, a.shape[1]))  # (B, T, C)
        return x * (1.0 + a)  # Eq. 5: X + X * A


@register_block(None, placement="before_subconvs")
class SubconvTemporalConv(TemporalConv):
    """MTA's temporal conv before each 3x3 sub-conv of a Res2Net block, identity-initialised
    (code); :class:`~lightning_vid.blocks.ops.TemporalConv` with TEA's wiring."""


@register_block(None, placement="before_passthrough")
class PassthroughShift(TemporalConv):
    """The temporal conv on the pass-through split of a Res2Net block, initialised as a shift
    of half the channels each way (code; the paper leaves that split untouched).

    Args:
        channels, num_segments: TemporalConv's.
        fold_div: ``C // fold_div`` channels shift each way (2: all of them).
    """

    def __init__(self, channels: int, num_segments: int, *, fold_div: int = 2) -> None:
        super().__init__(channels, num_segments, fold_div=fold_div)


def tea(channels: int, num_segments: int, *, reduction: int = 16,
        attention_scale: AttentionScale = "half", shift_passthrough: bool = True,
        target: nn.Module) -> nn.Module:
    """Make the Res2Net ``Bottle2neck`` ``target`` a TEA block, in place, and return it.

    ME after ``relu(bn1(conv1))``, an identity-initialised tconv before each of its 3x3
    sub-convs and a shift-initialised one on the pass-through split (code).

    Args:
        channels: C, the block's width after conv1.
        num_segments: T.
        reduction, attention_scale: ME's (:class:`MotionExcitation`).
        shift_passthrough: the shift-initialised tconv on the pass-through fragment (code);
            False leaves it untouched (paper).
        target: the Res2Net residual block.

    Raises:
        TypeError: ``target`` is not a Res2Net block (a model refuses other trunks earlier,
            by name: :func:`lightning_vid.trunk.adapter.check_placement`).
    """
    if not is_res2net_block(target):
        raise TypeError(f"TEA needs a Res2Net Bottle2neck, got {type(target).__name__}; "
                        "build it on backbone='res2net50_26w_4s'")
    insert(target, "after_conv1", lambda c, _: MotionExcitation(
        c, num_segments, reduction=reduction, attention_scale=attention_scale))
    insert(target, "before_subconvs", lambda c, _: SubconvTemporalConv(c, num_segments))
    if shift_passthrough:
        insert(target, "before_passthrough", lambda c, _: PassthroughShift(c, num_segments))
    return target
