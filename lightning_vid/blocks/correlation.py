"""Local correlation and kernel soft-argmax in pure PyTorch (CPU and GPU, no extension).

Shared by the correlation-based blocks (TCM, and any MotionSqueeze-style block).

Papers: Y. Liu, Z. Tu et al., "Slow-Fast Visual Tempo Learning for Video-based Action
Recognition" (TCM), Eqs. 1-5; H. Kwon et al., "MotionSqueeze", ECCV 2020 (the match
estimation TCM reuses). The authors' code calls the CUDA extension
``spatial_correlation_sampler`` (ClementPinard/Pytorch-Correlation-extension, MIT);
reference-notes.md section 8.3 gives its exact semantics, reproduced here.

Letters: N a batch of feature-map pairs (``B*2(T-1)`` in TCM), C, H, W as in DESIGN.md,
D = 2R+1 displacements per axis.

- :func:`local_correlation`, Eqs. 1-2: ``corr[n, i*D + j, y, x] = sum_c f1[n, c, y, x] *
  f2[n, c, y + i - R, x + j - R]``, zero outside the map, no 1/C scaling; ``i`` is the
  vertical offset. It loops over the D vertical offsets; each step is one batched matmul of
  a row of ``f1`` (W x C) with the matching zero-padded row of ``f2`` (C x (W+2R)), whose
  D-wide diagonal band is read through a strided view. No unfold of every displacement:
  the forward's peak is about twice the returned volume (the volume, plus the re-laid-out
  inputs and one row product: 2.1x at 28x28, 2.3x at 56x56, C=64, R=7); a hand-written
  backward does two band products per offset. The matmuls compute ``(W+2R)/D`` times the
  MACs strictly needed, ``N * D^2 * C * H * W`` (2.8x at 28x28, R=7), cheap as matmuls.
  While a graph is captured (torch.compile, whose functionalisation cannot take the
  backward's writes through an ``as_strided`` view; torch.export and ONNX; legacy
  ``torch.jit`` tracing and fvcore's counter) an out-of-place path of the same values runs
  instead: D matmuls of every padded row, ``D * N * H * W * C * (W+2R)``
  MACs as fvcore counts them.
- :func:`dense_local_correlation`: the direct reference (all-pairs matmul, then a gather of
  the window), O((HW)^2) memory, for tests and ``scripts/bench_correlation.py``.
- :func:`kernel_soft_argmax`, Eqs. 3-5: displacement ``(u, v)`` by a softmax over the D^2
  displacements of ``g * corr / tau``, ``g`` a Gaussian centred on the hard argmax, then the
  marginal expectations, divided by R (so in [-1, 1]); confidence = max correlation (Eq. 5).
  Departure (choose with ``gaussian``): the authors' code uses
  ``g = exp(-|p - argmax|^2 / (2 sigma^2))`` ("code", default); Eq. 4 writes
  ``exp(-|p - argmax|^2 / sigma^2) / (sqrt(2 pi) sigma)`` ("paper"), whose normaliser alone
  scales the effective temperature by ~12.5 at sigma = 5.
"""

from __future__ import annotations

import math
from typing import Iterator, Literal

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from lightning_vid.blocks.ops import exportable

Gaussian = Literal["code", "paper"]


def _offsets(radius: int, h: int) -> Iterator[tuple[int, int, int, int]]:
    """``(i, dy, y0, y1)`` per vertical offset: rows ``y0..y1`` of f1 meet rows ``+dy`` of f2."""
    for i in range(2 * radius + 1):
        dy = i - radius
        y0, y1 = max(0, -dy), min(h, h - dy)
        if y0 < y1:
            yield i, dy, y0, y1


