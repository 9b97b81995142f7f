"""TDN: short-term (S-TDM) and long-term (L-TDM) temporal difference modules.

Paper: L. Wang, Z. Tong, B. Ji, G. Wu, "TDN: Temporal Difference Networks for Efficient
Action Recognition", CVPR 2021 (text in papers/003: the review version). Authors' code:
MCG-NJU/TDN (ops/tdn_net.py, ops/base_module.py), Apache-2.0; reference-notes.md 6, 11, 12.

S-TDM, Eqs. (1), (3), on the L = 5 consecutive frames x1..x5 of a segment (centre x3)::

    x1..x5 -> D = [x2-x1, x3-x2, x4-x3, x5-x4]  (12 ch) -> avgpool 2 -> conv 7x7/2 -> BN
       -> ReLU -> maxpool 3/2 = d1 --------------------------+--> res2 copy = d2
    x3 -> conv1, bn1, act1, maxpool --(a.h + b.up(d1))--> res2 --(a.h + b.up(d2))--> res3..

L-TDM, Eqs. (2), (4)-(6), on features X viewed as (B, T, C, H, W)::

    X -> 1x1 conv C->C/r, BN = Z;  Z' = depthwise 3x3(Z)
      Df(t) = Z'(t+1) - Z(t) (0 at t = T-1)      Db(t) = Z'(t-1) - Z(t) (0 at t = 0)
      each D: M = (D + up(BN(conv3x3(avgpool2(D)))) + BN(conv3x3(D))) / 3     (shared weights)
              y_D = sigmoid(BN(1x1 conv C/r->C (M))) - 0.5
    y = (y_f + y_b) / 2  (per pixel and channel);   out = X + X * y

followed, as in the authors' code, by a temporal conv (``ops.TemporalConv``): a depthwise 3-tap
conv over T on all C channels, initialised as TSM's shift (C/8 from t+1, C/8 from t-1, the
rest identity). L-TDM and the temporal conv are registered as ``tdn`` (:class:`LongTermBlock`,
after act1 of every block of res3..res5); S-TDM is the model's frame hook (:class:`ShortTermTDM`:
it receives the five frames of each segment, passes the centre frames to the trunk and its two
maps to the fusions, ``lightning_vid.trunk.adapter.features``). The ``tdn`` preset
(``lightning_vid/models/presets.py``) puts both in one model.

Departures (the paper, the code, and what is implemented):

- S-TDM fusion: the code's fixed weighted sum ``a*h + b*up(d)``, a = b = 0.5 for T = 8 and
  0.75 / 0.25 otherwise (:func:`official_fusion_weights`), not Eq. (1)'s ``F + H``.
- S-TDM "light CNN": as the code, a ResNet stem conv (geometry copied from the trunk's
  conv1; weights = conv1 averaged over RGB, replicated on the 12 difference channels, not
  rescaled), a new BN, ReLU, maxpool, then a second res2: a deepcopy of the trunk's layer1
  (the code loads a second ImageNet ResNet, the same values). Both fusions up-sample
  nearest to the exact target size (the code's ``F.interpolate``). The difference stack is
  the code's consecutive differences, taken on normalised frames (the paper writes
  ``[D-2, D-1, D1, D2]`` around the centre).
- L-TDM, as the code: difference sign ``Conv(F_t+1) - F_t`` (Eq. (4) has the opposite), BN
  after the reduction and every 3x3 conv, the three branches averaged (Eq. (5) sums), the
  pooled branch up-sampled nearest (the paper: bilinear; ``upsample="bilinear"``), and
  ``sigmoid - 0.5`` instead of the sigmoid of Eq. (5). The code's 4x4 pool is unused.
- Backward branch: each direction uses its own difference, as Eqs. (5)-(6) and the current
  code. The first public release (commit 2b0a287, 2020-12-26) applied the backward
  full-resolution branch to the forward branch's output (``conv(BN(conv(Df)))``), so y_b
  depended on Df; upstream fixed it on 2021-03-05 (bcf28d9).
  ``first_release_backward_branch=True`` reproduces that first release.
- Initialisation as the authors' FBResNet loop: every L-TDM conv normal(0, sqrt(2 / (k^2
  C_out))) (kaiming-normal, fan-out), BN weight 1, bias 0; S-TDM's BN is new, its conv
  inflated from conv1.
- The 2x2 average pool of a map smaller than 2 px uses a kernel clipped to the map (the code
  fails there); nothing changes from 2 px up, so 224 px input is unaffected.
- The temporal conv is a weighted sum of shifted views (same values as the code's permute +
  Conv1d, without the two copies); its weight keeps the code's Conv1d shape ``(C, 1, 3)``.
  While traced (TorchScript / ONNX export, ``lightning_vid/export.py``) it runs out of place
  (``ops.exportable``).
- Convs are bias-free (the code's FBResNet biases are never loaded); the code's unused
  ``conv1_temp`` is not built. On BasicBlock trunks (not in the paper) the L-TDM follows act1,
  after the 3x3 conv1, as in Bottlenecks.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Literal, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_vid.blocks.ops import Recorder, TemporalConv, init_fan_out, temporal_difference
from lightning_vid.trunk import register_block
from lightning_vid.trunk.adapter import stages, stem_conv


def rgb_differences(frames: Tensor) -> tuple[Tensor, Tensor]:
    """The centre frame and the stacked differences of consecutive frames of each segment.

    Args:
        frames: ``(N, L, C, H, W)``, N = B*T segments of L consecutive frames, L odd.

    Returns:
        ``centre (N, C, H, W)`` = frame L//2 and ``D (N, (L-1)*C, H, W)`` =
        ``[x2-x1, ..., xL-x(L-1)]`` stacked on channels (x1 first).

    >>> f = torch.tensor([0., 1., 3., 6., 10.]).view(1, 5, 1, 1, 1)
    >>> centre, d = rgb_differences(f)
    >>> centre.flatten().tolist(), d.flatten().tolist()
    ([3.0], [1.0, 2.0, 3.0, 4.0])
    """
    n, length, c, h, w = frames.shape
    diffs = frames[:, 1:] - frames[:, :-1]  # (N, L-1, C, H, W)
    return frames[:, length // 2], diffs.reshape(n, (length - 1) * c, h, w)


def lateral_fusion(h: Tensor, d: Tensor, alpha: float, beta: float) -> Tensor:
    """``alpha*h + beta*up(d)``, ``d`` up-sampled (nearest) to the exact size of ``h``."""
    return torch.add(h * alpha, F.interpolate(d, size=h.shape[-2:], mode="nearest"), alpha=beta)


def official_fusion_weights(num_segments: int) -> tuple[float, float]:
    """The authors' (alpha, beta): (0.5, 0.5) when T == 8, (0.75, 0.25) otherwise."""
    return (0.5, 0.5) if num_segments == 8 else (0.75, 0.25)


