"""TSM: Temporal Shift Module.

Paper: J. Lin, C. Gan, S. Han, "TSM: Temporal Shift Module for Efficient Video
Understanding", ICCV 2019. Authors' code: mit-han-lab/temporal-shift-module
(ops/temporal_shift.py), MIT licence; reference-notes.md section 3.

Operation (on ``x`` viewed as ``(B, T, C, H, W)``, ``fold = C // fold_div``):

- channels ``[0, fold)``: ``y[t] = x[t+1]`` ("shift left"), ``y[T-1] = 0``;
- channels ``[fold, 2*fold)``: ``y[t] = x[t-1]`` ("shift right"), ``y[0] = 0``;
- channels ``[2*fold, C)``: unchanged.

No parameters, no multiply-adds. Zero padding at the clip borders, as the paper and code.

Placement ("blockres", registered below): on the residual branch before conv1 of every block
of res2..res5. Once res4 has 23 or more blocks (ResNet-101) the authors' code (and
mmaction2) shifts only every second block, in all four stages: 2 + 2 + 12 + 2 = 18 of
ResNet-101's 33 blocks (:func:`tsm_select`).

Departures: none in the operation. The authors' code fills a zero tensor by slice
assignment; here the output is built out of place by padding and concatenation, which
compiles and exports (torch.export, ONNX, legacy TorchScript) and gives identical values.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_vid.trunk import BlockSite, register_block


def temporal_shift(x: Tensor, num_segments: int, fold_div: int = 8) -> Tensor:
    """Shift ``1/fold_div`` of the channels one step back and ``1/fold_div`` forward in time.

    Args:
        x: ``(B*T, C, H, W)`` with the T frames of a clip consecutive.
        num_segments: T.
        fold_div: the inverse fraction of channels moved in each direction (8 in the paper).

    >>> x = torch.arange(4.).view(4, 1, 1, 1).expand(4, 8, 1, 1)  # T=4 frames, C=8
    >>> temporal_shift(x, num_segments=4)[:, :3, 0, 0]
    tensor([[1., 0., 0.],
            [2., 0., 1.],
            [3., 1., 2.],
            [0., 2., 3.]])
    """
    nt, c, h, w = x.shape
    x = x.view(nt // num_segments, num_segments, c, h, w)  # (B, T, C, H, W)
    fold = c // fold_div
    # F.pad pads the last dims first: (W, W, H, H, C, C, T_before, T_after)
    left = F.pad(x[:, 1:, :fold], (0, 0, 0, 0, 0, 0, 0, 1))  # y[t] = x[t+1]
    right = F.pad(x[:, :-1, fold : 2 * fold], (0, 0, 0, 0, 0, 0, 1, 0))  # y[t] = x[t-1]
    out = torch.cat((left, right, x[:, :, 2 * fold :]), dim=2)  # (B, T, C, H, W)
    return out.view(nt, c, h, w)


def tsm_select(site: BlockSite) -> bool:
    """The authors' rule: every block, but every second one in every stage once res4 has
    23 or more blocks (ResNet-101: 18 of 33 blocks shifted)."""
    return site.depths[2] < 23 or site.index % 2 == 0


@register_block("tsm", placement="before_conv1", select=tsm_select)
class TemporalShift(nn.Module):
    """The shift as a module, ``(B*T, C, H, W)`` -> ``(B*T, C, H, W)``.

    Args:
        channels: C (unused by the operation, kept for the common block contract).
        num_segments: T.
        fold_div: ``1/fold_div`` of the channels move each way.

    >>> m = TemporalShift(64, num_segments=8)
    >>> m(torch.randn(16, 64, 7, 7)).shape
    torch.Size([16, 64, 7, 7])
    """

    def __init__(self, channels: int, num_segments: int, *, fold_div: int = 8) -> None:
        super().__init__()
        self.channels = channels
        self.num_segments = num_segments
        self.fold_div = fold_div

    def forward(self, x: Tensor) -> Tensor:
        return temporal_shift(x, self.num_segments, self.fold_div)

    def extra_repr(self) -> str:
        return f"num_segments={self.num_segments}, fold_div={self.fold_div}"
