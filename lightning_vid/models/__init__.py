"""Models: a timm ResNet trunk with injected temporal blocks and the TSN head.

Architectures come from :func:`register_block` registrations (``lightning_vid/blocks/``,
imported on first use, and any user module that registers a block).
"""

from __future__ import annotations

from typing import Any, Optional

from torch import nn

from lightning_vid.models.folding import fold_time, unfold_time
from lightning_vid.models.official import load_official
from lightning_vid.models.recognizer import Recognizer
from lightning_vid.models.registry import (
    PaperFigure,
    With,
    get_architecture,
    list_models,
    register_block,
)
from lightning_vid.models.trunk import Pretrained
from lightning_vid.models.weights import load_weights

__all__ = ["PaperFigure", "Recognizer", "With", "build_model", "fold_time", "get_architecture",
           "list_models", "load_official", "load_weights", "register_block", "unfold_time"]


def build_model(
    arch: str,
    num_classes: int,
    num_segments: int = 8,
    backbone: Optional[str] = None,
    pretrained: Pretrained = False,
    input_size: int = 224,
    **kwargs: Any,
) -> nn.Module:
    """Build a video recognizer.

    Args:
        arch: one of :func:`list_models` (``tsn``, ``tsm``, ...).
        num_classes: K.
        num_segments: T.
        backbone: a timm ResNet-family name; ``None`` picks the paper's default.
        pretrained: ``False``, ``True`` (timm's hub) or a local 2D weights file.
        input_size: the square frame size the model will see (used by TRM's cTRM).
        **kwargs: the architecture's other arguments: ``dropout``, ``stages`` and the options
            of its temporal module (its generated class lists them, e.g.
            ``lightning_vid.blocks.tsm.TSM``).

    Returns:
        An ``nn.Module`` with ``num_segments`` and ``frames_per_segment`` attributes mapping
        ``(B, num_segments*frames_per_segment, 3, H, W)`` to logits ``(B, num_classes)``.

    >>> import torch
    >>> m = build_model("tsm", num_classes=5, num_segments=4, backbone="resnet18")
    >>> m(torch.randn(2, 4, 3, 32, 32)).shape
    torch.Size([2, 5])
    """
    cls = get_architecture(arch).model_class
    return cls(num_classes=num_classes, num_segments=num_segments, backbone=backbone,
               pretrained=pretrained, input_size=input_size, **kwargs)
