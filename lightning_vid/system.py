"""``VideoClassifier``: the thin LightningModule around a video model.

It receives an already-built model (``build_model``), cross-entropy, torchmetrics top-1,
top-5 and mean class accuracy per split (``train/acc1``, ``val/acc5``, ``test/mean_class_acc``),
and optimizer and scheduler callables injected from the config.
"""

from __future__ import annotations

from typing import Any, Optional

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy


def _sgd(params: Any) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=5e-4)


def split_metrics(num_classes: int, prefix: str) -> MetricCollection:
    """Top-1, top-5 (top-K when K < 5) and mean class accuracy, named ``{prefix}acc1`` etc."""
    return MetricCollection(
        {
            "acc1": MulticlassAccuracy(num_classes, top_k=1, average="micro"),
            "acc5": MulticlassAccuracy(num_classes, top_k=min(5, num_classes), average="micro"),
            "mean_class_acc": MulticlassAccuracy(num_classes, top_k=1, average="macro"),
        },
        prefix=prefix,
    )


class VideoClassifier(L.LightningModule):
    """Trains and evaluates a video model on ``{"clip", "label"}`` batches.

    Args:
        model: maps ``(B, T*L, C, H, W)`` to logits ``(B, K)``; has ``num_classes``,
            ``num_segments`` and ``frames_per_segment`` attributes.
        frames_per_segment: what the data delivers (linked from the data module); must
            match the model's.
        optimizer: a callable ``params -> Optimizer`` (default SGD, lr 0.01, momentum 0.9,
            weight decay 5e-4).
        lr_scheduler: an optional callable ``optimizer -> LRScheduler``, stepped per epoch.
        label_smoothing: cross-entropy label smoothing.
    """

    def __init__(
        self,
        model: nn.Module,
        frames_per_segment: int = 1,
        optimizer: OptimizerCallable = _sgd,
        lr_scheduler: Optional[LRSchedulerCallable] = None,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__()
        if getattr(model, "frames_per_segment", 1) != frames_per_segment:
            raise ValueError(
                f"the data delivers frames_per_segment={frames_per_segment} but the model "
                f"needs {model.frames_per_segment}: set data.frames_per_segment"
            )
        self.save_hyperparameters(ignore=["model", "optimizer", "lr_scheduler"])
        self.model = model
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler
        k = model.num_classes
        self.train_metrics = split_metrics(k, "train/")
        self.val_metrics = split_metrics(k, "val/")
        self.test_metrics = split_metrics(k, "test/")

    def forward(self, clip: Tensor) -> Tensor:
        return self.model(clip)

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        logits = self(batch["clip"])
        loss = F.cross_entropy(logits, batch["label"],
                               label_smoothing=self.hparams.label_smoothing)
        self.train_metrics.update(logits.detach(), batch["label"])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(logits))
        self.log_dict(self.train_metrics, on_step=False, on_epoch=True, batch_size=len(logits))
        self.log("train/skipped", batch["skipped"].sum().float(), on_step=False, on_epoch=True,
                 reduce_fx="sum", batch_size=len(logits))
        return loss

    def _eval_step(self, batch: dict, metrics: MetricCollection, split: str) -> None:
        logits = self(batch["clip"])
        loss = F.cross_entropy(logits, batch["label"])
        metrics.update(logits, batch["label"])
        n = len(logits)
        self.log(f"{split}/loss", loss, batch_size=n, sync_dist=True)
        self.log_dict(metrics, batch_size=n, prog_bar=split == "val")
        self.log(f"{split}/skipped", batch["skipped"].sum().float(), reduce_fx="sum",
                 batch_size=n, sync_dist=True)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, self.val_metrics, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, self.test_metrics, "test")

    def predict_step(self, batch: dict, batch_idx: int) -> dict:
        probs = self(batch["clip"]).softmax(-1)
        return {"index": batch["index"], "label": batch["label"], "probs": probs,
                "pred": probs.argmax(-1)}

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer(self.parameters())
        if self.lr_scheduler is None:
            return optimizer
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": self.lr_scheduler(optimizer), "interval": "epoch"}}
