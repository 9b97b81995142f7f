"""``EpochSummary``: one line per training epoch with its metrics, where no bar shows them."""

from __future__ import annotations

import sys
from time import perf_counter
from typing import Literal, Optional

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only


class EpochSummary(L.Callback):
    """Prints one line per training epoch: its number, the epoch's metrics (Lightning's
    ``trainer.callback_metrics``: ``train/loss``, ``val/acc1``...; per-step values left out)
    and its time, e.g.::

        epoch 2/8: train/data_wait_ms=1.2 train/loss=0.9231 val/acc1=0.6667 ... (12.3 s)

    With a progress bar on a terminal the bar shows them already: by default (``when="auto"``)
    the line is printed only when the progress bar is off or stdout is not a terminal (a log
    file, a batch job), where the bar would leave ``\\r`` updates and no lines. Rank zero only,
    to stdout; without validation the line holds the training metrics.

    ``lightning-vid`` adds it to every run.

    Args:
        when: ``auto`` (see above), ``always`` or ``never``.

    Example::

        trainer = L.Trainer(callbacks=[EpochSummary()], enable_progress_bar=False)
    """

    def __init__(self, when: Literal["auto", "always", "never"] = "auto") -> None:
        self.when = when
        self._start: Optional[float] = None

    def active(self, trainer: L.Trainer) -> bool:
        """Whether lines are printed in this run."""
        if self.when != "auto":
            return self.when == "always"
        return trainer.progress_bar_callback is None or not sys.stdout.isatty()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = perf_counter()

    @rank_zero_only
    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not self.active(trainer):
            return
        bar = trainer.progress_bar_callback
        if bar is None:
            print(self.line(trainer), flush=True)
        elif sys.stdout.isatty():  # when="always": the bar's print keeps the bar below
            bar.print(self.line(trainer))
        else:  # a bar writing \r updates to a file: the line starts a line of its own
            print(f"\n{self.line(trainer)}", flush=True)

    def line(self, trainer: L.Trainer) -> str:
        """The line of the epoch that just ended."""
        metrics: dict[str, float] = {}
        for key, value in sorted(trainer.callback_metrics.items()):
            if key.endswith("_step") or torch.as_tensor(value).numel() != 1:
                continue
            name = key.removesuffix("_epoch")  # logged per step and epoch: the epoch's
            if key.endswith("_epoch") or name not in metrics:
                metrics[name] = float(value)
        shown = " ".join(f"{k}={_number(v)}" for k, v in metrics.items())
        total = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        took = f" ({perf_counter() - self._start:.1f} s)" if self._start is not None else ""
        return f"epoch {trainer.current_epoch + 1}{total}: {shown or 'no metrics logged'}{took}"


def _number(value: float) -> str:
    if value.is_integer():  # counts (val/videos, train/skipped)
        return str(int(value))
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"
