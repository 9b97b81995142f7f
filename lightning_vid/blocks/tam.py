"""TAM: Temporal Adaptive Module (the block of TANet).

Paper: Z. Liu, L. Wang, W. Wu, C. Qian, T. Lu, "TAM: Temporal Adaptive Module for Video
Recognition", ICCV 2021 (arXiv 2005.06803). Authors' code: liu-zhy/temporal-adaptive-module
(ops/temporal_module.py), Apache-2.0; reference-notes.md sections 4 and 11.

Equations (numbered in order of appearance in Sec. 3), on one clip X of shape (C, T, H, W):
(1) X^ = phi(X), the spatial mean, (C, T);
(2) Y = G(X^) (x) (L(X^) . X), "(x)" a per-channel temporal convolution, "." elementwise;
(3) V = L(X^) = sigmoid(Conv1d_1(ReLU(BN(Conv1d_3(X^))))), C -> C/beta -> C, Z = V . X;
(4) Theta_c = softmax(W2 ReLU(BN(W1 X^_c))), W1: T -> alpha*T, W2: alpha*T -> K;
(7) Y[c, t] = sum_k Theta[c, k] Z[c, t + k - K//2], zero padding in time.
TANet-R (Sec. 4.3): Y = L(X^) . (G(X^) (x) X). Branch-only rows of the ablation (Table 2):
Y = G(X^) (x) X ("global") and Y = L(X^) . X ("local")::

    x (B*T, C, H, W) -mean HW-> X^ (B, C, T) -+-> L: Conv1d k3 C -> C/beta, BN, ReLU,
      |                                       |      Conv1d k1 -> C, sigmoid ----> V (B, C, T)
      |                                       +-> G: each (b, c) row: Linear T -> alpha*T, BN,
      |                                              ReLU, Linear -> K, softmax -> Theta (B, C, K)
      |       W[b, t, c, k] = Theta[b, c, k] * V[b, c, t + k - K//2]   (TANet-R: * V[b, c, t])
      +-----> y[b, t, c] = sum_k W[b, t, c, k] * x[b, t + k - K//2, c] --> y (B*T, C, H, W)

Multiply-adds per clip: L C^2 T, G (alpha T^2 + alpha T K) C, aggregation T C H W K (elementwise,
so fvcore does not count it: 0.046 G over the 16 blocks of R50 at 8x224^2, 0.060 G at 256^2).

Departures (the code is followed where it and the paper disagree, unless stated):
- G has a BatchNorm1d(alpha*T) between its Linear layers as in the code; eq. (4) has none
  (``global_bn=False`` gives the paper's form). BN in G normalises over the B*C rows, so in
  training mode samples share statistics, as in the code (eval mode is batch independent).
- L's first Conv1d has kernel 3 (``local_kernel_size``), independent of K; the code ties it to
  K (set ``local_kernel_size=kernel_size`` for that), mmaction2 keeps it at 3. Table 1b varies
  only Theta's K. L's second Conv1d has kernel 1 (code; the paper leaves it open).
- The aggregation pads K//2 frames each side for any odd K; the code pads 1 whatever K is,
  which breaks the output length for K = 5.
- The code permutes to (1, B*C, T, H*W) and runs a grouped conv2d with groups = B*C. Here V
  and Theta fold into one location-sensitive kernel W (B, T, C, K), applied with K shifted
  multiply-adds in the (B, T, C, H, W) layout, backward written by hand: the same values,
  no permute copies (first-order gradients only). While a graph is captured (torch.compile,
  torch.export and ONNX: ``lightning_vid/export.py``; legacy TorchScript) the same sum runs
  out of place, without the autograd Function (not serialisable) or ``unfold`` (not
  exportable with a dynamic batch): ``ops.exportable``.
- Initialisation: PyTorch defaults as in the code (the paper is silent): not identity, the
  kernel starts near uniform and V near 0.5. Variants "tanet_r", "global", "local" are the
  paper's ablations; the code has none of them. No temporal stride.

Placement (registered as ``tam``): after conv1 -> bn1 -> act1 of every
block of res2..res5 (16 in ResNet-50; on a BasicBlock after its first 3x3), as the code.
"""

from __future__ import annotations

from typing import Iterator, Literal, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from lightning_vid.blocks.ops import Recorder, exportable
from lightning_vid.trunk import register_block

TAMVariant = Literal["tanet", "tanet_r", "global", "local"]


def _taps(num_frames: int, k_size: int) -> Iterator[tuple[int, int, int, int]]:
    """``(k, lo, hi, s)``: tap k maps input frames ``t + s`` to output frames ``t in [lo, hi)``."""
    for k in range(k_size):
        s = k - k_size // 2
        yield k, max(0, -s), num_frames - max(0, s), s


