"""``DataWaitTimer``: how long each training step waited for its batch."""

from __future__ import annotations

from time import perf_counter
from typing import Any, Optional

import lightning as L


class DataWaitTimer(L.Callback):
    """Logs ``train/data_wait_ms``: the time from the end of one training step to the start of
    the next, that is waiting for the DataLoader plus the host-to-device copy. Near zero when
    compute is the bottleneck, large when loading is (more workers, a faster disk, shorter
    GOPs: ``lightning-vid-data reencode``). Logged per step and as the epoch mean.

    ``lightning-vid`` adds it to every run.

    Example::

        trainer = L.Trainer(callbacks=[DataWaitTimer()])
    """

    def __init__(self) -> None:
        self._step_end: Optional[float] = None  # perf_counter() at the end of the last step

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._step_end = perf_counter()

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        if self._step_end is None:  # resumed mid-epoch: no start time for this wait
            return
        wait_ms = (perf_counter() - self._step_end) * 1e3
        size = len(batch["clip"]) if isinstance(batch, dict) and "clip" in batch else None
        pl_module.log("train/data_wait_ms", wait_ms, on_step=True, on_epoch=True,
                      batch_size=size)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        self._step_end = perf_counter()
