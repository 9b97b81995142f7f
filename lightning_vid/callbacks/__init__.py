"""Lightning callbacks: everything around the training step that is not step logic.

Figures of what the temporal modules do (need matplotlib: the ``viz`` extra):

- :class:`KernelAttentionLogger`: every block's interpretable tensors (kernels, attention,
  relocation, displacement) on fixed validation clips.
- :class:`GradCAMLogger`: Grad-CAM per frame on fixed validation clips (also pytorch-grad-cam).

Both log to W&B with a WandbLogger and to files in the log directory otherwise;
``lightning_vid/configs/callbacks/figures.yaml`` switches both on from the command line. They
are imported on first use (``lightning_vid.callbacks.GradCAMLogger`` works as before): the
figure code they bring is no part of a command that does not draw.

Runs (``lightning-vid`` adds these itself):

- :class:`InitWeights`: weights from another run or the authors (``--model.init_from``).
- :class:`ProtocolLogger`: the evaluation protocol next to the metrics.
- :class:`DataWaitTimer`: ``train/data_wait_ms``.
- :class:`EpochSummary`: one line per epoch with the metrics when no progress bar shows them.
- :class:`SkippedFilesReport`: ``skipped_files.csv`` in the run's folder and a W&B table
  (added by :class:`~lightning_vid.system.VideoClassifier` itself).
- :class:`RandomState`: the random state in every checkpoint, so resuming is exact.
- :class:`StopOnSignal`: Ctrl-C and SIGTERM stop ``fit`` where every rank can, ``last.ckpt``
  saved.
- :class:`PredictionWriter`: the CSV of ``lightning-vid predict``.
"""

from typing import Any

from lightning_vid.callbacks.epoch_summary import EpochSummary
from lightning_vid.callbacks.init_weights import InitWeights
from lightning_vid.callbacks.predictions import PredictionWriter
from lightning_vid.callbacks.protocol import ProtocolLogger
from lightning_vid.callbacks.random_state import RandomState
from lightning_vid.callbacks.skipped_files import SkippedFilesReport
from lightning_vid.callbacks.stop import StopOnSignal
from lightning_vid.callbacks.timing import DataWaitTimer

__all__ = ["DataWaitTimer", "EpochSummary", "GradCAMLogger", "InitWeights", "KernelAttentionLogger",
           "PredictionWriter", "ProtocolLogger", "RandomState", "SkippedFilesReport",
           "StopOnSignal"]

#: the figure callbacks, imported on first use: ``{name: module}``
_LAZY = {"GradCAMLogger": "lightning_vid.callbacks.gradcam",
         "KernelAttentionLogger": "lightning_vid.callbacks.kernels"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
