"""``PredictionWriter``: ``lightning-vid predict`` writes one CSV row per video."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any, Optional, Sequence

import lightning as L
import torch
from lightning.pytorch.callbacks import BasePredictionWriter

from lightning_vid.runs import say, shown

#: the CSV columns; top5 and top5_probs hold k values separated by "|"
COLUMNS = ("path", "label", "pred", "prob", "top5", "top5_probs")


def _records(trainer: L.Trainer, dataloader_idx: int) -> Optional[Sequence[Any]]:
    loaders = trainer.predict_dataloaders
    if isinstance(loaders, (list, tuple)):
        loaders = loaders[dataloader_idx] if dataloader_idx < len(loaders) else None
    return getattr(getattr(loaders, "dataset", None), "records", None)


def default_name(datamodule: Any) -> str:
    """``predictions_<stem>.csv`` after the data module's predict list or video
    (``predictions.csv`` when it names none).

    >>> class Data: lists = {"predict": "clips/bikes 03.mp4"}
    >>> default_name(Data())
    'predictions_bikes_03.csv'
    """
    name = (getattr(datamodule, "lists", None) or {}).get("predict")
    stem = re.sub(r"[^\w.-]+", "_", Path(str(name).rstrip("/\\")).stem) if name else ""
    return f"predictions_{stem}.csv" if stem else "predictions.csv"


class PredictionWriter(BasePredictionWriter):
    """Writes the predictions of ``predict`` as a CSV, one row per listed video, in list order.

    Columns: ``path`` (the video as listed), ``label`` (its class name when the list gives
    one, else empty), ``pred`` and ``prob`` (the predicted class and its probability, after
    the views of the test protocol are fused), ``top5`` and ``top5_probs`` (the k = min(5, K)
    most probable classes and their probabilities, ``|``-separated). A video that could not
    be read has an empty prediction. Class names come from the data module's ``classes``,
    paths from the records of the prediction dataset (``batch["index"]``).

    The file is ``path`` or, by default, ``predictions_<what>.csv`` in the run's folder
    (``trainer.log_dir``), named after the list or the video predicted (the data module's
    predict list: ``predictions_test.csv``, ``predictions_bikes_03.csv``), so predicting
    another list keeps the earlier file; kept in :attr:`written` and printed
    (``predictions: <file> (<n> videos)``). Under DDP the ranks' rows are gathered on rank 0,
    which writes the one file: every video once, in list order, as one process writes it.

    ``lightning-vid`` adds it to every run; set ``--predictions.path FILE``.

    Args:
        path: the CSV to write (overwritten); default: see above.
        top_k: how many classes the top-k columns hold.
    """

    def __init__(self, path: Optional[str] = None, top_k: int = 5) -> None:
        super().__init__(write_interval="batch")
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        self.path, self.top_k = path, top_k
        self.written: Optional[Path] = None
        self.rows = 0
        self._rows: list[tuple[int, list[str]]] = []  # (index in the list, fields)

    def output_path(self, trainer: L.Trainer) -> Path:
        if self.path:
            return Path(self.path)
        return Path(trainer.log_dir or ".") / default_name(trainer.datamodule)

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.written, self.rows, self._rows = None, 0, []

    def write_on_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           prediction: Any, batch_indices: Optional[Sequence[int]], batch: Any,
                           batch_idx: int, dataloader_idx: int = 0) -> None:
        records = _records(trainer, dataloader_idx)
        names = list(getattr(trainer.datamodule, "classes", None) or [])

        def name(k: int) -> str:
            return names[k] if 0 <= k < len(names) else str(k)

        probs = prediction["probs"].float().cpu()
        top = probs.topk(min(self.top_k, probs.shape[-1]), dim=-1)
        for row in range(len(probs)):
            skipped = int(batch["skipped"][row]) if "skipped" in batch else 0
            listed = int(prediction["index"][row])  # the video asked for (data/dataset.py)
            path = records[listed].path if records is not None else str(listed)
            label = int(records[listed].label if records is not None else batch["label"][row])
            fields = [path, name(label) if label >= 0 else ""]
            if skipped:  # unreadable: the clip is another video's, standing in
                fields += ["", "", "", ""]
            else:
                k, p = top.indices[row].tolist(), top.values[row].tolist()
                fields += [name(k[0]), f"{p[0]:.4f}", "|".join(name(c) for c in k),
                           "|".join(f"{v:.4f}" for v in p)]
            self._rows.append((listed, fields))

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        rows = self._rows
        if trainer.world_size > 1 and torch.distributed.is_available() \
                and torch.distributed.is_initialized():
            gathered: list = [None] * trainer.world_size
            torch.distributed.all_gather_object(gathered, rows)
            rows = [row for part in gathered for row in part or []]
        self._rows = []
        if trainer.global_rank != 0:
            return
        path = self.output_path(trainer)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            writer.writerows(fields for _, fields in sorted(rows, key=lambda r: r[0]))
        self.written, self.rows = path, len(rows)
        say(f"predictions: {shown(path)} ({len(rows)} video{'' if len(rows) == 1 else 's'})")
