"""Shared references for the block tests."""

import pytest
import torch.nn.functional as F


def _conv1d_over_time(x, weight, t):
    """The temporal conv as the papers write it: a depthwise Conv1d over (B*H*W, C, T)."""
    nt, c, h, w = x.shape
    y = x.view(-1, t, c, h, w).permute(0, 3, 4, 2, 1).reshape(-1, c, t)  # (B*H*W, C, T)
    y = F.conv1d(y, weight, padding=1, groups=c)
    return y.view(-1, h, w, c, t).permute(0, 4, 3, 1, 2).reshape(nt, c, h, w)


@pytest.fixture
def conv1d_over_time():
    """``f(x (B*T, C, H, W), weight (C, 1, 3), T)``: the reference temporal conv."""
    return _conv1d_over_time
