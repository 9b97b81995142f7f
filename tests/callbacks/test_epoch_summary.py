"""``EpochSummary``: a line per epoch with the epoch's metrics where no bar shows them."""

import re

import lightning as L
import pytest
import torch
from lightning.pytorch.demos.boring_classes import BoringModel
from torch.utils.data import DataLoader

from lightning_vid.callbacks import EpochSummary


class Logged(BoringModel):
    """BoringModel logging a per-step value and an epoch metric whose mean is known."""

    def training_step(self, batch, batch_idx):
        out = super().training_step(batch, batch_idx)
        self.log("train/loss", out["loss"])
        self.log("train/count", float(batch_idx), on_step=True, on_epoch=True)
        return out

    def validation_step(self, batch, batch_idx):
        self.log("val/acc1", 0.25 * (batch_idx + 1))  # epoch mean over 2 batches: 0.375


def _fit(bar: bool) -> None:
    data = DataLoader(torch.randn(8, 32), batch_size=2)
    trainer = L.Trainer(max_epochs=2, limit_train_batches=4, limit_val_batches=2, logger=False,
                        enable_checkpointing=False, enable_model_summary=False,
                        enable_progress_bar=bar, callbacks=[EpochSummary()],
                        num_sanity_val_steps=0)
    trainer.fit(Logged(), data, data)


@pytest.mark.parametrize("bar", [False, True], ids=["no bar", "bar to a file"])
def test_one_line_per_epoch_with_the_epoch_metrics(bar, capsys):
    """Under pytest stdout is not a terminal, as in a log file: with or without the bar, each
    epoch is a line of its own with the epoch's values (the mean of ``train/count`` over
    steps 0..3 is 1.5)."""
    _fit(bar)
    lines = [line for line in capsys.readouterr().out.split("\n") if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    for line in lines:
        values = dict(re.findall(r"(\S+)=(\S+)", line))
        assert values["train/count"] == "1.5000" and values["val/acc1"] == "0.3750"
        assert "train/count_step" not in values and "train/loss" in values
