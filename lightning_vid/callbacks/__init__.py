"""Lightning callbacks that draw what the temporal modules do, during training.

- :class:`KernelAttentionLogger`: every block's interpretable tensors (kernels, attention,
  relocation, displacement) on fixed validation clips.
- :class:`GradCAMLogger`: Grad-CAM per frame on fixed validation clips (the ``gradcam`` extra).

Both log to W&B with a WandbLogger and to files in the log directory otherwise; both need
matplotlib (the ``notebooks`` extra).
"""

from lightning_vid.callbacks.gradcam import GradCAMLogger
from lightning_vid.callbacks.kernels import KernelAttentionLogger

__all__ = ["GradCAMLogger", "KernelAttentionLogger"]
