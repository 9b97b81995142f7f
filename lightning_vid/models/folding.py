"""The one helper pair that folds time into the batch and back.

Every model sees clips as ``(B, T*L, C, H, W)``; the 2D trunk runs on ``(B*T*L, C, H, W)``
with the frames of one clip next to each other (batch-major), which is the layout every
temporal block relies on when it views its input as ``(B, T, C, H, W)``.

>>> import torch
>>> x = torch.arange(2 * 3 * 1 * 1 * 1.).view(2, 3, 1, 1, 1)
>>> y = fold_time(x)
>>> y.shape
torch.Size([6, 1, 1, 1])
>>> torch.equal(unfold_time(y, 3), x)
True
"""

from __future__ import annotations

from torch import Tensor


def fold_time(x: Tensor) -> Tensor:
    """``(B, T, ...)`` -> ``(B*T, ...)``, the frames of one clip consecutive."""
    return x.flatten(0, 1)


def unfold_time(x: Tensor, num_frames: int) -> Tensor:
    """``(B*T, ...)`` -> ``(B, T, ...)``; the inverse of :func:`fold_time`.

    Raises:
        ValueError: if the leading dimension is not a multiple of ``num_frames``.
    """
    if x.shape[0] % num_frames:
        raise ValueError(
            f"cannot unfold a batch of {x.shape[0]} frames into clips of {num_frames} frames"
        )
    return x.view(-1, num_frames, *x.shape[1:])
