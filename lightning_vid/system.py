"""``VideoClassifier``: the thin LightningModule around a video model.

It receives an already-built model (``build_model``, or ``model.model`` of a config) and holds
the step logic: cross-entropy, torchmetrics top-1, top-5 and mean class accuracy per split
(``train/acc1``, ``val/acc5``, ``test/mean_class_acc``), and the optimizer and scheduler
callables injected from the config. What is not step logic lives in callbacks
(:mod:`lightning_vid.callbacks`): weights from another run (``init_from``: ``InitWeights``),
the evaluation protocol next to the metrics (``ProtocolLogger``), the unreadable videos'
report (``SkippedFilesReport``), data-wait timing (``DataWaitTimer``, added by the CLI).

Evaluation (validation, test, predict) scores whole videos. A batch of single views
``(B, T*L, C, H, W)`` gives one clip per video; a multi-view batch ``(B, V, T*L, C, H, W)`` (the
data module's ``test_protocol``, e.g. 10 clips x 3 crops) is run ``views_per_forward`` whole
clips at a time (a chunk never splits a clip, so temporal modules see complete clips) and the
V scores of a video are fused by ``eval_fusion``: the mean of the logits (TSM, TEA) or of the
softmax (TDN, mmaction2). Metrics are video-level, and each video counts once: samples that
stand in for an unreadable video (``skipped > 0``) and unlabelled ones are left out of the
metrics and the loss (their number is logged as ``{split}/skipped``; ``{split}/videos`` counts
the scored videos, summed over DDP ranks). ``{split}/loss`` is the mean cross-entropy of the
scored videos, from a sum and a count summed over the ranks, so DDP reports what one process
does, however the videos are split.

Built by ``lightning-vid``, the system saves the model's and the optimizer's config (class
paths and arguments) in its hyperparameters, so Lightning rebuilds it from a checkpoint alone
(``VideoClassifier.load_from_checkpoint``, :func:`lightning_vid.load_checkpoint`).
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Sequence

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from lightning_vid import optim
from lightning_vid.compat import instantiated_by_cli
from lightning_vid.optim import BNFreeze, FcLr5, Policy


def _sgd(params: Any) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=5e-4)


class MeanClassAccuracy(MulticlassAccuracy):
    """The papers' mean class accuracy: top-1 accuracy of each class that has at least one
    video in the evaluated set, averaged over those classes. (torchmetrics' ``macro`` average
    also counts, as 0, a class that is predicted but has no video in the set.)

    >>> m = MeanClassAccuracy(4)
    >>> float(m(torch.tensor([0, 3, 1, 1]), torch.tensor([0, 0, 1, 1])))  # (1/2 + 2/2) / 2
    0.75
    """

    def __init__(self, num_classes: int) -> None:
        super().__init__(num_classes, top_k=1, average="none")

    def compute(self) -> Tensor:
        per_class = super().compute()
        present = (self.tp + self.fn) > 0
        return per_class[present].mean() if present.any() else per_class.new_tensor(float("nan"))


def split_metrics(num_classes: int, prefix: str) -> MetricCollection:
    """Top-1, top-5 (top-K when K < 5) and mean class accuracy, named ``{prefix}acc1`` etc.

    No compute groups: torchmetrics would merge metrics whose states are equal after the first
    update (one video per batch gives equal states to top-5 and mean class accuracy) and report
    one for the other.
    """
    return MetricCollection(
        {
            "acc1": MulticlassAccuracy(num_classes, top_k=1, average="micro"),
            "acc5": MulticlassAccuracy(num_classes, top_k=min(5, num_classes), average="micro"),
            "mean_class_acc": MeanClassAccuracy(num_classes),
        },
        prefix=prefix,
        compute_groups=False,
    )


class VideoClassifier(L.LightningModule):
    """Trains and evaluates a video model on ``{"clip", "label"}`` batches.

    Args:
        model: maps ``(B, T*L, C, H, W)`` to logits ``(B, K)``; has ``num_classes``,
            ``num_segments`` and ``frames_per_segment`` attributes.
        frames_per_segment: what the data delivers (linked from the data module); must
            match the model's.
        optimizer: a callable ``param_groups -> Optimizer`` (default SGD, lr 0.01, momentum
            0.9, weight decay 5e-4); its lr and weight decay are the base ones.
        lr_scheduler: an optional callable ``optimizer -> LRScheduler``, stepped every
            ``lr_interval``; :class:`lightning_vid.optim.WarmupSchedule` (warm-up, then
            multistep or cosine) is always stepped per optimizer step.
        label_smoothing: cross-entropy label smoothing.
        param_policy: the parameter groups (``lightning_vid.optim.param_groups``): ``tsn``
            (biases lr x2, no weight decay on biases and BN), ``no_decay`` or ``uniform``.
        fc_lr5: lr x5 / x10 for the weights / biases of ``classifier`` (the ``fc``) or of
            ``all_linear`` layers, as the authors do when training from ImageNet; ``None``: no.
        lr_interval: when a scheduler other than ``WarmupSchedule`` steps: ``epoch``, ``step``.
        lr_reference_batch: scale every lr by ``global batch / lr_reference_batch`` (global
            batch = data batch size x devices x nodes x ``accumulate_grad_batches``); ``None``
            keeps the configured lr.
        bn_freeze: ``partial`` (TSN's partial BN: every BN but the first frozen), ``all`` (every
            BN frozen: fine-tuning on small datasets) or ``none``. Frozen BNs keep their running
            statistics and affine parameters.
        init_from: a checkpoint whose matching weights initialise the model when a stage
            starts (fit, validate, test, predict) unless a ``ckpt_path`` is given:
            fine-tuning from Kinetics, TRM's second stage from a TSN run, or testing an authors'
            checkpoint (:class:`lightning_vid.callbacks.InitWeights`).
        init_skip: modules of the model not taken from ``init_from`` (``fc``: new classes).
        channels_last: run the model in channels-last memory format.
        compile: ``torch.compile`` the model (in place, checkpoints keep their keys).
        eval_fusion: how the views of a multi-view evaluation are fused: mean of the
            ``logits`` or of the ``softmax`` scores.
        views_per_forward: clips per forward pass in multi-view evaluation (memory bound).
    """

    def __init__(
        self,
        model: nn.Module,
        frames_per_segment: int = 1,
        optimizer: OptimizerCallable = _sgd,
        lr_scheduler: Optional[LRSchedulerCallable] = None,
        label_smoothing: float = 0.0,
        param_policy: Policy = "uniform",
        fc_lr5: FcLr5 = None,
        lr_interval: Literal["epoch", "step"] = "epoch",
        lr_reference_batch: Optional[int] = None,
        bn_freeze: BNFreeze = "none",
        init_from: Optional[str] = None,
        init_skip: Sequence[str] = ("fc",),
        channels_last: bool = False,
        compile: bool = False,
        eval_fusion: Literal["logits", "softmax"] = "logits",
        views_per_forward: int = 8,
    ) -> None:
        super().__init__()
        if getattr(model, "frames_per_segment", 1) != frames_per_segment:
            raise ValueError(
                f"the data delivers frames_per_segment={frames_per_segment} but the model "
                f"needs {model.frames_per_segment}: set data.frames_per_segment"
            )
        objects = () if instantiated_by_cli() else ("model", "optimizer", "lr_scheduler")
        self.save_hyperparameters(ignore=list(objects))
        self.model = model
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler
        k = model.num_classes
        self.train_metrics = split_metrics(k, "train/")
        self.val_metrics = split_metrics(k, "val/")
        self.test_metrics = split_metrics(k, "test/")
        # the evaluation loss per scored video: a sum and a count, both summed over DDP ranks
        self.val_loss, self.test_loss = MeanMetric(), MeanMetric()
        self._frozen_bn = optim.freeze_batchnorm(model, bn_freeze)
        self._callbacks: Optional[list[L.Callback]] = None

    def configure_callbacks(self) -> list[L.Callback]:
        """The evaluation protocol next to the metrics, the report of the unreadable videos
        (``skipped_files.csv``), and ``init_from`` when given."""
        if self._callbacks is None:  # the same objects for every stage of this system
            from lightning_vid.callbacks import InitWeights, ProtocolLogger, SkippedFilesReport

            self._callbacks = [ProtocolLogger(), SkippedFilesReport()]
            if self.hparams.init_from:
                self._callbacks.append(InitWeights(self.hparams.init_from,
                                                   self.hparams.init_skip))
        return self._callbacks

    def setup(self, stage: str) -> None:
        if self.hparams.channels_last:
            self.model.to(memory_format=torch.channels_last)
        if self.hparams.compile and getattr(self.model, "_compiled_call_impl", None) is None:
            self.model.compile()

    def train(self, mode: bool = True) -> "VideoClassifier":
        """``nn.Module.train``, keeping frozen BNs (``bn_freeze``) in eval mode."""
        super().train(mode)
        if mode:
            optim.set_eval(self._frozen_bn)
        return self

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
                 reduce_fx="sum", batch_size=len(logits), sync_dist=True)
        return loss

    def video_logits(self, clip: Tensor) -> Tensor:
        """Scores per video, ``(B, K)``: the logits of single views ``(B, T*L, C, H, W)``, or
        for multi-view ``(B, V, T*L, C, H, W)`` the V views fused by ``eval_fusion`` (their
        mean logits, or the log of their mean softmax), ``views_per_forward`` clips at a time."""
        if clip.ndim == 5:
            return self(clip)
        b, v = clip.shape[:2]
        views = clip.flatten(0, 1)  # (B, V, N, C, H, W) -> (B*V, N, C, H, W), whole clips
        chunks = views.split(max(1, self.hparams.views_per_forward))
        logits = torch.cat([self(chunk) for chunk in chunks]).view(b, v, -1)  # (B, V, K)
        if self.hparams.eval_fusion == "softmax":
            return logits.softmax(-1).mean(1).clamp_min(1e-12).log()
        return logits.mean(1)

    def _eval_step(self, batch: dict, metrics: MetricCollection, loss: MeanMetric,
                   split: str) -> None:
        scores, labels = self.video_logits(batch["clip"]), batch["label"]
        counted = (batch["skipped"] == 0) & (labels >= 0)  # each readable video once
        n = int(counted.sum())
        if n:
            metrics.update(scores[counted], labels[counted])
            loss.update(F.cross_entropy(scores[counted].float(), labels[counted],
                                        reduction="none"))
        # the loss of the scored videos only (not the stand-ins of unreadable ones), as a sum
        # and a count over every rank (logged by every rank in every batch, like the metrics:
        # their sync is a collective); Lightning's own mean of a logged value synced the batch
        # count by "mean" in integers (15/14 off with 8 + 7 videos)
        self.log(f"{split}/loss", loss, on_step=False, on_epoch=True)
        self.log_dict(metrics, batch_size=max(n, 1), prog_bar=split == "val")
        size = len(labels)
        self.log(f"{split}/skipped", batch["skipped"].sum().float(), reduce_fx="sum",
                 batch_size=size, sync_dist=True)
        self.log(f"{split}/videos", float(n), reduce_fx="sum", batch_size=size, sync_dist=True)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, self.val_metrics, self.val_loss, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch, self.test_metrics, self.test_loss, "test")

    def predict_step(self, batch: dict, batch_idx: int) -> dict:
        probs = self.video_logits(batch["clip"]).softmax(-1)
        return {"index": batch["index"], "label": batch["label"], "probs": probs,
                "pred": probs.argmax(-1)}

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        groups = optim.param_groups(self.model, hp.param_policy, hp.fc_lr5)
        optimizer = optim.apply_multipliers(self.optimizer(groups))
        if hp.lr_reference_batch:
            optim.scale_lr(optimizer, optim.linear_scaling_factor(
                self.global_batch_size(), hp.lr_reference_batch))
        if self.lr_scheduler is None:
            return optimizer
        scheduler, interval = self.lr_scheduler(optimizer), hp.lr_interval
        if isinstance(scheduler, optim.WarmupSchedule):
            scheduler.bind(self._steps_per_epoch(), self.trainer.max_epochs)
            interval = "step"
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": interval}}

    def global_batch_size(self) -> int:
        """Clips per optimizer step: data batch size x world size x accumulated batches."""
        trainer = self.trainer
        per_device = getattr(getattr(trainer.datamodule, "hparams", None), "batch_size", None)
        per_device = per_device or getattr(trainer.datamodule, "batch_size", None)
        if not per_device:
            raise ValueError("lr_reference_batch needs a data module with a batch_size")
        return optim.global_batch_size(int(per_device), trainer.world_size,
                                       trainer.accumulate_grad_batches)

    def _steps_per_epoch(self) -> int:
        trainer = self.trainer
        total = trainer.estimated_stepping_batches
        epochs = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else 1
        return max(1, int(total // epochs)) if total != float("inf") else 1
