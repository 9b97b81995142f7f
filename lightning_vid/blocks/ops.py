"""Operations two or more temporal blocks share, each written once.

- :func:`exportable`: the one mechanism for eager / graph-captured dual paths. Blocks train
  with in-place slice updates or a Python autograd Function (fast, little memory); while a
  graph is captured (``torch.compile``, ``torch.export`` and the ONNX exporter built on it,
  legacy ``torch.jit.trace``, fvcore's counter) the decorated function calls its
  out-of-place twin instead, which computes the same values. Compile needs it: TCM's
  correlation writes its backward through an ``as_strided`` view, which AOTAutograd cannot
  functionalise ("mutation on a view chain ... as_strided() ... banned in compile"), and the
  twins are plain ops that the compiler can fuse.
- :func:`temporal_conv` and :class:`TemporalConv`: a depthwise conv over T, kernel 3, zero
  padding, initialised as the identity or as TSM's shift (TEA's MTA, TDN's temporal conv).
- :func:`temporal_difference`: ``x_other(t + step) - x(t)`` per clip, zero where ``t + step``
  leaves the clip (TEA's Eq. 2, TDN's forward and backward differences).
- :func:`conv_bn_act`: conv, BatchNorm, ReLU as a list for ``nn.Sequential``;
  :func:`init_fan_out`: the kaiming-normal (fan-out) start of the authors' conv layers.
- :class:`Recorder`: the ``record`` / ``last_outputs`` interface of the blocks whose inner
  tensors the callbacks draw, with the layout of each recorded tensor declared
  (``lightning_vid/viz/interpret.py`` reads it).

Letters of DESIGN.md: B clips, T segments, C channels, H, W the feature map.
"""

from __future__ import annotations

import functools
from typing import Callable, ClassVar, Optional, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Fn = TypeVar("Fn", bound=Callable[..., Tensor])


def capturing() -> bool:
    """Whether a graph is being captured: ``torch.compile`` or ``torch.export`` (Dynamo, or
    non-strict export), or ``torch.jit.trace``."""
    return (torch.compiler.is_compiling() or torch.compiler.is_exporting()
            or torch.jit.is_tracing())


def exportable(traced: Callable[..., Tensor]) -> Callable[[Fn], Fn]:
    """Decorator: call ``traced`` (the same arguments, the same values, out of place and
    without Python autograd Functions) instead of the decorated function while a graph is
    captured: ``torch.compile`` / ``torch.export`` (:func:`capturing`) or ``torch.jit.trace``.

    >>> def twice_traced(x): return x + x
    >>> @exportable(twice_traced)
    ... def twice(x): return x.mul_(2)
    >>> twice(torch.ones(2)).tolist()
    [2.0, 2.0]
    """

    def decorate(eager: Fn) -> Fn:
        @functools.wraps(eager)
        def dispatch(*args, **kwargs):
            return (traced if capturing() else eager)(*args, **kwargs)

        return dispatch  # type: ignore[return-value]

    return decorate


def _temporal_conv_traced(x: Tensor, weight: Tensor, num_segments: int) -> Tensor:
    nt, c, h, w = x.shape
    x5 = x.view(-1, num_segments, c, h, w)  # (B, T, C, H, W)
    w0, w1, w2 = weight.view(c, 3, 1, 1).unbind(1)  # each (C, 1, 1)
    xp = F.pad(x5, (0, 0, 0, 0, 0, 0, 1, 1))  # (B, T+2, C, H, W), zero frames at both ends
    return (xp[:, :-2] * w0 + x5 * w1 + xp[:, 2:] * w2).view(nt, c, h, w)


@exportable(_temporal_conv_traced)
def temporal_conv(x: Tensor, weight: Tensor, num_segments: int) -> Tensor:
    """Depthwise conv over T with zero padding: ``y[t] = w0 x[t-1] + w1 x[t] + w2 x[t+1]``.

    Args:
        x: ``(B*T, C, H, W)``.
        weight: ``(C, 1, 3)``, the layout of ``nn.Conv1d(C, C, 3, padding=1, groups=C)``
            applied to ``(B*H*W, C, T)``, which gives the same values.
        num_segments: T.

    Computed as per-channel multiply-adds of time-shifted views of ``(B, T, C, H, W)``, in
    place on slices (no permutes, no copies); fvcore does not count these MACs.

    >>> x = torch.arange(4.).view(4, 1, 1, 1)  # one clip, T=4, C=1
    >>> temporal_conv(x, torch.tensor([[[0., 0., 1.]]]), num_segments=4).flatten()  # from t+1
    tensor([1., 2., 3., 0.])
    """
    nt, c, h, w = x.shape
    x5 = x.view(-1, num_segments, c, h, w)  # (B, T, C, H, W)
    w0, w1, w2 = weight.view(c, 3, 1, 1).unbind(1)  # each (C, 1, 1)
    y = x5 * w1
    y[:, 1:].addcmul_(x5[:, :-1], w0)  # frames 1..T-1 from t-1 (frame 0 sees the zero pad)
    y[:, :-1].addcmul_(x5[:, 1:], w2)  # frames 0..T-2 from t+1
    return y.view(nt, c, h, w)


