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

followed, as in the authors' code, by :class:`TemporalConv`: a depthwise 3-tap conv over T on
all C channels, initialised as TSM's shift (C/8 from t+1, C/8 from t-1, the rest identity).

Departures (the paper, the code, and what is implemented):

- S-TDM fusion: the code's fixed weighted sum ``a*h + b*up(d)``, a = b = 0.5 for T = 8 and
  0.75 / 0.25 otherwise (models/tdn_recognizer.py), not Eq. (1)'s ``F + H``.
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
- Code bug not followed: in the code the backward full-resolution branch is applied to the
  forward branch's output (``conv(BN(conv(Df)))``), so y_b depends on Df; here each
  direction uses its own difference, as Eqs. (5)-(6). ``official_backward_branch=True``
  reproduces the code.
- The 2x2 average pool of a map smaller than 2 px uses a kernel clipped to the map (the code
  fails there); nothing changes from 2 px up, so 224 px input is unaffected.
- The temporal conv is a weighted sum of shifted views (same values as the code's permute +
  Conv1d, without the two copies); its weight keeps the code's Conv1d shape ``(C, 1, 3)``.
  While traced (TorchScript / ONNX export, ``lightning_vid/export.py``) it runs out of place.
- Convs are bias-free (the code's FBResNet biases are never loaded); the code's unused
  ``conv1_temp`` is not built. On BasicBlock trunks (not in the paper) the L-TDM follows act1,
  after the 3x3 conv1, as in Bottlenecks.
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn


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


class ShortTermTDM(nn.Module):
    """S-TDM branch: differences ``(B*T, (L-1)*3, H, W)`` -> ``(d1, d2)`` for the two fusions.

    Args:
        channels: the stem's output channels (64), which ``stage`` receives.
        num_segments: T (unused: the branch works per segment; kept for the block contract).
        stage: the second res2 (use :meth:`from_trunk` for a copy of the trunk's layer1).
        frames_per_segment: L (odd, >= 3); the conv sees ``3*(L-1)`` channels.
        kernel_size, stride, padding: the stem conv's geometry (ResNet: 7, 2, 3).

    >>> m = ShortTermTDM(8, 4, stage=nn.Conv2d(8, 16, 1))
    >>> [tuple(t.shape) for t in m(torch.randn(2, 12, 32, 32))]
    [(2, 8, 4, 4), (2, 16, 4, 4)]
    """

    def __init__(self, channels: int, num_segments: int, *, stage: nn.Module,
                 frames_per_segment: int = 5, kernel_size: int = 7, stride: int = 2,
                 padding: int = 3) -> None:
        super().__init__()
        if frames_per_segment < 3 or frames_per_segment % 2 == 0:
            raise ValueError(f"frames_per_segment must be odd and >= 3, got {frames_per_segment}")
        self.num_segments = num_segments
        self.pool = nn.AvgPool2d(2, 2)
        self.conv = nn.Conv2d(3 * (frames_per_segment - 1), channels, kernel_size, stride,
                              padding, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.act = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.stage = stage

    @classmethod
    def from_trunk(cls, trunk: nn.Module, num_segments: int,
                   frames_per_segment: int = 5) -> "ShortTermTDM":
        """Built from a (pretrained) timm ResNet: conv1 inflated, layer1 deep-copied."""
        conv1 = getattr(trunk, "conv1", None)
        if not isinstance(conv1, nn.Conv2d) or conv1.in_channels != 3:
            raise TypeError("S-TDM needs a trunk whose conv1 is a single 3-channel Conv2d")
        m = cls(conv1.out_channels, num_segments, stage=copy.deepcopy(trunk.layer1),
                frames_per_segment=frames_per_segment, kernel_size=conv1.kernel_size[0],
                stride=conv1.stride[0], padding=conv1.padding[0])
        return m.init_from_trunk(trunk)

    @torch.no_grad()
    def init_from_trunk(self, trunk: nn.Module) -> "ShortTermTDM":
        """Re-inflate conv from the trunk's conv1 and reload res2 from its layer1 (call it
        after loading 2D weights into an already built model)."""
        w = trunk.conv1.weight  # (O, 3, k, k) -> mean over RGB (O, 1, k, k) -> (O, 3(L-1), k, k)
        self.conv.weight.copy_(w.mean(dim=1, keepdim=True).expand_as(self.conv.weight))
        self.stage.load_state_dict(trunk.layer1.state_dict())
        return self

    def forward(self, diffs: Tensor) -> tuple[Tensor, Tensor]:
        d1 = self.maxpool(self.act(self.bn(self.conv(self.pool(diffs)))))
        return d1, self.stage(d1)


def aligned_differences(z: Tensor, z_smooth: Tensor, num_segments: int) -> tuple[Tensor, Tensor]:
    """Bidirectional cross-segment differences, zero at the clip borders.

    ``Df(t) = z_smooth(t+1) - z(t)`` (``Df(T-1) = 0``), ``Db(t) = z_smooth(t-1) - z(t)``
    (``Db(0) = 0``); inputs and outputs ``(B*T, c, H, W)``.

    >>> z = torch.tensor([1., 2., 4.]).view(3, 1, 1, 1)
    >>> [d.flatten().tolist() for d in aligned_differences(z, 10 * z, 3)]
    [[19.0, 38.0, 0.0], [0.0, 8.0, 16.0]]
    """
    nt, c, h, w = z.shape
    z5 = z.view(-1, num_segments, c, h, w)  # (B, T, c, H, W)
    s5 = z_smooth.view(-1, num_segments, c, h, w)  # (B, T, c, H, W)
    # F.pad pads the last dims first: (W, W, H, H, c, c, T_before, T_after)
    fwd = F.pad(s5[:, 1:] - z5[:, :-1], (0, 0, 0, 0, 0, 0, 0, 1))  # (B, T, c, H, W)
    bwd = F.pad(s5[:, :-1] - z5[:, 1:], (0, 0, 0, 0, 0, 0, 1, 0))  # (B, T, c, H, W)
    return fwd.view(nt, c, h, w), bwd.view(nt, c, h, w)


def _bn_per_direction(bn: nn.BatchNorm2d, t: Tensor) -> Tensor:
    """BN of ``t = cat(forward, backward)``, one call per half in training as the code does
    (the batch statistics differ); one call in eval, where both see the same affine map."""
    if not bn.training and bn.running_mean is not None:
        return bn(t)
    f, b = t.chunk(2)  # (B*T, c, H, W) each
    return torch.cat((bn(f), bn(b)))


class LongTermTDM(nn.Module):
    """L-TDM: ``X + X * y`` with bidirectional multi-scale difference attention y.

    Args:
        channels: C (the block's width after conv1).
        num_segments: T.
        reduction: r; the differences have ``max(1, C // r)`` channels.
        upsample: the pooled branch's up-sampling (code: nearest; paper: bilinear).
        official_backward_branch: reproduce the code's backward-branch bug (see header).

    With ``record = True`` the attention y ``(B*T, C, H, W)`` (detached) is kept in
    ``last_outputs["attention"]``.

    >>> m = LongTermTDM(64, num_segments=4)
    >>> m(torch.randn(8, 64, 7, 7)).shape
    torch.Size([8, 64, 7, 7])
    """

    def __init__(self, channels: int, num_segments: int, *, reduction: int = 16,
                 upsample: Literal["nearest", "bilinear"] = "nearest",
                 official_backward_branch: bool = False) -> None:
        super().__init__()
        c = max(1, channels // reduction)
        self.num_segments = num_segments
        self.upsample = upsample
        self.official_backward_branch = official_backward_branch
        self.reduce = nn.Conv2d(channels, c, 1, bias=False)
        self.reduce_bn = nn.BatchNorm2d(c)
        self.smooth = nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False)
        self.pooled_conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.pooled_bn = nn.BatchNorm2d(c)
        self.full_conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.full_bn = nn.BatchNorm2d(c)
        self.expand = nn.Conv2d(c, channels, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(channels)
        self.record = False
        self.last_outputs: dict[str, Tensor] = {}

    def forward(self, x: Tensor) -> Tensor:
        z = self.reduce_bn(self.reduce(x))
        fwd, bwd = aligned_differences(z, self.smooth(z), self.num_segments)
        d = torch.cat((fwd, bwd))  # (2*B*T, c, H, W): both directions through shared convs
        if self.official_backward_branch:
            full_f = self.full_bn(self.full_conv(fwd))
            full = torch.cat((full_f, self.full_bn(self.full_conv(full_f))))
        else:
            full = _bn_per_direction(self.full_bn, self.full_conv(d))
        # 2x2, clipped on maps < 2 px; int(): a constant when traced (ONNX export)
        k = (min(2, int(d.shape[-2])), min(2, int(d.shape[-1])))
        pooled = _bn_per_direction(self.pooled_bn, self.pooled_conv(F.avg_pool2d(d, k, k)))
        align = None if self.upsample == "nearest" else False
        pooled = F.interpolate(pooled, size=d.shape[-2:], mode=self.upsample, align_corners=align)
        e_f, e_b = self.expand((d + pooled + full) / 3).chunk(2)  # (B*T, C, H, W) each
        y2 = torch.add(torch.sigmoid(self.expand_bn(e_f)), torch.sigmoid(self.expand_bn(e_b)))
        y2 = y2.sub_(1.0)  # 2y = (s_f - 0.5) + (s_b - 0.5)
        if self.record:
            self.last_outputs = {"attention": 0.5 * y2.detach()}
        return torch.addcmul(x, x, y2, value=0.5)  # x + x * y

    def extra_repr(self) -> str:
        return (f"num_segments={self.num_segments}, upsample={self.upsample!r}, "
                f"official_backward_branch={self.official_backward_branch}")


def temporal_conv(x: Tensor, weight: Tensor, num_segments: int) -> Tensor:
    """Depthwise conv over T with zero padding: ``y[t] = w0*x[t-1] + w1*x[t] + w2*x[t+1]``.

    Args:
        x: ``(B*T, C, H, W)``.
        weight: ``(C, 1, 3)``, the layout of a depthwise ``Conv1d(C, C, 3, groups=C)``.
        num_segments: T.
    """
    nt, c, h, w = x.shape
    x5 = x.view(-1, num_segments, c, h, w)  # (B, T, C, H, W)
    taps = weight.view(c, 3).t().reshape(3, 1, c, 1, 1)  # (3, 1, C, 1, 1): tap k -> x[t+k-1]
    if torch.jit.is_tracing():  # TorchScript / ONNX export: out of place, the same values
        xp = F.pad(x5, (0, 0, 0, 0, 0, 0, 1, 1))  # (B, T+2, C, H, W), zero frames at both ends
        return (xp[:, :-2] * taps[0] + x5 * taps[1] + xp[:, 2:] * taps[2]).view(nt, c, h, w)
    y = x5 * taps[1]  # (B, T, C, H, W)
    y[:, 1:].addcmul_(x5[:, :-1], taps[0])  # += w0 * x[t-1]
    y[:, :-1].addcmul_(x5[:, 1:], taps[2])  # += w2 * x[t+1]
    return y.view(nt, c, h, w)


class TemporalConv(nn.Module):
    """The learnable temporal conv after each L-TDM, initialised as TSM's shift.

    >>> from lightning_vid.blocks.tsm import temporal_shift
    >>> x = torch.randn(8, 16, 3, 3)
    >>> torch.equal(TemporalConv(16, 4)(x), temporal_shift(x, 4))
    True
    """

    def __init__(self, channels: int, num_segments: int, *, fold_div: int = 8) -> None:
        super().__init__()
        self.num_segments = num_segments
        fold = channels // fold_div
        weight = torch.zeros(channels, 1, 3)
        weight[:fold, 0, 2] = 1.0  # from t+1 ("shift left")
        weight[fold:2 * fold, 0, 0] = 1.0  # from t-1 ("shift right")
        weight[2 * fold:, 0, 1] = 1.0  # identity
        self.weight = nn.Parameter(weight)

    def forward(self, x: Tensor) -> Tensor:
        return temporal_conv(x, self.weight, self.num_segments)

    def extra_repr(self) -> str:
        return f"channels={self.weight.shape[0]}, num_segments={self.num_segments}"
