"""The system (``lightning_vid/system.py``). Multi-view evaluation: chunks of whole clips, logits
or softmax fusion, video-level metrics that count each video once, the protocol logged with the
numbers, and the per-step data-wait time; end to end through ``lightning-vid`` on the UCF101
fixture."""

from pathlib import Path

import lightning as L
import pytest
import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader

from lightning_vid.cli import cli_main
from lightning_vid.system import VideoClassifier

ROOT = Path(__file__).resolve().parents[1]
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
    # rows 3, 4 stand in for unreadable videos (wrong predictions), row 5 has no label
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.test(VideoClassifier(Probe()), dataloaders=DataLoader([batch], batch_size=None))
    metrics = trainer.callback_metrics
    assert metrics["test/acc1"] == pytest.approx(2 / 3)  # rows 0, 1 right, row 2 wrong
    assert metrics["test/videos"] == 3 and metrics["test/skipped"] == 2


@pytest.fixture()
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_fit_logs_data_wait_and_multi_view_test_records_its_protocol(benchmark_root, in_tmp):
    common = ["--config", str(ROOT / "lightning_vid/configs/tsm_r18_4x1_synthetic.yaml"),
              "--data", str(ROOT / "lightning_vid/configs/data/ucf101.yaml"),
              "--data.init_args.root", str(benchmark_root / "ucf101"),
              "--data.init_args.crop_size=32", "--data.init_args.scale_size=32",
              "--data.init_args.batch_size=2", "--data.init_args.num_workers=0",
              '--trainer.logger={"class_path": "lightning.pytorch.loggers.CSVLogger", '
              '"init_args": {"save_dir": "runs/csv"}}',
              "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
    fit = cli_main(["fit", *common, "--trainer.max_epochs=1", "--trainer.limit_train_batches=2",
                    "--trainer.limit_val_batches=1", "--trainer.log_every_n_steps=1"])
    assert fit.model.model.num_classes == 4  # classInd.txt of the fixture
    assert float(fit.trainer.callback_metrics["train/data_wait_ms"]) >= 0
    test = cli_main(["test", *common, "--model.eval_fusion=softmax",
                     '--data.init_args.test_protocol={"sampling": "uniform", "clips": 2, '
                     '"crops": 3}'])
    metrics = test.trainer.callback_metrics
    assert metrics["test/videos"] == 4 and metrics["test/skipped"] == 0  # each video once
    protocol = "2x3 uniform, 32px crops of short side 32, softmax avg"
    assert test.model.eval_protocols["test"] == protocol
    logged = yaml.safe_load(Path(test.trainer.logger.log_dir, "hparams.yaml").read_text())
    assert logged["test/protocol"] == protocol