class TemporalConv(nn.Module):
    """:func:`temporal_conv` with a learnable ``(C, 1, 3)`` weight.

    Args:
        channels: C.
        num_segments: T.
        fold_div: ``None``: the identity ``[0, 1, 0]``. Otherwise TSM's shift with
            ``fold = C // fold_div``: channels ``[0, fold)`` take ``t+1`` (``[0, 0, 1]``),
            ``[fold, 2*fold)`` take ``t-1`` (``[1, 0, 0]``), the rest the identity
            (TDN: 8; TEA's shifted fragment: 2, half each way).

    >>> from lightning_vid.blocks.tsm import temporal_shift
    >>> x = torch.randn(8, 16, 3, 3)
    >>> torch.equal(TemporalConv(16, 4, fold_div=8)(x), temporal_shift(x, 4))
    True
    """

    def __init__(self, channels: int, num_segments: int, *, fold_div: Optional[int] = None
                 ) -> None:
        super().__init__()
        self.num_segments = num_segments
        fold = 0 if fold_div is None else channels // fold_div
        weight = torch.zeros(channels, 1, 3)
        weight[:fold, 0, 2] = 1.0  # from t+1 ("shift left")
        weight[fold : 2 * fold, 0, 0] = 1.0  # from t-1 ("shift right")
        weight[2 * fold :, 0, 1] = 1.0  # identity
        self.weight = nn.Parameter(weight)

    def forward(self, x: Tensor) -> Tensor:
        return temporal_conv(x, self.weight, self.num_segments)

    def extra_repr(self) -> str:
        return f"channels={self.weight.shape[0]}, num_segments={self.num_segments}"


def temporal_difference(x_other: Tensor, x: Tensor, num_segments: int, step: int = 1) -> Tensor:
    """``D(t) = x_other(t + step) - x(t)`` within each clip, ``D(t) = 0`` where ``t + step``
    is outside ``[0, T)``; ``step`` is +1 (forward) or -1 (backward).

    Args:
        x_other, x: ``(B*T, C, H, W)``.
        num_segments: T.
        step: +1 or -1.

    >>> x = torch.tensor([1., 4., 9., 16.]).view(4, 1, 1, 1)  # one clip, T=4
    >>> temporal_difference(x, x, 4).flatten(), temporal_difference(x, x, 4, step=-1).flatten()
    (tensor([3., 5., 7., 0.]), tensor([ 0., -3., -5., -7.]))
    """
    if step not in (1, -1):
        raise ValueError(f"step must be +1 or -1, got {step}")
    nt, c, h, w = x.shape
    o5 = x_other.view(-1, num_segments, c, h, w)  # (B, T, C, H, W)
    x5 = x.view(-1, num_segments, c, h, w)  # (B, T, C, H, W)
    if step == 1:  # frames 1..T-1 of x_other minus frames 0..T-2 of x, zero at T-1
        d = F.pad(o5[:, 1:] - x5[:, :-1], (0, 0, 0, 0, 0, 0, 0, 1))  # F.pad: last dims first
    else:  # frames 0..T-2 of x_other minus frames 1..T-1 of x, zero at 0
        d = F.pad(o5[:, :-1] - x5[:, 1:], (0, 0, 0, 0, 0, 0, 1, 0))
    return d.view(nt, c, h, w)  # (B*T, C, H, W)


def conv_bn_act(cin: int, cout: int, kernel: int = 1, groups: int = 1) -> list[nn.Module]:
    """``[Conv2d (no bias, same padding), BatchNorm2d, ReLU]`` for an ``nn.Sequential``."""
    conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2, groups=groups, bias=False)
    return [conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def init_fan_out(*modules: nn.Module) -> None:
    """Every Conv2d in ``modules``: normal(0, sqrt(2 / (k*k*C_out))), the authors' init loop
    (kaiming-normal, fan-out, ReLU gain: torchvision ResNet, FBResNet, Res2Net)."""
    for module in modules:
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


class Recorder:
    """Mix-in for blocks whose inner tensors can be drawn (attention, kernels, offsets).

    With ``record = True`` (set by ``lightning_vid.viz.interpret.record_forward``) a block
    calls :meth:`remember` in its forward; the detached tensors are kept in ``last_outputs``.
    ``layouts`` declares, per key, the layout of the tensor in the letters of DESIGN.md
    (``(B T)`` a folded axis, ``K`` kernel taps, ``F 2`` F fields of (u, v), ``h w`` the
    block's map), which says how it is drawn:

    ===================  ==========================================================
    layout               drawn as
    ===================  ==========================================================
    ``B C K``            one K-tap temporal kernel per channel
    ``B C T``, ``B T C``, ``(B T) C``   per-channel values per frame
    ``(B T) C h w``, ``B T C h w``      maps per frame (mean of ``|x|`` over channels;
                         2 to 4 channels: one map each)
    ``(B T) (F 2) h w``  F displacement fields (u, v) per frame
    ===================  ==========================================================
    """

    record: bool = False
    last_outputs: dict[str, Tensor] = {}
    layouts: ClassVar[dict[str, str]] = {}

    def remember(self, **tensors: Optional[Tensor]) -> None:
        """Keep the detached ``tensors`` (``None`` values skipped) in ``last_outputs``."""
        self.last_outputs = {k: v.detach() for k, v in tensors.items() if v is not None}
