"""``PredictionWriter``: one row per listed video, in list order; an unreadable or missing video
keeps its row with an empty prediction, and no other video's prediction moves."""

import csv

import lightning as L
import numpy as np
import pytest
import torch
from torch import nn

from lightning_vid.callbacks import PredictionWriter
from lightning_vid.data.datamodule import VideoDataModule
from lightning_vid.data.video_io import write_video
from lightning_vid.system import VideoClassifier

TINY = dict(num_segments=4, crop_size=16, scale_size=16, num_workers=0)


class MeanColour(nn.Module):
    """Logits from the mean colour of a clip: its prediction can be computed by hand."""

    num_segments, frames_per_segment = 4, 1

    def __init__(self) -> None:
        super().__init__()
        self.num_classes = 2
        self.fc = nn.Linear(3, 2)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[-4.0, 0.0, 0.0], [4.0, 0.0, 0.0]]))
            self.fc.bias.zero_()

    def forward(self, x):  # (B, T, C, H, W) -> (B, K)
        return self.fc(x.mean(dim=(1, 3, 4)))


@pytest.mark.parametrize("batch_size", [1, 16])
def test_an_unreadable_video_leaves_exactly_its_own_prediction_empty(tmp_path, batch_size):
    (tmp_path / "classes.txt").write_text("dark\nbright\n")
    levels = {"a": 20, "b": 230, "c": 40, "d": 210}
    for name, level in levels.items():
        write_video(tmp_path / f"{name}.mp4", np.full((8, 16, 16, 3), level, dtype=np.uint8))
    (tmp_path / "bad.mp4").write_bytes(b"\x00\x01 not a video" * 50)
    listed = ["a.mp4", "bad.mp4", "b.mp4", "gone.mp4", "c.mp4", "d.mp4"]
    (tmp_path / "todo.csv").write_text("path\n" + "\n".join(listed) + "\n")
    data = VideoDataModule(str(tmp_path), predict_list="todo.csv", batch_size=batch_size,
                           test_batch_size=batch_size, **TINY)
    writer = PredictionWriter(str(tmp_path / "predictions.csv"))
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[writer])
    with pytest.warns(UserWarning, match="gone.mp4"):
        trainer.predict(VideoClassifier(MeanColour()), datamodule=data, return_predictions=False)

    with open(tmp_path / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["path"] for row in rows] == [str(tmp_path / name) for name in listed]
    empty = [name for name, row in zip(listed, rows) if not row["pred"]]
    assert empty == ["bad.mp4", "gone.mp4"]
    for name, row in zip(listed, rows):  # by hand: bright when the mean colour is above 0
        if name in levels:
            assert row["pred"] == ("bright" if levels[name] > 128 else "dark"), name
            assert float(row["prob"]) > 0.5
