"""Parameter and multiply-add counts, as the papers report them.

The papers' "FLOPs" are multiply-accumulates (MACs) of one view (T frames at H x W).
Counting is fvcore's (``pip install lightning_vid[flops]``), which counts one per MAC for
convolutions, linear layers and matmuls; operators it cannot see (for example a custom
correlation) are added by the caller where the module documents them.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


def count_params(model: nn.Module) -> int:
    """The number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def count_gmacs(model: nn.Module, input_size: int = 224, batch: int = 1) -> float:
    """GMACs of one forward pass of ``batch`` clips of ``input_size`` squared frames.

    Raises:
        ImportError: naming the ``flops`` extra when fvcore is missing.
    """
    try:
        with warnings.catch_warnings():  # fvcore.nn scripts a loss with torch.jit on import
            warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.jit")
            from fvcore.nn import FlopCountAnalysis
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("counting MACs needs fvcore: pip install 'lightning_vid[flops]'") from err
    frames = model.num_segments * model.frames_per_segment
    x = torch.zeros(batch, frames, 3, input_size, input_size)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # fvcore counts on a torch.jit.trace graph (it has no torch.export counter); that
            # deprecation is fvcore's to resolve: the one torch.jit use left on a default path
            warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.jit")
            analysis = FlopCountAnalysis(model, x)
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            total = analysis.total()
    finally:
        model.train(was_training)
    return total / 1e9 / batch