class ShortTermTDM(nn.Module):
    """S-TDM, TDN's frame hook: ``(B*T*L, C, H, W)`` frames -> the centre frames
    ``(B*T, C, H, W)`` for the trunk and ``{"stem": d1, "layer1": d2}``, fused into the trunk's
    maps after its stem and after res2 as ``alpha*h + beta*up(d)`` (:meth:`fuse`).

    Built from the (pretrained) timm ResNet it runs beside: its stem conv's geometry and
    weights (inflated to the ``3*(L-1)`` difference channels) and a copy of its res2. A model
    receives it as ``frame_hook`` (``lightning_vid.models.VideoRecognizer``), which calls
    ``ShortTermTDM(trunk, num_segments, **options)``.

    Args:
        trunk: the timm ResNet (its ``conv1`` and ``layer1``).
        num_segments: T (for the official fusion weights).
        frames_per_segment: L (odd, >= 3); the conv sees ``3*(L-1)`` channels.
        fusion_weights: (alpha, beta) of both fusions; None: :func:`official_fusion_weights`.

    >>> from lightning_vid.trunk.adapter import create_trunk
    >>> m = ShortTermTDM(create_trunk("resnet18"), 4)
    >>> centre, maps = m(torch.randn(2 * 5, 3, 64, 64))
    >>> tuple(centre.shape), {k: tuple(v.shape) for k, v in maps.items()}
    ((2, 3, 64, 64), {'stem': (2, 64, 8, 8), 'layer1': (2, 64, 8, 8)})
    """

    hook_name = "short_term"  # the model's attribute (state-dict prefix ``short_term.``)

    def __init__(self, trunk: nn.Module, num_segments: int, *, frames_per_segment: int = 5,
                 fusion_weights: Optional[tuple[float, float]] = None) -> None:
        super().__init__()
        if frames_per_segment < 3 or frames_per_segment % 2 == 0:
            raise ValueError(f"frames_per_segment must be odd and >= 3, got {frames_per_segment}")
        self.num_segments, self.frames_per_segment = num_segments, frames_per_segment
        alpha, beta = fusion_weights or official_fusion_weights(num_segments)
        self.alpha, self.beta = float(alpha), float(beta)
        conv1 = stem_conv(trunk)
        self.pool = nn.AvgPool2d(2, 2)
        self.conv = nn.Conv2d(3 * (frames_per_segment - 1), conv1.out_channels,
                              conv1.kernel_size, conv1.stride, conv1.padding, bias=False)
        self.bn = nn.BatchNorm2d(conv1.out_channels)
        self.act = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.stage = copy.deepcopy(stages(trunk)[0])
        self.init_from_trunk(trunk)

    @classmethod
    def from_trunk(cls, trunk: nn.Module, num_segments: int, frames_per_segment: int = 5, *,
                   fusion_weights: Optional[tuple[float, float]] = None) -> "ShortTermTDM":
        """The same as the constructor (kept for code written before)."""
        return cls(trunk, num_segments, frames_per_segment=frames_per_segment,
                   fusion_weights=fusion_weights)

    @torch.no_grad()
    def init_from_trunk(self, trunk: nn.Module) -> "ShortTermTDM":
        """Re-inflate conv from the trunk's conv1 and reload res2 from its layer1 (call it
        after loading 2D weights into an already built model)."""
        w = stem_conv(trunk).weight  # (O, 3, k, k) -> RGB mean (O, 1, k, k) -> (O, 3(L-1), k, k)
        self.conv.weight.copy_(w.mean(dim=1, keepdim=True).expand_as(self.conv.weight))
        self.stage.load_state_dict(stages(trunk)[0].state_dict())
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        frames = x.view(-1, self.frames_per_segment, *x.shape[1:])  # (B*T, L, C, H, W)
        centre, diffs = rgb_differences(frames)  # (B*T, C, H, W), (B*T, 3(L-1), H, W)
        d1 = self.maxpool(self.act(self.bn(self.conv(self.pool(diffs)))))
        return centre, {"stem": d1, "layer1": self.stage(d1)}

    def fuse(self, h: Tensor, lateral: Tensor) -> Tensor:
        """One lateral fusion: ``alpha*h + beta*up(lateral)``."""
        return lateral_fusion(h, lateral, self.alpha, self.beta)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}"


