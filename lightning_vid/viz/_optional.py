"""Optional extras, imported on first use with a message naming the extra to install."""

from __future__ import annotations

from types import ModuleType


def require_matplotlib() -> ModuleType:
    """``matplotlib`` (the ``notebooks`` extra), set to the non-interactive Agg canvas."""
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "drawing figures needs matplotlib: pip install 'lightning_vid[viz]'"
        ) from err
    return matplotlib


def require_gradcam() -> ModuleType:
    """``pytorch_grad_cam`` (the ``gradcam`` extra)."""
    try:
        import pytorch_grad_cam
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Grad-CAM needs pytorch-grad-cam: pip install 'lightning_vid[viz]'"
        ) from err
    return pytorch_grad_cam
