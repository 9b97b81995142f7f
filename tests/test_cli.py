"""The ``lightning-vid`` CLI end to end on a tiny synthetic benchmark."""

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from lightning_vid.cli import cli_main
from lightning_vid.data.synthetic import generate

CONFIGS = Path(__file__).resolve().parents[1] / "lightning_vid" / "configs"
TSM = str(CONFIGS / "tsm_r18_4x1_synthetic.yaml")
# tiny and fast: 32 px frames, 2 batches an epoch, no worker processes
TINY = ["--data.batch_size=4", "--data.num_workers=0", "--data.crop_size=32",
        "--data.scale_size=32", "--trainer.limit_train_batches=2", "--trainer.limit_val_batches=1",
        "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    return str(generate(tmp_path_factory.mktemp("synthetic"), num_train=16, num_val=8,
                        num_test=8, size=32, frames=44, workers=1, verbose=False))


@pytest.fixture()
def in_tmp(tmp_path, monkeypatch):
    """Run from an empty folder so the configs' relative run folders land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _no_logger():
    """A CSV logger instead of W&B: quicker, and what users of other loggers get."""
    return ['--trainer.logger={"class_path": "lightning.pytorch.loggers.CSVLogger", '
            '"init_args": {"save_dir": "runs/csv"}}']


@pytest.mark.parametrize("config", sorted(glob.glob(str(CONFIGS / "*_synthetic.yaml"))),
                         ids=lambda p: Path(p).stem)
def test_every_synthetic_config_runs(config, tiny_data, in_tmp):
    """One fast_dev_run per shipped config (model, data and trainer sections all valid)."""
    cli = cli_main(["fit", "--config", config, "--data.root", tiny_data, *TINY,
                    "--trainer.fast_dev_run=1"])
    assert cli.trainer.state.finished
    assert cli.model.model.num_classes == 8  # linked from data/classes.txt


def test_fit_then_test_logs_metrics_and_configs_never_collide(tiny_data, in_tmp):
    import wandb

    wandb.finish()  # no run left open by an earlier test may absorb these two
    args = ["--config", TSM, "--data.root", tiny_data, *TINY, "--trainer.max_epochs=1"]
    fit = cli_main(["fit", *args])
    assert {"train/loss", "val/acc1", "val/acc5", "val/mean_class_acc"} <= set(
        fit.trainer.callback_metrics)
    best = fit.trainer.checkpoint_callback.best_model_path
    assert os.path.isfile(best)
    test = cli_main(["test", *args, "--ckpt_path", best])
    acc1 = float(test.trainer.callback_metrics["test/acc1"])
    assert 0.0 <= acc1 <= 1.0 and "test/mean_class_acc" in test.trainer.callback_metrics
    found = glob.glob(str(in_tmp / "runs/**/lightning_config.yaml"), recursive=True)
    saved = sorted({os.path.realpath(p) for p in found})  # W&B's latest-run is a symlink
    assert len(saved) == 2 and len({os.path.dirname(p) for p in saved}) == 2  # one per W&B run
    assert yaml.safe_load(Path(saved[0]).read_text())["data"]["init_args"]["root"] == tiny_data


def test_resume_from_last_checkpoint(tiny_data, in_tmp):
    args = ["--config", TSM, "--data.root", tiny_data, *TINY, *_no_logger()]
    first = cli_main(["fit", *args, "--trainer.max_epochs=1"])
    steps = first.trainer.global_step
    last = in_tmp / "runs/tsm_r18_4x1_synthetic/checkpoints/last.ckpt"
    assert last.is_file() and torch.load(last, weights_only=False)["epoch"] == 0
    resumed = cli_main(["fit", *args, "--trainer.max_epochs=2", "--ckpt_path", "last"])
    assert resumed.trainer.current_epoch == 2
    assert resumed.trainer.global_step == 2 * steps  # continued, not restarted


def test_print_config_output_loads_again(tiny_data, in_tmp):
    cmd = [sys.executable, "-m", "lightning_vid.cli", "fit", "--config", TSM,
           "--data.root", tiny_data, "--print_config"]
    printed = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    (in_tmp / "printed.yaml").write_text(printed)
    cli = cli_main(["fit", "--config", "printed.yaml", *TINY, *_no_logger(),
                    "--trainer.fast_dev_run=1"])
    assert cli.trainer.state.finished and cli.model.model.num_segments == 4


@pytest.mark.parametrize("typo", ["--model.model.init_args.fold_dvi=4", "--data.init_args.num_segmnts=4",
                                  "--trainer.max_epoch=3"])
def test_config_typos_are_rejected_before_anything_runs(typo, tiny_data, in_tmp, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli_main(["fit", "--config", TSM, "--data.root", tiny_data, typo])
    assert exit_.value.code != 0
    assert typo.split("=")[0].split(".")[-1] in capsys.readouterr().err
    assert not (in_tmp / "runs").exists()


def test_typo_inside_a_yaml_file_is_rejected(tiny_data, in_tmp, capsys):
    shutil.copytree(CONFIGS / "synthetic", in_tmp / "synthetic")  # the pieces it reads
    config = yaml.safe_load(Path(TSM).read_text())
    config["model"]["model"]["init_args"]["backbon"] = "resnet18"
    (in_tmp / "bad.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(SystemExit):
        cli_main(["fit", "--config", "bad.yaml", "--data.root", tiny_data])
    assert "backbon" in capsys.readouterr().err


def test_frames_per_segment_mismatch_is_an_error(tiny_data, in_tmp):
    with pytest.raises(ValueError, match="frames_per_segment"):
        cli_main(["fit", "--config", TSM, "--data.root", tiny_data, *TINY, *_no_logger(),
                  "--data.init_args.frames_per_segment=2", "--trainer.fast_dev_run=1"])


def test_unreadable_videos_are_skipped_and_counted(tiny_data, in_tmp):
    root = in_tmp / "broken"
    root.mkdir()
    (root / "classes.txt").write_text(Path(tiny_data, "classes.txt").read_text())
    rows = Path(tiny_data, "train.csv").read_text().splitlines()
    good = [f"{tiny_data}/{r}" for r in rows[1:5]]
    (root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not a video")
    body = ["path,label", good[0], "missing.mp4,1", good[1], "corrupt.mp4,2", good[2], good[3]]
    for split in ("train", "val", "test"):
        (root / f"{split}.csv").write_text("\n".join(body) + "\n")
    with pytest.warns(UserWarning, match="missing.mp4"):
        cli = cli_main(["fit", "--config", TSM, "--data.root", str(root), *TINY, *_no_logger(),
                        "--data.batch_size=3", "--trainer.max_epochs=1",
                        "--trainer.limit_train_batches=null", "--trainer.limit_val_batches=null"])
    metrics = cli.trainer.callback_metrics
    assert metrics["val/skipped"] == 2  # both bad files, each counted once
    assert cli.trainer.state.finished
