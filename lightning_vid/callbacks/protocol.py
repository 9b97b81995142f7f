"""``ProtocolLogger``: the evaluation protocol, recorded next to the metrics it produced."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.utilities import rank_zero_info


class ProtocolLogger(L.Callback):
    """Records which views an evaluation scored and how they were fused.

    Metric names stay ``val/acc1``, ``test/acc1`` ... whatever the protocol; the protocol goes
    next to them: logged once per change as the hyperparameter ``{split}/protocol`` (e.g.
    ``"10x3 dense, 256px crops of short side 256, softmax avg"``, from the data module's
    ``describe_protocol`` and the system's ``eval_fusion``), kept in :attr:`protocols`, and
    printed with the numbers when testing ends.

    :class:`~lightning_vid.system.VideoClassifier` adds it itself (``configure_callbacks``).
    """

    def __init__(self) -> None:
        self.protocols: dict[str, str] = {}  # split ("val", "test") -> protocol in words

    def describe(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> str:
        describe = getattr(trainer.datamodule, "describe_protocol", None)
        views = describe("validate" if split == "val" else split) if describe else "1 view"
        fusion = getattr(pl_module.hparams, "eval_fusion", "logits")
        return f"{views}, {fusion} avg"

    def _record(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> None:
        text = self.describe(trainer, pl_module, split)
        if self.protocols.get(split) != text:
            self.protocols[split] = text
            for logger in trainer.loggers:
                logger.log_hyperparams({f"{split}/protocol": text})

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._record(trainer, pl_module, "val")

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._record(trainer, pl_module, "test")

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        numbers = {k: float(v) for k, v in trainer.callback_metrics.items()
                   if k.startswith("test/")}
        rank_zero_info(f"test [{self.protocols.get('test')}]: "
                       + ", ".join(f"{k}={v:.4f}" if v % 1 else f"{k}={v:.0f}"
                                   for k, v in sorted(numbers.items())))
