"""TCM: Temporal Correlation Module (MTDM + temporal attention).

Paper: Y. Liu, Z. Tu, H. Li, C. Chen, B. Li, J. Yuan, "Slow-Fast Visual Tempo Learning for
Video-based Action Recognition" (TCM), IEEE journal preprint, arXiv 2202.12116. Authors'
code: zphyix/TCM (TCM.py, resnet_TSM.py), no licence, so this is a reimplementation from
the paper and reference-notes.md sections 7, 8 and 11, nothing copied.

Implemented: Eqs. 1-5 (correlation and match estimation, in ``correlation.py``), the MTDM
multi-scale sampling (fast tempo: pairs ``(t, t+1)``; slow tempo: ``(0, t+1)``,
t = 0..T-2, the last step duplicated to keep T), the TAM transformation, Eqs. 8-10 (one
k-tap kernel shared over channels, along time) with k from Eq. 11, and the residual::

    x (B*T, C, H, W) -> 1x1 C->C/8 +BN+ReLU -> L2-normalise over channels
      -> pairs: fast (t, t+1) | slow (0, t+1) -> corr (2R+1)^2 -> ReLU
      -> kernel soft-argmax: [u_f, v_f, c_f | u_s, v_s, c_s] (B*T, 6, H, W)      = MTDM
      -> 3 x [3x3 6->6, groups 3] -> 1x1 6->16 -> 3 x [dw 3x3 -> 1x1]: 16->32->64->C
      -> y (B*T, C, H, W) -> spatial mean -> Conv1d over T (k taps) -> sigmoid = w
    out = x + y * w                                                               = TAM

Every conv is followed by BN + ReLU (the last one included, gamma = 1: the added branch is
non-negative and not zero-initialised, as in the code). Convs are kaiming-normal (fan_out)
as in the code, which starts the depth-wise ones small: with fresh BN statistics (eval) the
branch is below 1e-3 of x; training-mode BN rescales it.

Departures (paper vs code: the code is followed, the paper's choice an option where cheap):

- Window: the code's table by stage (patch 15, 15, 7, 3 -> ``RADIUS_BY_STAGE`` R = 7, 7, 3,
  1 after res2..res5), not the paper's R = ceil(H/2) (14 at res3, 224 px): ``radius``.
- The correlation is ReLU'd before match estimation (code; absent from the paper):
  ``corr_relu=False`` for the paper. Gaussian of Eq. 4: ``gaussian`` (``correlation.py``).
- Slow tempo = every frame paired with frame 0 (code); the paper only says "longest
  scale". The first slow pair equals the first fast pair and is computed twice, as in code.
- Eq. 11 with gamma = b = 1 gives |log2 T + 1|_odd, a tie at T = 8; the code takes
  int(log2 T) rounded up to odd: k = 3 for T = 8, 5 for T = 16. We follow the code.
- The first three 3x3 convs use 3 groups (code), which pair (u_f, v_f), (c_f, u_s),
  (v_s, c_s); the paper calls them depth-wise: ``stem_groups=6``.
- The reduction is computed, C -> C // ``reduction`` (512 -> 64 at res3 of ResNet-50, as
  the code hard-codes; 128 -> 16 on ResNet-18); the last 1x1 maps 64 -> C.
- The correlation is pure PyTorch (``correlation.py``) instead of the CUDA extension, same
  values. It needs ``2 (T-1) (2R+1)^2 (C/8) H W`` MACs per clip (0.158 G for ResNet-50,
  T = 8, 224 px); fvcore counts its traced (export) path, 0.443 G there.

- Head (the model's, set by the ``tcm`` preset): the code's classifier is a Conv1d(D, K, 1) with
  Xavier-uniform weights and zero bias, the same map as a Linear; ours is the Linear of every
  model started the same way (``head_init="xavier_uniform"``; the TSN codebase: N(0, 0.001)).

Placement (registered as ``tcm``): one TCM after res3 (``stages=(2,)``). The ``tcm`` preset
(``lightning_vid/models/presets.py``) is TSM's shift plus this block, two entries of the
model's ``blocks``: the shift before conv1 of every block (TCM's code shifts all 33 blocks of
ResNet-101, not TSM's every second one: ``Insert(TemporalShift, select=every_block)``), then
the TCM; ``shift=False`` leaves the trunk plain.

Size (ResNet-50, T = 8, 224 px, 400 classes): 24,398,795 parameters (TCM 71,163) and
33.14 G conv + linear MACs + 0.158 G correlation, exactly the authors' code. The paper's
35.3 G / 24.5 M (Tables III, X) are not reproduced: its TSM baseline reads 33.4 G (32.70
measured) and it adds the same +1.9 G, +0.2 M to ResNet-18/50/101 and Res2Net-50.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_vid.blocks.correlation import Gaussian, kernel_soft_argmax, local_correlation
from lightning_vid.blocks.ops import Recorder, conv_bn_act, init_fan_out
from lightning_vid.trunk import register_block

#: The code's window table by stage (1..4 = res2..res5): patch 15, 15, 7, 3.
RADIUS_BY_STAGE = {1: 7, 2: 7, 3: 3, 4: 1}


def eca_kernel_size(num_segments: int) -> int:
    """k of Eq. 11 as the authors' code computes it: int(log2 T), rounded up to odd."""
    k = int(math.log2(num_segments))
    return k if k % 2 else k + 1