def aligned_differences(z: Tensor, z_smooth: Tensor, num_segments: int) -> tuple[Tensor, Tensor]:
    """Eq. (4) in both directions, zero at the clip borders: ``Df(t) = z_smooth(t+1) - z(t)``
    (``Df(T-1) = 0``) and ``Db(t) = z_smooth(t-1) - z(t)`` (``Db(0) = 0``), ``(B*T, c, H, W)``.

    >>> z = torch.tensor([1., 2., 4.]).view(3, 1, 1, 1)
    >>> [d.flatten().tolist() for d in aligned_differences(z, 10 * z, 3)]
    [[19.0, 38.0, 0.0], [0.0, 8.0, 16.0]]
    """
    return (temporal_difference(z_smooth, z, num_segments, step=1),
            temporal_difference(z_smooth, z, num_segments, step=-1))


def _bn_per_direction(bn: nn.BatchNorm2d, t: Tensor) -> Tensor:
    """BN of ``t = cat(forward, backward)``, one call per half in training as the code does
    (the batch statistics differ); one call in eval, where both see the same affine map."""
    if not bn.training and bn.running_mean is not None:
        return bn(t)
    f, b = t.unflatten(0, (2, -1)).unbind(0)  # (B*T, c, H, W) each
    return torch.cat((bn(f), bn(b)))


