"""``SkippedFilesReport``: the unreadable videos of a command, in the run's folder and in W&B."""

from __future__ import annotations

import csv
import os
from dataclasses import astuple
from typing import Any, Optional

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn

#: the file written in the run's folder
SKIPPED_FILE = "skipped_files.csv"
COLUMNS = ["split", "path", "listed at", "reason"]


class SkippedFilesReport(L.Callback):
    """At the end of each command, the listed videos found unreadable (missing, undecodable,
    too slow; the data module's ``skipped_files()``) are gathered from every process and, on
    rank 0, written to ``skipped_files.csv`` in the run's folder (``trainer.log_dir``:
    ``runs/<name>/version_<n>/`` with ``lightning-vid``; never the working directory),
    logged as the table ``skipped_files`` (a logger with ``log_table``: W&B) and counted in one
    warning. A process's data module then knows every process's files.

    :class:`~lightning_vid.system.VideoClassifier` adds it to every command
    (``configure_callbacks``); with another LightningModule, add it to the trainer.
    """

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        data = trainer.datamodule
        if not hasattr(data, "skipped_files"):
            return
        if trainer.world_size > 1 and torch.distributed.is_available() \
                and torch.distributed.is_initialized():  # every rank is here: a collective
            gathered: list = [None] * trainer.world_size
            torch.distributed.all_gather_object(gathered, data.skipped_files())
            for found in gathered:
                data.note_skipped(*(found or []))
        folder = self.folder(trainer)  # a collective too (Lightning's log_dir)
        if trainer.global_rank == 0 and data.skipped_files():
            self.report(trainer, data.skipped_files(), folder)

    @staticmethod
    def folder(trainer: L.Trainer) -> Optional[str]:
        """Where the file goes: ``trainer.log_dir``, unless that is the working directory
        (no logger and no ``default_root_dir``) or unknown."""
        folder = trainer.log_dir
        if folder is None or (not trainer.loggers
                              and os.path.realpath(folder) == os.path.realpath(os.getcwd())):
            return None
        return folder

    @staticmethod
    def report(trainer: L.Trainer, skipped: list[Any], folder: Optional[str]) -> None:
        rows = [astuple(s) for s in skipped]
        written = ""
        if folder:
            os.makedirs(folder, exist_ok=True)
            target = os.path.join(folder, SKIPPED_FILE)
            with open(target, "w", newline="") as f:
                csv.writer(f).writerows([COLUMNS, *rows])
            written = f": {target}"
        for logger in trainer.loggers:
            if hasattr(logger, "log_table"):  # W&B
                logger.log_table(key="skipped_files", columns=COLUMNS, data=[list(r) for r in rows])
        counts = ", ".join(f"{split} {sum(s.split == split for s in skipped)}"
                           for split in dict.fromkeys(s.split for s in skipped))
        rank_zero_warn(f"{len(skipped)} unreadable videos skipped ({counts}){written}")