def _shifted_mac(x: Tensor, weight: Tensor) -> Tensor:
    """``y[:, t] = sum_k weight[:, t, :, k] * x[:, t + k - K//2]``, zero outside ``[0, T)``."""
    w = weight[..., None, None]  # (B, T, C, K, 1, 1)
    y = x * w[:, :, :, weight.shape[-1] // 2]  # (B, T, C, H, W)
    for k, lo, hi, s in _taps(x.shape[1], weight.shape[-1]):
        if s:
            y[:, lo:hi].addcmul_(w[:, lo:hi, :, k], x[:, lo + s : hi + s])
    return y


def _shifted_sum(x: Tensor, weight: Tensor) -> Tensor:
    """:func:`_shifted_mac` out of place (zero-padded frames), for TorchScript / ONNX export."""
    k_size, num_frames = weight.shape[-1], x.shape[1]
    pad = k_size // 2
    xp = F.pad(x, (0, 0, 0, 0, 0, 0, pad, pad))  # (B, T + 2p, C, H, W)
    w = weight[..., None, None]  # (B, T, C, K, 1, 1)
    return sum(xp[:, k : k + num_frames] * w[:, :, :, k] for k in range(k_size))


class _AdaptiveTemporalConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor) -> Tensor:  # x (B, T, C, H, W), weight (B, T, C, K)
        ctx.save_for_backward(x, weight)
        return _shifted_mac(x, weight)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Optional[Tensor], Optional[Tensor]]:
        x, weight = ctx.saved_tensors
        k_size = weight.shape[-1]
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:  # the transposed conv: taps flipped, weights moved by s
            flipped = weight.new_zeros(weight.shape)
            for k, lo, hi, s in _taps(x.shape[1], k_size):
                flipped[:, lo + s : hi + s, :, k_size - 1 - k] = weight[:, lo:hi, :, k]
            grad_x = _shifted_mac(grad, flipped)
        if ctx.needs_input_grad[1]:
            grad_w = weight.new_zeros(weight.shape)
            for k, lo, hi, s in _taps(x.shape[1], k_size):
                grad_w[:, lo:hi, :, k] = (grad[:, lo:hi] * x[:, lo + s : hi + s]).sum((-2, -1))
        return grad_x, grad_w


@exportable(_shifted_sum)
def _aggregate(x: Tensor, weight: Tensor) -> Tensor:
    """Eq. (7) with per-frame kernels ``weight`` ``(B, T, C, K)`` on ``x`` ``(B, T, C, H, W)``."""
    return _AdaptiveTemporalConv.apply(x, weight)


def _frame_taps_traced(vp: Tensor, num_segments: int, k_size: int) -> Tensor:
    return torch.stack([vp[:, k : k + num_segments] for k in range(k_size)], dim=-1)


@exportable(_frame_taps_traced)
def _frame_taps(vp: Tensor, num_segments: int, k_size: int) -> Tensor:
    """``(B, T + K - 1, C)`` -> ``(B, T, C, K)``: the K values each output frame's taps read
    (``unfold``, which does not export with a dynamic batch, hence the traced twin)."""
    return vp.unfold(1, num_segments, 1).permute(0, 3, 2, 1)


def temporal_adaptive(
    x: Tensor,
    num_segments: int,
    kernel: Optional[Tensor] = None,
    importance: Optional[Tensor] = None,
    reverse: bool = False,
) -> Tensor:
    """TAM's aggregation: eq. (7) on ``V . X`` (or ``V . (Theta (x) X)`` when ``reverse``).

    Args:
        x: ``(B*T, C, H, W)`` with the T frames of a clip consecutive.
        num_segments: T.
        kernel: Theta ``(B, C, K)``, K odd; ``None`` skips the convolution (local only).
        importance: V ``(B, C, T)``; ``None`` skips the excitation (global only).
        reverse: excite after the convolution (TANet-R) instead of before.

    >>> x = torch.arange(3.).view(3, 1, 1, 1)  # one clip, T=3, C=1
    >>> temporal_adaptive(x, 3, kernel=torch.tensor([[[1., 0., 0.]]])).flatten()  # y[t] = x[t-1]
    tensor([0., 0., 1.])
    """
    nt, c, h, w = x.shape
    x = x.view(-1, num_segments, c, h, w)  # (B, T, C, H, W)
    v = None if importance is None else importance.transpose(1, 2)  # (B, C, T) -> (B, T, C)
    if kernel is None:
        if v is None:
            raise ValueError("temporal_adaptive needs a kernel, an importance map or both")
        return (x * v[..., None, None]).view(nt, c, h, w)  # (B*T, C, H, W)
    if kernel.shape[-1] % 2 == 0:
        raise ValueError(f"the kernel size K must be odd, got {kernel.shape[-1]}")
    theta = kernel[:, None]  # (B, 1, C, K)
    if v is None:
        weight = theta.expand(-1, num_segments, -1, -1)  # (B, T, C, K)
    elif reverse:
        weight = theta * v[..., None]  # (B, T, C, K): V[t] Theta[k]
    else:  # V at the frame each tap reads: (B, T + 2p, C) unfolded to (B, T, C, K)
        pad = kernel.shape[-1] // 2
        vp = F.pad(v, (0, 0, pad, pad))  # (B, T + 2p, C)
        weight = theta * _frame_taps(vp, num_segments, kernel.shape[-1])  # (B, T, C, K)
    y = _aggregate(x, weight.to(x.dtype))  # (B, T, C, H, W)
    return y.view(nt, c, h, w)  # (B*T, C, H, W)


