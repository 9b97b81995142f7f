"""``InitWeights``: start a stage from another run's (or the authors') weights."""

from __future__ import annotations

from typing import Sequence

import lightning as L
from lightning.pytorch.utilities import rank_zero_info


class InitWeights(L.Callback):
    """Copies the matching weights of a checkpoint into the model when a stage starts.

    Fine-tuning (Kinetics -> UCF101), TRM's second stage from a TSN run, or evaluating an
    authors' checkpoint with a recipe's test protocol: the weights go through
    :func:`lightning_vid.models.weights.load_weights` (every format it reads), in ``fit``,
    ``validate``, ``test`` and ``predict`` alike. ``fit`` copies what matches (``skip`` aside:
    a new classifier; new temporal modules keep their initialisation). ``validate``, ``test``
    and ``predict`` evaluate the file itself: every tensor of the model must come from it under
    its own name, classifier included, nothing left over, or the stage stops with the keys
    named (an evaluation of half-random weights would report a meaningless accuracy). A
    ``ckpt_path`` given to the stage wins: its weights are the ones wanted (a resumed run, a
    trained model under test), so the file is not even read then. The weights are copied once
    per model: a ``test`` after ``fit`` in the same process keeps the trained weights.

    :class:`~lightning_vid.system.VideoClassifier` adds this callback itself when it is given
    ``init_from`` (``--model.init_from FILE``), through ``configure_callbacks``.

    Args:
        path: a checkpoint (Lightning, a model state dict, a 2D trunk's weights).
        skip: module prefixes never copied in ``fit`` (``fc``: a new classifier for new classes).

    Example::

        trainer = L.Trainer(callbacks=[InitWeights("k400.ckpt", skip=["fc"])])
    """

    def __init__(self, path: str, skip: Sequence[str] = ("fc",)) -> None:
        self.path, self.skip = str(path), tuple(skip)
        self.applied_to: set[int] = set()  # ids of the models already initialised

    def _apply(self, trainer: L.Trainer, pl_module: L.LightningModule, strict: bool) -> None:
        """After Lightning restored a ``ckpt_path`` (``trainer.ckpt_path`` is set then) and
        before the first batch."""
        model = getattr(pl_module, "model", pl_module)
        if id(model) in self.applied_to:
            return
        self.applied_to.add(id(model))
        if trainer.ckpt_path:
            rank_zero_info(f"init_from {self.path} not used: the weights come from "
                           f"{trainer.ckpt_path}")
            return
        from lightning_vid.models.weights import load_weights

        if strict:
            report = load_weights(model, self.path, strict=True)
            rank_zero_info(f"init_from {self.path}: all {len(report.loaded)} tensors loaded")
            return
        report = load_weights(model, self.path, skip=self.skip)
        rank_zero_info(f"init_from {self.path}: {len(report.loaded)} tensors loaded, "
                       f"{len(report.skipped)} skipped ({', '.join(self.skip) or '-'}), "
                       f"{len(report.missing)} new, {len(report.unexpected)} unused")

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._apply(trainer, pl_module, strict=False)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._apply(trainer, pl_module, strict=True)  # validate (in fit on_fit_start came first)

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._apply(trainer, pl_module, strict=True)

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._apply(trainer, pl_module, strict=True)
