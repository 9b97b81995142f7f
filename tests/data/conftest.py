"""Helpers of the data tests: test videos whose frames say which frame they are."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture()
def moving_texture():
    """``moving_texture(T, H=48, W=64)``: uint8 (T, H, W, 3), a fixed random texture sliding
    right 1 px per frame (camera-like motion that encoders code as P/B-frames, unlike global
    brightness changes)."""

    def make(num_frames: int, height: int = 48, width: int = 64) -> np.ndarray:
        texture = np.random.default_rng(0).integers(0, 256, (height, width + num_frames, 3),
                                                    np.uint8)
        return np.stack([texture[:, num_frames - t:num_frames - t + width]
                         for t in range(num_frames)])

    return make