class LongTermTDM(Recorder, nn.Module):
    """L-TDM: ``X + X * y`` with bidirectional multi-scale difference attention y.

    Args:
        channels: C (the block's width after conv1).
        num_segments: T.
        reduction: r; the differences have ``max(1, C // r)`` channels.
        upsample: the pooled branch's up-sampling (code: nearest; paper: bilinear).
        first_release_backward_branch: the authors' first release's backward branch (header).

    Recorded (:class:`~lightning_vid.blocks.ops.Recorder`): the attention y ``(B*T, C, H, W)``.

    >>> m = LongTermTDM(64, num_segments=4)
    >>> m(torch.randn(8, 64, 7, 7)).shape
    torch.Size([8, 64, 7, 7])
    """

    layouts = {"attention": "(B T) C h w"}

    def __init__(self, channels: int, num_segments: int, *, reduction: int = 16,
                 upsample: Literal["nearest", "bilinear"] = "nearest",
                 first_release_backward_branch: bool = False) -> None:
        super().__init__()
        c = max(1, channels // reduction)
        self.num_segments = num_segments
        self.upsample = upsample
        self.first_release_backward_branch = first_release_backward_branch
        self.reduce = nn.Conv2d(channels, c, 1, bias=False)
        self.reduce_bn = nn.BatchNorm2d(c)
        self.smooth = nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False)
        self.pooled_conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.pooled_bn = nn.BatchNorm2d(c)
        self.full_conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.full_bn = nn.BatchNorm2d(c)
        self.expand = nn.Conv2d(c, channels, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(channels)
        init_fan_out(self)

    def forward(self, x: Tensor) -> Tensor:
        z = self.reduce_bn(self.reduce(x))
        fwd, bwd = aligned_differences(z, self.smooth(z), self.num_segments)
        d = torch.cat((fwd, bwd))  # (2*B*T, c, H, W): both directions through shared convs
        if self.first_release_backward_branch:
            full_f = self.full_bn(self.full_conv(fwd))
            full = torch.cat((full_f, self.full_bn(self.full_conv(full_f))))
        else:
            full = _bn_per_direction(self.full_bn, self.full_conv(d))
        # 2x2, clipped on maps < 2 px; int(): a constant when traced (ONNX export)
        k = (min(2, int(d.shape[-2])), min(2, int(d.shape[-1])))
        pooled = _bn_per_direction(self.pooled_bn, self.pooled_conv(F.avg_pool2d(d, k, k)))
        align = None if self.upsample == "nearest" else False
        pooled = F.interpolate(pooled, size=d.shape[-2:], mode=self.upsample, align_corners=align)
        # the two halves (B*T, C, H, W) each; as a view, not chunk(2), whose split sizes
        # torch.export could not prove equal for every batch size (a dynamic batch)
        e_f, e_b = self.expand((d + pooled + full) / 3).unflatten(0, (2, -1)).unbind(0)
        y2 = torch.add(torch.sigmoid(self.expand_bn(e_f)), torch.sigmoid(self.expand_bn(e_b)))
        y2 = y2.sub_(1.0)  # 2y = (s_f - 0.5) + (s_b - 0.5)
        if self.record:
            self.remember(attention=0.5 * y2)
        return torch.addcmul(x, x, y2, value=0.5)  # x + x * y

    def extra_repr(self) -> str:
        return (f"num_segments={self.num_segments}, upsample={self.upsample!r}, "
                f"first_release_backward_branch={self.first_release_backward_branch}")


@register_block("tdn", placement="after_conv1", stages=(2, 3, 4))
class LongTermBlock(nn.Sequential):
    """What TDN puts after act1 of a res3..res5 block (the authors' ``BottleneckShift``):
    ``ltdm`` (:class:`LongTermTDM`), then ``tconv``, a temporal conv starting as TSM's shift.

    Args:
        channels, num_segments, reduction, upsample, first_release_backward_branch: L-TDM's.
        temporal_conv: add the temporal conv (code); False: L-TDM alone.
        fold_div: the temporal conv's shift init moves ``C // fold_div`` channels each way.
    """

    def __init__(self, channels: int, num_segments: int, *, reduction: int = 16,
                 upsample: Literal["nearest", "bilinear"] = "nearest",
                 first_release_backward_branch: bool = False, temporal_conv: bool = True,
                 fold_div: int = 8) -> None:
        parts = OrderedDict(ltdm=LongTermTDM(
            channels, num_segments, reduction=reduction, upsample=upsample,
            first_release_backward_branch=first_release_backward_branch))
        if temporal_conv:
            parts["tconv"] = TemporalConv(channels, num_segments, fold_div=fold_div)
        super().__init__(parts)