def tempo_pairs(x: Tensor, num_segments: int) -> tuple[Tensor, Tensor]:
    """The first and second maps of the ``2(T-1)`` pairs of each clip, fast then slow.

    ``(B*T, C, H, W)`` -> two ``(B*2(T-1), C, H, W)``: pair ``p < T-1`` is ``(p, p+1)``
    (fast tempo), pair ``T-1+p`` is ``(0, p+1)`` (slow tempo).
    """
    nt, c, h, w = x.shape
    x = x.view(-1, num_segments, c, h, w)  # (B, T, C, H, W)
    anchor = x[:, :1].expand(-1, num_segments - 1, -1, -1, -1)  # (B, T-1, C, H, W) frame 0
    first = torch.cat((x[:, :-1], anchor), 1)  # (B, 2(T-1), C, H, W)
    second = torch.cat((x[:, 1:], x[:, 1:]), 1)  # (B, 2(T-1), C, H, W)
    return first.flatten(0, 1), second.flatten(0, 1)  # (B*2(T-1), C, H, W) each


def tempo_dynamics(
    x: Tensor,
    num_segments: int,
    radius: int = 7,
    sigma: float = 5.0,
    tau: float = 0.01,
    gaussian: Gaussian = "code",
    corr_relu: bool = True,
) -> Tensor:
    """MTDM's motion maps: ``(B*T, C, H, W)`` -> ``(B*T, 6, H, W)``, channels
    ``[u_fast, v_fast, conf_fast, u_slow, v_slow, conf_slow]``; frame t holds the motion
    of pairs (t, t+1) and (0, t+1), frame T-1 repeats frame T-2.

    >>> x = torch.randn(2 * 4, 16, 6, 6)
    >>> tempo_dynamics(x, num_segments=4, radius=2).shape
    torch.Size([8, 6, 6, 6])
    """
    nt, c, h, w = x.shape
    x = x / x.square().sum(1, keepdim=True).add(1e-6).sqrt()  # L2 over channels
    corr = local_correlation(*tempo_pairs(x, num_segments), radius)  # (B*2(T-1), D*D, H, W)
    if corr_relu:
        corr = F.relu(corr)
    flow, confidence = kernel_soft_argmax(corr, radius, sigma, tau, gaussian)
    maps = torch.cat((flow, confidence), 1)  # (B*2(T-1), 3, H, W)
    maps = maps.view(-1, 2, num_segments - 1, 3, h, w)  # (B, tempo, T-1, 3, H, W)
    maps = torch.cat((maps, maps[:, :, -1:]), 2)  # duplicate the last step: (B, 2, T, 3, H, W)
    return maps.transpose(1, 2).reshape(nt, 6, h, w)  # (B, T, 2, 3, H, W) -> (B*T, 6, H, W)


class TCMAttention(nn.Module):
    """TCM's temporal attention module ("TAM" in the TCM paper, not TANet's TAM).

    ``(B*T, 6, H, W)`` motion maps -> ``(B*T, C, H, W)`` features ``y * w``, with ``y`` the
    six-layer transformation and ``w = sigmoid(Conv1d_k(spatial mean of y) over T)``.

    >>> att = TCMAttention(32, num_segments=8)
    >>> att.eca.kernel_size, att(torch.randn(16, 6, 7, 7)).shape
    ((3,), torch.Size([16, 32, 7, 7]))
    """

    def __init__(self, channels: int, num_segments: int, *, stem_groups: int = 3) -> None:
        super().__init__()
        self.num_segments = num_segments
        layers = []
        for _ in range(3):  # three 3x3 approximate a 7x7 on the 6 motion channels
            layers += conv_bn_act(6, 6, 3, groups=stem_groups)
        layers += conv_bn_act(6, 16)
        for cin, cout in ((16, 32), (32, 64), (64, channels)):  # depth-wise separable
            layers += conv_bn_act(cin, cin, 3, groups=cin) + conv_bn_act(cin, cout)
        self.transform = nn.Sequential(*layers)
        k = eca_kernel_size(num_segments)
        self.eca = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)

    def weights(self, y: Tensor) -> Tensor:
        """Eqs. 8-10: ``(B*T, C, H, W)`` -> temporal attention ``(B*T, C, 1, 1)``."""
        nt, c = y.shape[:2]
        pooled = y.mean((2, 3)).view(-1, self.num_segments, c)  # (B, T, C)
        seq = pooled.transpose(1, 2).reshape(-1, 1, self.num_segments)  # (B*C, 1, T)
        w = torch.sigmoid(self.eca(seq)).view(-1, c, self.num_segments)  # (B, C, T)
        return w.transpose(1, 2).reshape(nt, c, 1, 1)  # (B, T, C) -> (B*T, C, 1, 1)

    def forward(self, maps: Tensor) -> Tensor:
        y = self.transform(maps)
        return y * self.weights(y)


