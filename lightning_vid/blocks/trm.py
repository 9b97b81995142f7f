"""TRM: Temporal Relocation Module.

Paper: Y. Qian, G. Kang, L. Yu, W. Liu, A. G. Hauptmann, "TRM: Temporal Relocation Module
for Video Recognition", WACV 2022 Workshops. No public code: the paper is the specification
(reference-notes.md section 9); every choice it leaves open is listed below.

Equations, on one clip X (C, T, H, W) whose first C' = C // fold_div channels are relocated:
(6)/(7)   tTRM: R' = Conv over T of X[:C'] (C' -> C', kernel kt), R = tanh(R') * T;
(8)/(9)   sTRM: R' = Conv over (T, H, W) of X[:C'] (C' -> C', kernel kt x ks x ks);
(10)/(11) cTRM: the H*W positions are the channels of a conv over the (C', T) plane (HW -> HW,
          kernel kc x kt): output map i, the relocation of pixel i, has its own kernels, so
          the module is built for one feature-map size;
(13)/(14) Y(c, t, p) = sum_s max(0, 1 - |s - t - R(c, t, p)|) X(c, s, p): linear sampling
          along T, differentiable in R; R = +1 / -1 on 1/8 + 1/8 of C is TSM's shift::

    x (B*T, C, H, W) -+- [:C'] -+-> predictor (t / s / c) -> tanh * T -> R (B*T, C', H, W)
                      |         |      (spatial_agnostic: R averaged over H, W)      |
                      |         +-----> Y = X(c, t + R, p), linear in t <------------+
                      +- [C':] ------------------------------------------> cat -> (B*T, C, H, W)

Cost (R50, 8 x 224^2, TRM before conv1 of the 6 + 3 blocks of layer3/4). cTRM costs
C' T (HW)^2 kc kt multiply-adds per block; block 0 of a stage sees the previous stage's size
(the stride sits after the TRM), so per unit of kc kt and f = C'/C:
layer3.0 512f 8 784^2 = 2517.6 M f; layer3.1-5 5 1024f 8 196^2 = 1573.5 M f;
layer4.0 1024f 8 196^2 = 314.7 M f; layer4.1-2 2 2048f 8 49^2 = 78.7 M f; sum 4484.5 M f.
The paper's 44 G against TSM's 33 G leaves ~11 G, i.e. f kc kt ~ 2.5. With odd kernels over
both axes only f = 1/8, kc x kt = 3 x 7 (or 7 x 3) fits: 11.77 G, 32.88 + 11.77 = 44.65 G
(+1.5 %); f = 1/4 with 3 x 3 gives 10.09 G (42.97 G, -2.3 %), f = 1/4 with 5 x 5 28 G.
We take C' = C/8, kc = 3, kt = 7: the channel axis of a trained CNN has no order, so a wide
channel window means little, while the temporal window should see most of the clip to pick
an offset in [-T, T]. Parameters: (HW)^2 kc kt + HW per block, 17.85 M over the 9 blocks
(12.9 M in layer3.0 alone, 784^2 x 21), so TRM-R50 has ~42.2 M against TSM's 24.3 M.
sTRM and tTRM share kt = 7 (sTRM ks = 3): 14.6 G and 1.6 G at 8 x 224^2.

Choices the paper leaves open (none contradicts it):
- C' = C // fold_div, fold_div = 8 (above); fold_div = 4 makes TSM's 1/8 + 1/8 reachable by
  the module too. Kernel sizes above; the predictor is one conv with bias, zero padding.
- The predictors read only the first C' channels (Eqs. 6, 8, 10 sum c up to C'); Eq. 10's
  W_c^i drops the input-position index as Eq. 1 drops the channel one: a full HW -> HW conv.
- Initialisation: predictor weights and bias zero, so R = 0 and the module is the identity
  at the start (the paper inserts TRM into a trained TSN, Sec. 4.2, and says nothing of the
  predictor's start). Its weights learn through dL/dW = dL/dR' x X, dL/dR' = T dL/dR
  (tanh'(0) = 1), dL/dR = dL/dY (X(t+1) - X(t)): non-zero once gradient reaches Y, TRM's
  output, which feeds conv1 of the residual branch. In a trained trunk (pretrained, or the
  paper's two stages) it does at once. From scratch it does not on the first step: timm
  zero-initialises the last BN of every residual branch (``zero_init_last``: bn2 of
  BasicBlock, bn3 of Bottleneck), the branch's output is then a constant, dL/dY = 0, and the
  predictors get exactly zero gradient, like conv1, bn1 and conv2 of every block of any
  architecture here (TSN, TSM alike). That step moves the BN's weight off zero, and from the
  second step the predictors learn, their gradient growing with it (tests/blocks/
  test_trm.py). This start is not why from-scratch TRM trails the two-stage recipe: on the
  bench recipe (R18, 48 px, T = 4) the predictors' gradient is 0.37-0.54x that of conv1 in
  the same block from the second step on (conv1: a weight every module here learns from
  scratch; 0.44-2.8x with the BN at 1), and a trunk without the zero BN (``zero_init_last=False``)
  trains worse, not better: with the BN at 1 the first steps saturate tanh (max |R| = T, taps
  outside the clip, by step 5), and TSM's loss jumps as TRM's does (figures and commands:
  docs/measurements.md). We keep timm's zero BN, for TRM as for every module. Nor is it the
  identity start: the predictors at PyTorch's default conv init learn no faster (2 bench
  epochs: 30.3 % against 28.2 %, inside the noise; docs/measurements.md).
- Direction: the output at t samples X at t + R (Eq. 5; Eq. 13's left side indexes the
  output by t0 + tg, read as the value fetched for t0), so R = +1 is TSM's "shift left".
- Borders: X = 0 outside [0, T - 1] (Eq. 14's sum runs past the clip; TSM pads zeros).
- At integer positions the derivative in R is one-sided: X(t + R + 1) - X(t + R).
- spatial_agnostic (Table 5): R is averaged over H, W after tanh * T.
- sTRM / tTRM's 3D conv runs as a 2D conv over kt zero-padded, shifted copies of the frames
  stacked on channels (weight (C', kt*C', ks, ks), index k*C' + c = frame t + k - kt//2):
  the same sums, 1.9x (sTRM) and 1.2x (tTRM) faster than Conv3d on CPU.
- Sampling positions and tanh run in float32 (or float64) whatever the autocast dtype.
- Placement (registered as ``trm``): before conv1 on the residual branch of every block of
  layer3 and layer4, the same on BasicBlock trunks; cTRM of each block is built for that
  block's input size (``feature_size``, filled in from the model's ``input_size``: e.g. 28^2
  for layer3.0, 14^2 for layer3.1 at 224) and raises on another one.
"""

