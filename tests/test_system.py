"""``VideoClassifier``: multi-view evaluation in chunks of whole clips, logits or softmax
fusion, video-level metrics that count each video once and agree with the predictions they
summarise at any batch size, and the protocol recorded next to them."""

from pathlib import Path

import lightning as L
import pytest
import torch
import yaml
from lightning.pytorch.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader

from lightning_vid.callbacks import ProtocolLogger
from lightning_vid.data.datamodule import VideoDataModule
from lightning_vid.data.protocol import EvalProtocol
from lightning_vid.system import VideoClassifier, split_metrics

T, K = 4, 3


class Probe(nn.Module):
    """Logits = the first K pixels of each clip's first frame; records the batches it sees."""

    num_classes, num_segments, frames_per_segment = K, T, 1

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.seen: list[tuple] = []

    def forward(self, x):  # (B, T, C, H, W)
        self.seen.append(tuple(x.shape))
        return x[:, 0, 0, 0, :K] * self.scale


def views(b: int, v: int) -> torch.Tensor:
    return torch.randn(b, v, T, 3, 4, 4)


def test_views_run_in_chunks_of_whole_clips_and_fuse_logits_or_softmax():
    clip = views(2, 6)
    logits = clip[:, :, 0, 0, 0, :K]  # (B, V, K): what the probe returns per view
    system = VideoClassifier(Probe(), views_per_forward=4)
    fused = system.video_logits(clip)
    assert system.model.seen == [(4, T, 3, 4, 4)] * 3  # 12 clips, 4 at a time, T never split
    assert torch.allclose(fused, logits.mean(1))
    soft = VideoClassifier(Probe(), eval_fusion="softmax").video_logits(clip)
    assert torch.allclose(soft.exp(), logits.softmax(-1).mean(1), atol=1e-6)
    assert torch.equal(system.video_logits(clip[:, 0]), logits[:, 0])  # single view: as is


def test_metrics_count_each_readable_labelled_video_once():
    clip = torch.zeros(6, T, 3, 4, 4)
    clip[:, 0, 0, 0, :K] = torch.eye(K)[[0, 1, 2, 0, 1, 2]] * 5  # predicts 0, 1, 2, 0, 1, 2
    batch = {"clip": clip, "label": torch.tensor([0, 1, 0, 0, 2, -1]),
             "skipped": torch.tensor([0, 0, 0, 1, 1, 0]), "index": torch.arange(6)}
    # rows 3, 4 stand in for unreadable videos (wrong predictions), row 5 has no label; the
    # second batch is one stand-in alone (multi-view tests: one video per batch)
    alone = {"clip": clip[3:4], "label": torch.tensor([0]), "skipped": torch.tensor([1]),
             "index": torch.tensor([6])}
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.test(VideoClassifier(Probe()), dataloaders=DataLoader([batch, alone],
                                                                   batch_size=None))
    metrics = trainer.callback_metrics
    assert metrics["test/acc1"] == pytest.approx(2 / 3)  # rows 0, 1 right, row 2 wrong
    assert metrics["test/videos"] == 3 and metrics["test/skipped"] == 3
    # the loss too: the mean cross-entropy of rows 0, 1, 2 only, computed here in float64
    scored = clip[:3, 0, 0, 0, :K].double()
    expected = torch.nn.functional.cross_entropy(scored, torch.tensor([0, 1, 0]))
    assert float(metrics["test/loss"]) == pytest.approx(float(expected), rel=1e-6)


def from_predictions(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """The three metrics computed by hand: top-1, top-5 and the mean over the classes present
    of each class's top-1 accuracy."""
    pred, top5 = logits.argmax(-1), logits.topk(min(5, logits.shape[1]), -1).indices
    per_class = [(pred[labels == c] == c).float().mean() for c in labels.unique()]
    return {"acc1": float((pred == labels).float().mean()),
            "acc5": float((top5 == labels[:, None]).any(-1).float().mean()),
            "mean_class_acc": float(torch.stack(per_class).mean())}


@pytest.mark.parametrize("batch_size", [1, 16])
def test_metrics_agree_with_the_predictions_at_any_batch_size(batch_size):
    """One video per batch (multi-view testing's default) used to make torchmetrics merge mean
    class accuracy with top-5 (their states are equal after a first right video)."""
    torch.manual_seed(0)
    logits, labels = torch.randn(64, 10), torch.randint(0, 10, (64,))
    labels[:3] = torch.tensor([3, 3, 5])  # a class without videos: 9 classes of 10 present
    labels[labels == 9] = 2
    labels[0] = logits[0].argmax()  # the first video is right
    metrics = split_metrics(10, "test/")
    for chunk, target in zip(logits.split(batch_size), labels.split(batch_size)):
        metrics.update(chunk, target)
    got = {k.split("/")[1]: float(v) for k, v in metrics.compute().items()}
    expected = from_predictions(logits, labels)
    assert got == pytest.approx(expected, abs=1e-6)
    assert expected["mean_class_acc"] != pytest.approx(expected["acc5"])  # they can be told apart


def test_the_protocol_is_logged_with_the_test_metrics(synthetic_data, tmp_path):
    """A multi-view test through a plain Trainer: the protocol of the data module and the
    system's fusion, as a hyperparameter next to the metrics (tests/test_cli.py: printed)."""
    dm = VideoDataModule(synthetic_data, num_segments=T, crop_size=32, scale_size=32,
                         num_workers=0, test_protocol=EvalProtocol("uniform", clips=2, crops=3))
    system = VideoClassifier(Probe(), eval_fusion="softmax")
    trainer = L.Trainer(logger=CSVLogger(tmp_path), enable_progress_bar=False,
                        enable_model_summary=False, limit_test_batches=2)
    trainer.test(system, datamodule=dm, verbose=False)
    [callback] = [c for c in trainer.callbacks if isinstance(c, ProtocolLogger)]
    protocol = "2x3 uniform, 32px crops of short side 32, softmax avg"
    assert callback.protocols["test"] == protocol
    logged = yaml.unsafe_load(Path(trainer.logger.log_dir, "hparams.yaml").read_text())
    assert logged["test/protocol"] == protocol
    assert trainer.callback_metrics["test/videos"] == 2  # two batches of one video