@register_block("tcm", placement="after_stage", stages=(2,))
class TemporalCorrelation(Recorder, nn.Module):
    """The Temporal Correlation Module, ``(B*T, C, H, W)`` -> ``(B*T, C, H, W)``:
    ``x + TCMAttention(MTDM(x))``.

    Args:
        channels: C, the stage's output channels.
        num_segments: T (>= 2).
        radius: R, the correlation window ``(2R+1)^2``; None: the code's table for the stage
            the module follows (``RADIUS_BY_STAGE``).
        reduction: MTDM's 1x1 reduces C to ``C // reduction`` before the correlation.
        sigma, tau, gaussian: the match estimation (Eqs. 3-4).
        corr_relu: ReLU on the correlation volume (code; False = paper).
        stem_groups: groups of the first three 3x3 convs (3 = code, 6 = depth-wise).
        stage: the stage it follows, 1..4 = res2..res5 (filled in by the injection).

    Recorded (:class:`~lightning_vid.blocks.ops.Recorder`): ``displacement``
    ``(B*T, 4, H, W)`` = (u, v) fast then slow, in [-1, 1]; ``confidence`` ``(B*T, 2, H, W)``
    fast, slow; ``attention`` ``(B*T, C)`` the temporal weights.

    >>> m = TemporalCorrelation(64, num_segments=4, radius=3)
    >>> m.record = True
    >>> m(torch.randn(8, 64, 10, 10)).shape, m.last_outputs["displacement"].shape
    (torch.Size([8, 64, 10, 10]), torch.Size([8, 4, 10, 10]))
    """

    layouts = {"displacement": "(B T) (F 2) h w", "confidence": "(B T) C h w",
               "attention": "(B T) C"}

    def __init__(
        self,
        channels: int,
        num_segments: int,
        *,
        radius: Optional[int] = None,
        reduction: int = 8,
        sigma: float = 5.0,
        tau: float = 0.01,
        gaussian: Gaussian = "code",
        corr_relu: bool = True,
        stem_groups: int = 3,
        stage: int = 2,
    ) -> None:
        super().__init__()
        if num_segments < 2:
            raise ValueError(f"TCM pairs frames: num_segments must be >= 2, got {num_segments}")
        if radius is None and stage not in RADIUS_BY_STAGE:
            raise ValueError(f"TCM stages are 1..4 (res2..res5), got {stage}")
        radius = RADIUS_BY_STAGE[stage] if radius is None else radius
        self.channels, self.num_segments, self.radius = channels, num_segments, radius
        self.match = dict(sigma=sigma, tau=tau, gaussian=gaussian, corr_relu=corr_relu)
        self.reduce = nn.Sequential(*conv_bn_act(channels, max(channels // reduction, 1)))
        self.attention = TCMAttention(channels, num_segments, stem_groups=stem_groups)
        init_fan_out(self)

    def forward(self, x: Tensor) -> Tensor:
        maps = tempo_dynamics(self.reduce(x), self.num_segments, self.radius, **self.match)
        y = self.attention.transform(maps)  # (B*T, C, H, W)
        w = self.attention.weights(y)  # (B*T, C, 1, 1)
        if self.record:  # maps: (B*T, [u_f, v_f, c_f, u_s, v_s, c_s], H, W)
            self.remember(displacement=maps[:, [0, 1, 3, 4]], confidence=maps[:, [2, 5]],
                          attention=w.flatten(1))
        return torch.addcmul(x, y, w)  # x + y * w

    def extra_repr(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.match.items())
        return f"num_segments={self.num_segments}, radius={self.radius}, {options}"