from __future__ import annotations

from typing import Literal, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_vid.blocks.ops import Recorder
from lightning_vid.trunk import register_block

TRMVariant = Literal["c", "s", "t"]


def temporal_relocation(x: Tensor, relocation: Tensor, num_segments: int) -> Tensor:
    """Eqs. (13)-(14): ``y[t] = x[t + R]`` per (channel, pixel), linear between frames.

    Args:
        x: ``(B*T, C, H, W)`` with the T frames of a clip consecutive.
        relocation: R, ``(B*T, C, H, W)`` or ``(B*T, C, 1, 1)`` (one offset per channel),
            in frames; positions outside ``[0, T-1]`` read zeros.
        num_segments: T.

    >>> x = torch.arange(4.).view(4, 1, 1, 1)  # T=4 frames, values 0..3
    >>> temporal_relocation(x, torch.tensor([1., 0.5, -1.5, 1.]).view(4, 1, 1, 1), 4).flatten()
    tensor([1.0000, 1.5000, 0.5000, 0.0000])
    """
    nt, c, h, w = x.shape
    x5 = x.view(-1, num_segments, c, h, w)  # (B, T, C, H, W)
    dtype = torch.promote_types(relocation.dtype, torch.float32)  # positions in >= float32
    frames = torch.arange(num_segments, device=x.device, dtype=dtype).view(-1, 1, 1, 1)
    rel = relocation.reshape(-1, num_segments, *relocation.shape[1:])  # (B, T, C, H|1, W|1)
    # (B, T, C, H, W): sampled time t + R; beyond [-1, T] both taps read zeros, so clamping
    # changes neither the value nor the gradient
    pos = (frames + rel.to(dtype)).clamp(-1, num_segments).expand(x5.shape)
    base = pos.detach().floor()
    frac = (pos - base).to(x.dtype)  # the path from R to the output
    lo = base.long() + 1  # the lower tap of Eq. (14), as an index into xp
    xp = F.pad(x5, (0, 0, 0, 0, 0, 0, 1, 2))  # (B, 1 + T + 2, C, H, W), zero frames around
    out = xp.gather(1, lo) * (1 - frac) + xp.gather(1, lo + 1) * frac  # (B, T, C, H, W)
    return out.view(nt, c, h, w)


