"""A fixed small batch of validation clips, and the base of the callbacks that draw them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import lightning as L
import torch
from torch import Tensor, nn

from lightning_vid.data.transforms import IMAGENET_MEAN, IMAGENET_STD


@dataclass
class FixedClips:
    """Clips ``(N, T*L, C, H, W)`` (normalised, CPU), labels ``(N,)``, video names, class names."""

    clips: Tensor
    labels: Tensor
    names: list[str]
    class_names: Optional[list[str]]


def _validation_dataset(trainer: L.Trainer) -> Any:
    dm = trainer.datamodule
    if dm is not None and callable(getattr(dm, "dataset", None)):
        try:
            return dm.dataset("validate")  # lightning_vid's VideoDataModule
        except (ValueError, KeyError):
            pass
    loaders = trainer.val_dataloaders
    if isinstance(loaders, (list, tuple)):
        loaders = loaders[0] if loaders else None
    return getattr(loaders, "dataset", None)


def _sample(item: Any) -> tuple[Tensor, int, Optional[int]]:
    """``(clip (T*L, C, H, W), label, record index)``; of a multi-view sample
    ``(K, T*L, C, H, W)`` (several clips or crops) the first view."""
    if isinstance(item, dict):
        clip, label, index = item["clip"], int(item.get("label", -1)), item.get("index")
    else:
        clip, label, index = item[0], int(item[1]) if len(item) > 1 else -1, None
    return (clip[0] if clip.dim() == 5 else clip), label, index


def select_clips(trainer: L.Trainer, num_clips: int,
                 indices: Optional[Sequence[int]] = None) -> Optional[FixedClips]:
    """``indices`` of the validation set (default ``num_clips`` evenly spaced), or None when
    the trainer has no validation data yet."""
    dataset = _validation_dataset(trainer)
    if dataset is None or len(dataset) == 0:
        return None
    if indices is None:
        n = min(num_clips, len(dataset))
        indices = torch.linspace(0, len(dataset) - 1, n).round().long().unique().tolist()
    samples = [_sample(dataset[i]) for i in indices]
    records = getattr(dataset, "records", None)
    names = [Path(records[j].path).stem if records is not None and j is not None
             else f"val[{i}]" for i, (_, _, j) in zip(indices, samples)]
    classes = getattr(trainer.datamodule, "classes", None)
    return FixedClips(torch.stack([s[0] for s in samples]), torch.tensor([s[1] for s in samples]),
                      names, list(classes) if classes is not None else None)


class ClipCallback(L.Callback):
    """Draws a fixed batch of validation clips at the end of every ``every_n_epochs``-th
    validation epoch (epochs n-1, 2n-1, ...), on rank zero only, never in the sanity check.
    Subclasses implement :meth:`draw`."""

    def __init__(self, num_clips: int = 4, indices: Optional[Sequence[int]] = None,
                 every_n_epochs: int = 1, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        if num_clips < 1 or every_n_epochs < 1:
            raise ValueError("num_clips and every_n_epochs must be >= 1")
        self.num_clips, self.indices = num_clips, None if indices is None else list(indices)
        self.every_n_epochs = every_n_epochs
        self.mean, self.std = tuple(mean), tuple(std)
        self.fixed: Optional[FixedClips] = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if trainer.is_global_zero and stage in ("fit", "validate") and self.fixed is None:
            self.fixed = select_clips(trainer, self.num_clips, self.indices)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if (trainer.sanity_checking or not trainer.is_global_zero
                or (trainer.current_epoch + 1) % self.every_n_epochs):
            return
        if self.fixed is None:  # no datamodule.dataset(): the loaders exist by now
            self.fixed = select_clips(trainer, self.num_clips, self.indices)
        if self.fixed is not None:
            self.draw(trainer, getattr(pl_module, "model", pl_module), self.fixed)

    def draw(self, trainer: L.Trainer, model: nn.Module, fixed: FixedClips) -> None:
        raise NotImplementedError