class _LocalCorrelation(torch.autograd.Function):
    @staticmethod
    def forward(ctx, f1: Tensor, f2: Tensor, radius: int) -> Tensor:
        n, c, h, w = f1.shape
        d, wp = 2 * radius + 1, w + 2 * radius
        a = f1.permute(2, 0, 3, 1).contiguous()  # (N, C, H, W) -> (H, N, W, C)
        b = F.pad(f2, (radius, radius)).permute(2, 0, 1, 3).contiguous()  # (H, N, C, W+2R)
        out = f1.new_zeros(n, h, w, d, d)  # (N, H, W, D, D); rows outside the map stay 0
        for i, dy, y0, y1 in _offsets(radius, h):
            hv = y1 - y0
            rows1 = a[y0:y1].view(hv * n, w, c)  # (hv*N, W, C)
            rows2 = b[y0 + dy : y1 + dy].view(hv * n, c, wp)  # (hv*N, C, W+2R)
            prod = torch.bmm(rows1, rows2)  # (hv*N, W, W+2R)
            # band[y, n, x, j] = prod[y, n, x, x + j]: the D displacements of pixel x
            band = prod.as_strided((hv, n, w, d), (n * w * wp, w * wp, wp + 1, 1))
            out[:, y0:y1, :, i].copy_(band.transpose(0, 1))  # (N, hv, W, D)
        ctx.save_for_backward(a, b)
        ctx.radius = radius
        # (N, H, W, D*D) -> (N, D*D, H, W), channels-last memory: displacements contiguous
        return out.view(n, h, w, d * d).permute(0, 3, 1, 2)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        a, b = ctx.saved_tensors
        radius = ctx.radius
        h, n, w, c = a.shape
        d, wp = 2 * radius + 1, w + 2 * radius
        grad = grad.permute(0, 2, 3, 1).reshape(n, h, w, d, d)  # (N, H, W, D, D)
        ga, gb = torch.zeros_like(a), torch.zeros_like(b)
        full = a.new_zeros(h * n, w, wp)  # (H*N, W, W+2R); only the band is ever written
        for i, dy, y0, y1 in _offsets(radius, h):
            hv = y1 - y0
            g = full[: hv * n]  # (hv*N, W, W+2R)
            band = g.as_strided((hv, n, w, d), (n * w * wp, w * wp, wp + 1, 1))
            band.copy_(grad[:, y0:y1, :, i].transpose(0, 1))  # (hv, N, W, D)
            rows1 = a[y0:y1].view(hv * n, w, c)  # (hv*N, W, C)
            rows2 = b[y0 + dy : y1 + dy].view(hv * n, c, wp)  # (hv*N, C, W+2R)
            ga[y0:y1].view(hv * n, w, c).baddbmm_(g, rows2.transpose(1, 2))
            gb[y0 + dy : y1 + dy].view(hv * n, c, wp).baddbmm_(rows1.transpose(1, 2), g)
        # (H, N, W, C) and (H, N, C, W+2R) -> (N, C, H, W), dropping f2's width padding
        return ga.permute(1, 3, 0, 2), gb[..., radius : radius + w].permute(1, 2, 0, 3), None


def _correlation_by_shifts(f1: Tensor, f2: Tensor, radius: int) -> Tensor:
    """:func:`local_correlation` with plain ops only, for TorchScript / ONNX export: per
    vertical offset, the row products of ``f1`` and the zero-padded ``f2`` (one matmul),
    whose D-wide band is gathered (the fast path's strided view does not export)."""
    n, c, h, w = f1.shape
    d = 2 * radius + 1
    a = f1.permute(0, 2, 3, 1)  # (N, H, W, C)
    f2p = F.pad(f2, (radius, radius, radius, radius)).permute(0, 2, 1, 3)  # (N, H+2R, C, W+2R)
    band = (torch.arange(w, device=f1.device)[:, None]
            + torch.arange(d, device=f1.device)).expand(n, h, w, d)  # (N, H, W, D): x + j
    rows = [torch.gather(torch.matmul(a, f2p[:, i : i + h]), 3, band)  # (N, H, W, D)
            for i in range(d)]
    return torch.stack(rows, 3).flatten(3).permute(0, 3, 1, 2)  # (N, D*D, H, W)


@exportable(_correlation_by_shifts)
def local_correlation(f1: Tensor, f2: Tensor, radius: int) -> Tensor:
    """Correlation of ``f1`` with ``f2`` in a ``(2R+1)^2`` window (Eqs. 1-2).

    Args:
        f1, f2: ``(N, C, H, W)`` feature maps of the N pairs.
        radius: R, the largest displacement per axis.

    Returns:
        ``(N, (2R+1)^2, H, W)``, channels-last in memory (the displacements of a pixel are
        contiguous); channel ``i*(2R+1) + j`` holds displacement ``(dy, dx) = (i - R, j - R)``.
        Differentiable once (the backward is hand-written).

    >>> f = torch.randn(2, 8, 5, 5)
    >>> corr = local_correlation(f, f, radius=1)
    >>> corr.shape, torch.allclose(corr[:, 4], f.square().sum(1))  # centre = (0, 0)
    (torch.Size([2, 9, 5, 5]), True)
    """
    if f1.dim() != 4 or f1.shape != f2.shape:
        raise ValueError(f"expected two equal (N, C, H, W) maps, got {f1.shape} and {f2.shape}")
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    return _LocalCorrelation.apply(f1, f2, radius)


