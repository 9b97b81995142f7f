"""Where the callbacks' pictures go: W&B media, or files in the run's log directory.

With a :class:`~lightning.pytorch.loggers.WandbLogger` among the trainer's loggers, images,
tables (one row per clip) and videos are logged to W&B in one ``log`` call at the step of the
validation metrics they belong with (offline runs keep them under ``<run>/files/media``, and
the tables' images, which W&B stages as an artifact, under ``<run>/staging``, so copying the
run folder keeps them for ``wandb sync``). With any other logger, or
none, the same things are written as files under ``<log_dir>/media/<key>/``: PNG images,
GIF videos and a CSV table whose image cells name PNG files next to it, each file named
``e<epoch>-s<step>-<n>``.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Optional, Sequence

import lightning as L
import numpy as np
from lightning.pytorch.loggers import WandbLogger

from lightning_vid.viz.images import save_animation, save_png


def _files_root(trainer: L.Trainer) -> Optional[Path]:
    others = [lg for lg in trainer.loggers if not isinstance(lg, WandbLogger)]
    if trainer.loggers and not others:
        return None  # W&B only
    base = None
    if others:
        base = getattr(others[0], "log_dir", None) or getattr(others[0], "save_dir", None)
    return Path(base or trainer.default_root_dir) / "media"


def _slug(key: str) -> str:
    return re.sub(r"[^\w./-]+", "_", key)


class MediaBatch:
    """Collects one callback call's media, then :meth:`send` logs or writes them.

    Images are uint8 or float RGB arrays ``(H, W, 3)``; videos uint8 ``(T, H, W, 3)``.
    """

    def __init__(self, trainer: L.Trainer) -> None:
        self.wandb = next((lg for lg in trainer.loggers if isinstance(lg, WandbLogger)), None)
        self.root = _files_root(trainer)
        # the step Lightning logs this epoch's validation metrics at (its LearningRateMonitor
        # uses the same counter): the figures sit beside the numbers they belong with
        self.step = trainer.fit_loop.epoch_loop._batches_that_stepped
        self.epoch = trainer.current_epoch
        self.images: dict[str, list[tuple[np.ndarray, str]]] = {}
        self.tables: dict[str, tuple[list[str], list[list[Any]]]] = {}
        self.videos: dict[str, list[tuple[np.ndarray, str]]] = {}
        self.fps = 2.0
        self.written: list[Path] = []

    def add_images(self, key: str, images: Sequence[np.ndarray], captions: Sequence[str]) -> None:
        self.images.setdefault(key, []).extend(zip(images, captions))

    def add_table(self, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.tables[key] = (list(columns), [list(r) for r in rows])

    def add_videos(self, key: str, videos: Sequence[np.ndarray], captions: Sequence[str],
                   fps: float = 2.0) -> None:
        self.videos.setdefault(key, []).extend(zip(videos, captions))
        self.fps = fps

    def _stem(self, n: Any) -> str:
        return f"e{self.epoch:03d}-s{self.step:06d}-{n}"

    def _send_wandb(self, tmp: Path) -> None:
        import wandb

        payload: dict[str, Any] = {
            key: [wandb.Image(img, caption=c) for img, c in items]
            for key, items in self.images.items()}
        for key, (columns, rows) in self.tables.items():
            cells = [[wandb.Image(c) if isinstance(c, np.ndarray) else c for c in r] for r in rows]
            payload[key] = wandb.Table(columns=columns, data=cells)
        for key, items in self.videos.items():
            paths = [save_animation(v, tmp / f"{_slug(key).replace('/', '_')}-{i}.gif", self.fps)
                     for i, (v, _) in enumerate(items)]
            payload[key] = [wandb.Video(str(p), caption=c, format="gif")
                            for p, (_, c) in zip(paths, items)]
        if payload:  # W&B stages a table's images as an artifact when it logs the table:
            # there, inside the run's folder
            staging = Path(self.wandb.experiment.dir).parent / "staging"
            previous = os.environ.get("WANDB_DATA_DIR")
            os.environ["WANDB_DATA_DIR"] = str(staging)
            try:
                self.wandb.log_metrics(payload, step=self.step)
            finally:
                if previous is None:
                    del os.environ["WANDB_DATA_DIR"]
                else:
                    os.environ["WANDB_DATA_DIR"] = previous

    def _write_files(self) -> None:
        for key, items in self.images.items():
            for i, (img, _) in enumerate(items):
                self.written.append(save_png(img, self.root / _slug(key) / f"{self._stem(i)}.png"))
        for key, items in self.videos.items():
            for i, (video, _) in enumerate(items):
                path = self.root / _slug(key) / f"{self._stem(i)}.gif"
                self.written.append(save_animation(video, path, self.fps))
        for key, (columns, rows) in self.tables.items():
            folder = self.root / _slug(key)
            folder.mkdir(parents=True, exist_ok=True)
            out = []
            for r, row in enumerate(rows):
                cells = []
                for c, cell in enumerate(row):
                    if isinstance(cell, np.ndarray):
                        name = f"{self._stem(f'r{r}-{_slug(columns[c])}')}.png"
                        self.written.append(save_png(cell, folder / name))
                        cell = name
                    cells.append(cell)
                out.append(cells)
            path = folder / f"{self._stem('table')}.csv"
            with open(path, "w", newline="") as f:
                csv.writer(f).writerows([columns, *out])
            self.written.append(path)

    def send(self) -> list[Path]:
        """Log to W&B and/or write the files; returns the files written."""
        if self.wandb is not None:
            with tempfile.TemporaryDirectory() as tmp:
                self._send_wandb(Path(tmp))
        if self.root is not None:
            self._write_files()
        return self.written