@register_block("trm", placement="before_conv1", stages=(3, 4))
class TemporalRelocation(Recorder, nn.Module):
    """TRM: relocate the first ``channels // fold_div`` channels along T, offsets predicted.

    Args:
        channels: C.
        num_segments: T (R = tanh(R') * T).
        variant: ``"c"`` (cTRM, per-position kernels on the channel-time plane, default),
            ``"s"`` (sTRM, conv over T, H, W) or ``"t"`` (tTRM, conv over T).
        fold_div: C' = C // fold_div channels are relocated (8).
        feature_size: the H, W the block will see; required by cTRM (an int for square).
        temporal_kernel: kt, the predictor's kernel along T (7).
        channel_kernel: kc, cTRM's kernel along the channels (3).
        spatial_kernel: ks, sTRM's kernel along H and W (3).
        spatial_agnostic: average R over H, W (Table 5).

    Recorded (:class:`~lightning_vid.blocks.ops.Recorder`): R ``relocation``
    ``(B, T, C', H, W)``.

    >>> m = TemporalRelocation(64, num_segments=8, feature_size=7)
    >>> x = torch.randn(16, 64, 7, 7)
    >>> torch.equal(m(x), x)  # zero-initialised predictor: R = 0, the identity
    True
    """

    layouts = {"relocation": "B T C h w"}

    def __init__(
        self,
        channels: int,
        num_segments: int,
        *,
        variant: TRMVariant = "c",
        fold_div: int = 8,
        feature_size: Optional[Union[int, tuple[int, int]]] = None,
        temporal_kernel: int = 7,
        channel_kernel: int = 3,
        spatial_kernel: int = 3,
        spatial_agnostic: bool = False,
    ) -> None:
        super().__init__()
        if variant not in ("c", "s", "t"):
            raise ValueError(f"unknown variant {variant!r}; valid: c, s, t")
        if any(k % 2 == 0 for k in (temporal_kernel, channel_kernel, spatial_kernel)):
            raise ValueError("temporal_kernel, channel_kernel and spatial_kernel must be odd")
        self.relocated = channels // fold_div
        if self.relocated < 1:
            raise ValueError(f"fold_div={fold_div} relocates no channel out of {channels}")
        self.channels, self.num_segments, self.variant = channels, num_segments, variant
        self.fold_div, self.spatial_agnostic = fold_div, spatial_agnostic
        self.feature_size: Optional[tuple[int, int]] = None
        kt = temporal_kernel
        if variant == "c":
            if feature_size is None:
                raise ValueError("cTRM (variant='c') needs feature_size: its kernels are per pixel")
            fs = (feature_size, feature_size) if isinstance(feature_size, int) else feature_size
            self.feature_size = (int(fs[0]), int(fs[1]))
            hw = self.feature_size[0] * self.feature_size[1]
            self.predictor: nn.Module = nn.Conv2d(
                hw, hw, (channel_kernel, kt), padding=(channel_kernel // 2, kt // 2)
            )
        else:  # a (kt, ks, ks) conv over (T, H, W) as a 2D conv over kt stacked frames
            ks = spatial_kernel if variant == "s" else 1
            self.predictor = nn.Conv2d(kt * self.relocated, self.relocated, ks, padding=ks // 2)
        self.temporal_kernel = kt
        nn.init.zeros_(self.predictor.weight)
        nn.init.zeros_(self.predictor.bias)

    def relocation(self, x: Tensor) -> Tensor:
        """R = tanh(R') * T from the relocated channels ``(B*T, C', H, W)``, same shape."""
        nt, cr, h, w = x.shape
        t = self.num_segments
        x5 = x.view(-1, t, cr, h, w)  # (B, T, C', H, W)
        if self.variant == "c":  # Eq. (10): positions are the channels, (C', T) the plane
            z = x5.permute(0, 3, 4, 2, 1).reshape(-1, h * w, cr, t)  # (B, H*W, C', T)
            z = self.predictor(z).view(-1, h, w, cr, t)  # (B, H*W, C', T) -> (B, H, W, C', T)
            z = z.permute(0, 4, 3, 1, 2)  # (B, T, C', H, W)
        else:  # Eqs. (6), (8): a (kt, ks, ks) conv over (T, H, W), C' -> C', zero padding
            kt = self.temporal_kernel
            xp = F.pad(x5, (0, 0, 0, 0, 0, 0, kt // 2, kt // 2))  # (B, T + kt - 1, C', H, W)
            z = torch.cat([xp[:, k : k + t] for k in range(kt)], dim=2)  # (B, T, kt*C', H, W)
            z = self.predictor(z.flatten(0, 1)).view(-1, t, cr, h, w)  # (B, T, C', H, W)
        z = z.to(torch.promote_types(z.dtype, torch.float32))
        rel = torch.tanh(z) * t  # (B, T, C', H, W), Eqs. (7), (9), (11)
        if self.spatial_agnostic:
            rel = rel.mean(dim=(3, 4), keepdim=True)  # (B, T, C', 1, 1)
        return rel.reshape(nt, cr, *rel.shape[3:])  # (B*T, C', H|1, W|1)

    def forward(self, x: Tensor) -> Tensor:
        nt, c, h, w = x.shape
        if nt % self.num_segments:
            raise ValueError(f"{nt} frames is not a multiple of num_segments={self.num_segments}")
        if self.feature_size is not None and (h, w) != self.feature_size:
            raise ValueError(
                f"cTRM was built for {self.feature_size[0]}x{self.feature_size[1]} feature maps "
                f"(its kernels are per pixel) but got {h}x{w}; build the model with the "
                "input_size it will see"
            )
        xr, rest = x[:, : self.relocated], x[:, self.relocated :]  # (B*T, C', H, W), the rest
        rel = self.relocation(xr)
        if self.record:
            full = rel.expand(nt, self.relocated, h, w)  # (B*T, C', H, W)
            self.remember(relocation=full.reshape(-1, self.num_segments, *full.shape[1:]))
        return torch.cat((temporal_relocation(xr, rel, self.num_segments), rest), dim=1)

    def extra_repr(self) -> str:
        size = "" if self.feature_size is None else f", feature_size={self.feature_size}"
        return (
            f"{self.channels}, num_segments={self.num_segments}, variant={self.variant!r}, "
            f"fold_div={self.fold_div}{size}, spatial_agnostic={self.spatial_agnostic}"
        )