def dense_local_correlation(f1: Tensor, f2: Tensor, radius: int) -> Tensor:
    """The direct reference of :func:`local_correlation`: all ``(HW)^2`` products by one
    matmul, then a gather of each pixel's window (zero outside the map)."""
    n, c, h, w = f1.shape
    d = 2 * radius + 1
    full = torch.bmm(f1.flatten(2).transpose(1, 2), f2.flatten(2))  # (N, H*W, H*W)
    full = full.view(n, h, w, h, w)  # (N, H, W, H, W): f1 pixel, then f2 pixel
    y = torch.arange(h, device=f1.device).view(1, 1, h, 1)
    x = torch.arange(w, device=f1.device).view(1, 1, 1, w)
    disp = torch.arange(d, device=f1.device) - radius
    y2, x2 = y + disp.view(d, 1, 1, 1), x + disp.view(1, d, 1, 1)  # (D, D, H, W) each
    inside = (y2 >= 0) & (y2 < h) & (x2 >= 0) & (x2 < w)
    out = full[:, y, x, y2.clamp(0, h - 1), x2.clamp(0, w - 1)] * inside  # (N, D, D, H, W)
    return out.reshape(n, d * d, h, w)


def kernel_soft_argmax(
    corr: Tensor,
    radius: int,
    sigma: float = 5.0,
    tau: float = 0.01,
    gaussian: Gaussian = "code",
) -> tuple[Tensor, Tensor]:
    """Match estimation (Eqs. 3-5) on a correlation volume.

    Args:
        corr: ``(N, (2R+1)^2, H, W)`` from :func:`local_correlation`.
        radius: R.
        sigma: the Gaussian's standard deviation, in displacement steps.
        tau: the softmax temperature (divides, Eq. 3); the code's "x 100".
        gaussian: ``"code"`` or ``"paper"`` kernel (see the module docstring).

    Returns:
        ``(flow, confidence)``: ``(N, 2, H, W)`` with ``(u, v) = (dx, dy) / R`` and
        ``(N, 1, H, W)`` the maximum correlation.

    >>> corr = torch.zeros(1, 9, 1, 1); corr[0, 2 * 3 + 1] = 1.0  # (dy, dx) = (1, 0)
    >>> flow, conf = kernel_soft_argmax(corr, radius=1)
    >>> flow.flatten().tolist(), conf.item()
    ([0.0, 1.0], 1.0)
    """
    n, dd, h, w = corr.shape
    d = 2 * radius + 1
    if dd != d * d:
        raise ValueError(f"expected {d * d} displacement channels for R={radius}, got {dd}")
    if gaussian == "code":
        scale, norm = 2 * sigma**2, 1.0
    elif gaussian == "paper":
        scale, norm = sigma**2, 1.0 / (math.sqrt(2 * math.pi) * sigma)
    else:
        raise ValueError(f"gaussian must be 'code' or 'paper', got {gaussian!r}")
    corr = corr.permute(0, 2, 3, 1)  # (N, H, W, D*D), free for local_correlation's output
    best = corr.detach().argmax(-1, keepdim=True)  # (N, H, W, 1): hard argmax, no gradient
    steps = torch.arange(d, device=corr.device, dtype=corr.dtype)  # (D,)
    dy = steps - torch.div(best, d, rounding_mode="floor")  # (N, H, W, D)
    dx = steps - best.remainder(d)  # (N, H, W, D)
    # separable Gaussian around the argmax; 1/tau and the normaliser folded into its x factor
    gy = dy.square_().div_(-scale).exp_().unsqueeze(-1)  # (N, H, W, D, 1)
    gx = dx.square_().div_(-scale).exp_().mul_(norm / tau).unsqueeze(-2)  # (N, H, W, 1, D)
    kernel = (gy * gx).view(n, h, w, dd)  # (N, H, W, D*D)
    prob = F.softmax(corr * kernel, dim=-1).view(n, h, w, d, d)  # (N, H, W, D dy, D dx)
    disp = (steps - radius) / max(radius, 1)  # (D,), in [-1, 1]
    u = (prob.sum(-2) * disp).sum(-1)  # marginal over dy -> E[dx] / R: (N, H, W)
    v = (prob.sum(-1) * disp).sum(-1)  # marginal over dx -> E[dy] / R: (N, H, W)
    confidence = corr.gather(-1, best)  # (N, H, W, 1), Eq. 5: the correlation at the argmax
    return torch.stack((u, v), 1), confidence.permute(0, 3, 1, 2)  # (N, 2|1, H, W)
