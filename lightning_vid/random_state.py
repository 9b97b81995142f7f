"""The global random states of a process, as checkpoint-safe values (tensors, ints, tuples).

A checkpoint holding them still loads with ``torch.load(weights_only=True)``, PyTorch's default
and what Lightning uses to resume.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def get_random_state() -> dict[str, Any]:
    """torch (CPU and, once initialised, every CUDA device), NumPy and Python states."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"torch": torch.get_rng_state(),
             "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                       float(gauss)),
             "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_random_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_random_state` returned.

    >>> saved = get_random_state()
    >>> a = torch.rand(2), np.random.rand(), random.random()
    >>> set_random_state(saved)
    >>> b = torch.rand(2), np.random.rand(), random.random()
    >>> bool(torch.equal(a[0], b[0])) and a[1:] == b[1:]
    True
    """
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
