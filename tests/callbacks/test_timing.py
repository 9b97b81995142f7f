"""``DataWaitTimer``: the logged wait is the time between two training steps."""

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lightning_vid.callbacks import DataWaitTimer, timing


class Clock:
    """A fake ``perf_counter`` that only moves when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SlowData(Dataset):
    """Each sample advances the clock by 50 ms: a batch of 2 takes 100 ms to load."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def __len__(self) -> int:
        return 6

    def __getitem__(self, i: int) -> dict:
        self.clock.now += 0.05
        return {"clip": torch.ones(3), "label": 0}


class Model(L.LightningModule):
    """A training step that takes 30 ms."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock, self.layer = clock, nn.Linear(3, 1)

    def training_step(self, batch, batch_idx):
        self.clock.now += 0.03
        return self.layer(batch["clip"]).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_the_wait_is_the_loading_time_and_not_the_step(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(timing, "perf_counter", clock)
    trainer = L.Trainer(max_epochs=1, callbacks=[DataWaitTimer()], logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    trainer.fit(Model(clock), DataLoader(SlowData(clock), batch_size=2))
    # three batches of 100 ms each; the 30 ms steps between them are not waiting
    assert float(trainer.callback_metrics["train/data_wait_ms_step"]) == pytest.approx(100.0)
    assert float(trainer.callback_metrics["train/data_wait_ms_epoch"]) == pytest.approx(100.0)
