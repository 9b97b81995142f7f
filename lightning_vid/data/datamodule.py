"""``VideoDataModule``: the generic ``path,label`` CSV lists plus a class-name file.

It exposes ``num_classes``, ``num_segments`` and ``frames_per_segment`` so the CLI links
them to the model (each value lives once, in the data section of the config). Lists are
read and checked when the module is built, so a malformed line fails before training.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import lightning as L
from torch.utils.data import DataLoader

from lightning_vid.data.annotations import read_class_names, read_csv_list
from lightning_vid.data.dataset import ClipDataset, SegmentSampler, collate
from lightning_vid.data.transforms import eval_transform, train_transform


class VideoDataModule(L.LightningDataModule):
    """Clips from videos listed in ``path,label`` CSV files.

    Args:
        root: folder holding the lists and the class-name file (relative video paths in a
            list are resolved against the list's folder).
        train_list, val_list, test_list, predict_list: list file names under ``root``
            (``None`` disables the split; predict defaults to the test list).
        class_names: the class-name file under ``root``, one name per line.
        num_segments: T, segments per clip.
        frames_per_segment: L, consecutive frames per segment (5 for TDN).
        crop_size: the square frame size the model sees.
        scale_size: the short side frames are resized to before the evaluation centre crop.
        flip: random horizontal flip in training (off for direction-sensitive classes).
        batch_size: clips per batch (per device).
        num_workers: DataLoader worker processes (each decodes with one thread).
    """

    def __init__(
        self,
        root: str,
        train_list: Optional[str] = "train.csv",
        val_list: Optional[str] = "val.csv",
        test_list: Optional[str] = "test.csv",
        predict_list: Optional[str] = None,
        class_names: str = "classes.txt",
        num_segments: int = 8,
        frames_per_segment: int = 1,
        crop_size: int = 224,
        scale_size: int = 256,
        flip: bool = True,
        batch_size: int = 8,
        num_workers: int = 4,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.root = Path(root)
        self.classes = read_class_names(self.root / class_names)
        self.num_segments = num_segments
        self.frames_per_segment = frames_per_segment
        lists = {"fit": train_list, "validate": val_list, "test": test_list,
                 "predict": predict_list or test_list}
        self.records = {
            stage: read_csv_list(self.root / name, len(self.classes)) if name else None
            for stage, name in lists.items()
        }

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def dataset(self, stage: str, train: bool = False) -> ClipDataset:
        records = self.records[stage]
        if records is None:
            raise ValueError(f"no annotation list configured for {stage!r}")
        sampler = SegmentSampler(self.num_segments, self.frames_per_segment, train=train)
        hp = self.hparams
        transform = (train_transform(hp.crop_size, hp.flip) if train
                     else eval_transform(hp.crop_size, hp.scale_size))
        return ClipDataset(records, sampler, transform)

    def _loader(self, stage: str, train: bool = False) -> DataLoader:
        workers = self.hparams.num_workers
        return DataLoader(
            self.dataset(stage, train), batch_size=self.hparams.batch_size, shuffle=train,
            drop_last=train, num_workers=workers, collate_fn=collate,
            persistent_workers=workers > 0, pin_memory=False,
            worker_init_fn=_one_thread if workers > 0 else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("fit", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validate")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict")


def _one_thread(_: int) -> None:
    """Each DataLoader worker decodes and transforms with one thread."""
    import torch

    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
