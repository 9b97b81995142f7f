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

``tconv``: channel-wise temporal conv, kernel 3, zero padding, no bias. Appendix A's "part shift"
init: tconv0-2 start as identity [0, 1, 0], tconv3 as a shift (first half of its channels from
t+1, second half from t-1): at init 1/8 + 1/8 of C are shifted, as TSM. ``spatial_i`` are
Res2Net's own ``convs[i] -> bns[i] -> ReLU``: a pretrained TEA starts as pretrained Res2Net except
for ME and the shifted fragment.

Departures (where paper and authors' code disagree we follow the code; the other choice is an
option where it is cheap):

- Trunk: Res2Net-50 26w4s by default, as appendix B.1 and the code (section 4.2 says ResNet-50).
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

ResNet trunks (in neither paper nor code; ``models/zoo.py``): ME after conv1 -> bn1 -> act1
(``after_conv1``; on a BasicBlock, after the first 3x3); MTA replaces conv2 (``replace_conv2``,
:func:`mta_replacing`): conv2's C channels become 4 fragments whose 3x3 sub-convs (C/4 -> C/4)
keep conv2's stride and dilation and start from its block-diagonal weights; no BN/ReLU per
fragment (Eq. 6 as written) since the block's bn2, act2 follow; cascade when the stride is 1,
else the pass-through is average-pooled. The 3x3 stage keeps 3/16 of its weights and MACs.
"""

from __future__ import annotations

from typing import Literal, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def temporal_difference(x_next: Tensor, x: Tensor, num_segments: int) -> Tensor:
    """Eq. 2: ``M(t) = x_next(t+1) - x(t)`` for t < T-1 and ``M(T-1) = 0``, per clip.

    >>> x = torch.tensor([1., 4., 9., 16.]).view(4, 1, 1, 1)  # one clip, T=4
    >>> temporal_difference(x, x, num_segments=4).flatten()
    tensor([3., 5., 7., 0.])
    """
    nt, c, h, w = x.shape
    nxt = x_next.view(-1, num_segments, c, h, w)[:, 1:]  # (B, T-1, C, H, W), frames 1..T-1
    cur = x.view(-1, num_segments, c, h, w)[:, :-1]  # (B, T-1, C, H, W), frames 0..T-2
    return F.pad(nxt - cur, (0, 0, 0, 0, 0, 0, 0, 1)).view(nt, c, h, w)  # zero at T-1


def temporal_conv(x: Tensor, weight: Tensor, num_segments: int) -> Tensor:
    """Channel-wise temporal conv, kernel 3, zero pad: ``y[t] = w0 x[t-1] + w1 x[t] + w2 x[t+1]``.

    ``weight`` is ``(C, 1, 3)``, as ``nn.Conv1d(C, C, 3, padding=1, groups=C, bias=False)`` applied
    to ``(B*H*W, C, T)``, which gives the same values.

    >>> x = torch.arange(4.).view(4, 1, 1, 1)  # one clip, T=4, C=1
    >>> temporal_conv(x, torch.tensor([[[0., 0., 1.]]]), num_segments=4).flatten()  # from t+1
    tensor([1., 2., 3., 0.])
    """
    nt, c, h, w = x.shape
    x5 = x.view(-1, num_segments, c, h, w)  # (B, T, C, H, W)
    w0, w1, w2 = weight.view(c, 3, 1, 1).unbind(1)  # each (C, 1, 1)
    if torch.jit.is_tracing():  # TorchScript / ONNX export: out of place, the same values
        xp = F.pad(x5, (0, 0, 0, 0, 0, 0, 1, 1))  # (B, T+2, C, H, W), zero frames at both ends
        return (xp[:, :-2] * w0 + x5 * w1 + xp[:, 2:] * w2).view(nt, c, h, w)
    y = x5 * w1
    y[:, 1:].addcmul_(x5[:, :-1], w0)  # frames 1..T-1 from t-1 (frame 0 sees the zero pad)
    y[:, :-1].addcmul_(x5[:, 1:], w2)  # frames 0..T-2 from t+1
    return y.view(nt, c, h, w)


class TemporalConv(nn.Module):
    """:func:`temporal_conv` with a learnable ``(C, 1, 3)`` weight and appendix A's initialisation.

    ``init="identity"``: [0, 1, 0]. ``init="shift"``: channels ``[0, C//2)`` [0, 0, 1] (from
    t+1), ``[C//2, 2*(C//2))`` [1, 0, 0] (from t-1), a last odd channel identity.
    """

    def __init__(
        self, channels: int, num_segments: int, *, init: Literal["identity", "shift"] = "identity"
    ) -> None:
        super().__init__()
        self.num_segments = num_segments
        self.weight = nn.Parameter(torch.zeros(channels, 1, 3))
        fold = channels // 2 if init == "shift" else 0
        with torch.no_grad():
            self.weight[:fold, 0, 2] = 1.0
            self.weight[fold : 2 * fold, 0, 0] = 1.0
            self.weight[2 * fold :, 0, 1] = 1.0

    def forward(self, x: Tensor) -> Tensor:
        return temporal_conv(x, self.weight, self.num_segments)


class MotionExcitation(nn.Module):
    """ME (Eq. 1-5), ``(B*T, C, H, W)`` -> ``(B*T, C, H, W)``.

    Args:
        channels: C.
        num_segments: T.
        reduction: r; the motion branch has ``C // r`` channels.
        attention_scale: ``"half"``: A = sigmoid - 1/2 (code); ``"full"``: 2 sigmoid - 1 (Eq. 4).

    Set ``record = True`` to keep the detached attention in ``last_outputs["attention"]``,
    shaped ``(B, T, C)``.

    >>> me = MotionExcitation(64, num_segments=4)
    >>> me(torch.randn(8, 64, 7, 7)).shape
    torch.Size([8, 64, 7, 7])
    """

    def __init__(
        self,
        channels: int,
        num_segments: int,
        *,
        reduction: int = 16,
        attention_scale: Literal["half", "full"] = "half",
    ) -> None:
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
        for conv in (self.conv_red, self.conv_trans, self.conv_exp):
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        self.record = False
        self.last_outputs: dict[str, Tensor] = {}

    def forward(self, x: Tensor) -> Tensor:
        z = self.bn_red(self.conv_red(x))  # Eq. 1, (B*T, C/r, H, W)
        m = temporal_difference(self.conv_trans(z), z, self.num_segments)  # Eq. 2
        m = m.mean(dim=(2, 3), keepdim=True)  # Eq. 3, (B*T, C/r, 1, 1)
        a = torch.sigmoid(self.bn_exp(self.conv_exp(m)))  # (B*T, C, 1, 1)
        a = self.scale * (a - 0.5)  # Eq. 4 (scale 2) or the code (scale 1)
        if self.record:
            self.last_outputs = {"attention": a.detach().view(-1, self.num_segments, a.shape[1])}
        return x * (1.0 + a)  # Eq. 5: X + X * A


class MultipleTemporalAggregation(nn.Module):
    """MTA (Eq. 6-7), ``(B*T, C, H, W)`` -> ``(B*T, C, H/stride, W/stride)``.

    Args:
        channels: C, split into ``scale`` fragments of ``C // scale`` channels.
        num_segments: T.
        scale: the number of fragments (4).
        stride: spatial stride of fresh sub-convs and of the default pass-through pool.
        cascade: hierarchical residual sums between fragments (Res2Net: not ``is_first``).
        shift_passthrough: a shift-initialised temporal conv on the last fragment (code).
        convs, bns: ``scale - 1`` spatial sub-convs (and BNs, then ReLU) to reuse, e.g. Res2Net's;
            fresh 3x3 convs without BN/ReLU when ``None``.
        pool: applied to the pass-through fragment; default AvgPool2d(3, stride, 1) if stride > 1.

    >>> mta = MultipleTemporalAggregation(64, num_segments=4, stride=2, cascade=False)
    >>> mta(torch.randn(8, 64, 8, 8)).shape
    torch.Size([8, 64, 4, 4])
    """

    def __init__(
        self,
        channels: int,
        num_segments: int,
        *,
        scale: int = 4,
        stride: int = 1,
        cascade: bool = True,
        shift_passthrough: bool = True,
        convs: Optional[nn.ModuleList] = None,
        bns: Optional[nn.ModuleList] = None,
        pool: Optional[nn.Module] = None,
    ) -> None:
        super().__init__()
        if channels % scale:
            raise ValueError(f"MTA needs channels divisible by scale={scale}, got {channels}")
        self.width = width = channels // scale
        self.cascade = cascade
        self.temporal = nn.ModuleList(TemporalConv(width, num_segments) for _ in range(scale - 1))
        self.passthrough = (
            TemporalConv(width, num_segments, init="shift") if shift_passthrough else nn.Identity()
        )
        self.convs = convs if convs is not None else nn.ModuleList(
            nn.Conv2d(width, width, 3, stride, padding=1, bias=False) for _ in range(scale - 1)
        )
        self.norm_act = bns is not None
        self.bns = bns if bns is not None else nn.ModuleList(nn.Identity() for _ in self.convs)
        if pool is None:
            pool = nn.AvgPool2d(3, stride, padding=1) if stride > 1 else nn.Identity()
        self.pool = pool

    def forward(self, x: Tensor) -> Tensor:
        xs = torch.split(x, self.width, dim=1)  # scale x (B*T, C/scale, H, W)
        outs = []
        sp = xs[0]
        for i, (tconv, conv, bn) in enumerate(zip(self.temporal, self.convs, self.bns)):
            sp = sp + xs[i] if self.cascade and i > 0 else xs[i]  # Eq. 6 hierarchical residual
            sp = bn(conv(tconv(sp)))
            sp = F.relu(sp, inplace=True) if self.norm_act else sp
            outs.append(sp)
        outs.append(self.pool(self.passthrough(xs[-1])))
        return torch.cat(outs, dim=1)  # Eq. 7, (B*T, C, H', W')


def mta_replacing(conv: nn.Conv2d, num_segments: int, *, scale: int = 4, **kwargs) -> nn.Module:
    """MTA in place of a ResNet block's 3x3 ``conv`` (the ``replace_conv2`` placement).

    Fragments keep ``conv``'s stride, dilation and (divided) groups and start from its
    block-diagonal weights; ``kwargs`` go to :class:`MultipleTemporalAggregation`.
    """
    c, groups = conv.out_channels, conv.groups
    if conv.in_channels != c or c % scale or (groups > 1 and groups % scale):
        raise ValueError(f"cannot split {conv} into {scale} fragments")
    w, stride = c // scale, conv.stride[0]
    convs = nn.ModuleList()
    for i in range(scale - 1):
        sub = nn.Conv2d(w, w, 3, stride, conv.padding, conv.dilation, max(1, groups // scale),
                        bias=False)
        with torch.no_grad():  # block i of the diagonal: outputs and inputs i*w..(i+1)*w
            block = conv.weight[i * w : (i + 1) * w]  # (C/scale, C/groups, 3, 3)
            sub.weight.copy_(block if groups > 1 else block[:, i * w : (i + 1) * w])
        convs.append(sub)
    return MultipleTemporalAggregation(
        c, num_segments, scale=scale, stride=stride, cascade=stride == 1, convs=convs, **kwargs
    )


class TEABottle2neck(nn.Module):
    """A timm Res2Net ``Bottle2neck`` made a TEA block, reusing its modules and weights.

    Keeps ``conv1``/``bn1``/``conv3``/``bn3``/``downsample`` (same state-dict keys), moves
    ``convs``/``bns``/``pool`` into ``mta`` and adds ``me``; the options are ME's and MTA's.
    """

    def __init__(self, block: nn.Module, num_segments: int, *, reduction: int = 16,
                 attention_scale: Literal["half", "full"] = "half",
                 shift_passthrough: bool = True) -> None:
        super().__init__()
        for name in ("conv1", "bn1", "relu", "drop_block", "conv3", "bn3", "se", "drop_path",
                     "downsample"):
            setattr(self, name, getattr(block, name))
        c = block.conv1.out_channels
        self.me = MotionExcitation(c, num_segments, reduction=reduction,
                                   attention_scale=attention_scale)
        self.mta = MultipleTemporalAggregation(
            c, num_segments, scale=block.scale, stride=block.convs[0].stride[0],
            cascade=not block.is_first, shift_passthrough=shift_passthrough,
            convs=block.convs, bns=block.bns, pool=block.pool,
        )

    def forward(self, x: Tensor) -> Tensor:
        out = self.me(self.relu(self.bn1(self.conv1(x))))
        out = self.bn3(self.conv3(self.drop_block(self.mta(out))))
        if self.se is not None:
            out = self.se(out)
        if self.drop_path is not None:
            out = self.drop_path(out)
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)