@register_block("tam", placement="after_conv1")
class TemporalAdaptiveModule(Recorder, nn.Module):
    """TAM as a module, ``(B*T, C, H, W)`` -> ``(B*T, C, H, W)``; T is baked into G.

    Args:
        channels: C.
        num_segments: T (G's first Linear takes T inputs).
        kernel_size: K, the size of the adaptive kernel Theta (odd; paper 3).
        alpha: G's hidden width is ``alpha * T`` (paper 2).
        beta: L reduces C to ``C // beta`` (paper 4).
        variant: ``"tanet"`` (eq. 2), ``"tanet_r"`` (TANet-R), ``"global"`` (G only) or
            ``"local"`` (L only); the branch a variant does not use is not built.
        local_kernel_size: kernel of L's first Conv1d (3; the code uses K).
        global_bn: BatchNorm1d inside G (code: True; eq. 4: False).

    Recorded (:class:`~lightning_vid.blocks.ops.Recorder`): Theta ``kernel`` ``(B, C, K)`` and
    V ``importance`` ``(B, C, T)``.

    >>> m = TemporalAdaptiveModule(64, num_segments=8)
    >>> m(torch.randn(16, 64, 7, 7)).shape
    torch.Size([16, 64, 7, 7])
    """

    layouts = {"kernel": "B C K", "importance": "B C T"}

    def __init__(
        self,
        channels: int,
        num_segments: int,
        *,
        kernel_size: int = 3,
        alpha: int = 2,
        beta: int = 4,
        variant: TAMVariant = "tanet",
        local_kernel_size: int = 3,
        global_bn: bool = True,
    ) -> None:
        super().__init__()
        if variant not in ("tanet", "tanet_r", "global", "local"):
            raise ValueError(f"unknown variant {variant!r}; valid: tanet, tanet_r, global, local")
        if kernel_size % 2 == 0 or local_kernel_size % 2 == 0:
            raise ValueError("kernel_size and local_kernel_size must be odd")
        if channels // beta < 1 or alpha < 1:
            raise ValueError(f"need alpha >= 1 and beta <= channels, got {alpha}, {beta}")
        self.channels, self.num_segments, self.variant = channels, num_segments, variant
        self.kernel_size, self.alpha, self.beta = kernel_size, alpha, beta
        self.global_branch: Optional[nn.Module] = None
        self.local_branch: Optional[nn.Module] = None
        hidden = alpha * num_segments
        if variant != "local":  # eq. (4), applied to each of the B*C rows of length T
            self.global_branch = nn.Sequential(
                nn.Linear(num_segments, hidden, bias=False),
                nn.BatchNorm1d(hidden) if global_bn else nn.Identity(),
                nn.ReLU(inplace=True),
                nn.Linear(hidden, kernel_size, bias=False),
                nn.Softmax(dim=-1),
            )
        if variant != "global":  # eq. (3), Conv1d over T with channels C
            reduced = channels // beta
            self.local_branch = nn.Sequential(
                nn.Conv1d(channels, reduced, local_kernel_size, padding=local_kernel_size // 2,
                          bias=False),
                nn.BatchNorm1d(reduced),
                nn.ReLU(inplace=True),
                nn.Conv1d(reduced, channels, 1, bias=False),
                nn.Sigmoid(),
            )

    def forward(self, x: Tensor) -> Tensor:
        nt, c, h, w = x.shape
        t = self.num_segments
        if nt % t:
            raise ValueError(
                f"{type(self).__name__} was built for num_segments={t} (baked into its Linear "
                f"layers) but got {nt} frames, not a multiple of {t}"
            )
        pooled = x.sum((2, 3)).div_(h * w)  # eq. (1), (B*T, C); sum: a cheaper backward than mean
        pooled = pooled.view(-1, t, c).transpose(1, 2)  # (B, T, C) -> (B, C, T)
        kernel = importance = None
        if self.global_branch is not None:
            rows = pooled.reshape(-1, t)  # (B*C, T): one row per clip and channel
            kernel = self.global_branch(rows).view(-1, c, self.kernel_size)  # (B, C, K)
        if self.local_branch is not None:
            importance = self.local_branch(pooled)  # (B, C, T)
        if self.record:
            self.remember(kernel=kernel, importance=importance)
        return temporal_adaptive(x, t, kernel, importance, reverse=self.variant == "tanet_r")

    def extra_repr(self) -> str:
        return (
            f"{self.channels}, num_segments={self.num_segments}, kernel_size={self.kernel_size}, "
            f"alpha={self.alpha}, beta={self.beta}, variant={self.variant!r}"
        )
