"""Helpers of the data tests: test videos, and the installed ``lightning-vid-data`` command run
as a user runs it (a subprocess, its exit status checked)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest


@pytest.fixture()
def run_tool():
    """``run_tool(*args)``: the installed ``lightning-vid-data`` in a subprocess."""

    def run(*args: str) -> subprocess.CompletedProcess:
        command = shutil.which("lightning-vid-data", path=os.path.dirname(sys.executable))
        assert command, "lightning-vid-data is not installed next to this Python"
        return subprocess.run([command, *args], capture_output=True, text=True, timeout=600)

    return run


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
