"""Shared fixtures: a tiny synthetic benchmark and one CLI run with both callbacks on W&B."""

import glob
import os
from pathlib import Path

import pytest

from lightning_vid.data.synthetic import generate

CONFIGS = Path(__file__).resolve().parents[2] / "lightning_vid" / "configs"
TSM = str(CONFIGS / "tsm_r18_4x1_synthetic.yaml")
# 32 px frames, T = 4 (the config's), one batch of 2 clips to train and one to validate
TINY = ["--data.batch_size=2", "--data.num_workers=0", "--data.crop_size=32",
        "--data.scale_size=32", "--trainer.limit_train_batches=1", "--trainer.limit_val_batches=1",
        "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false"]
CALLBACKS = [
    "--trainer.callbacks+=lightning_vid.callbacks.KernelAttentionLogger",
    "--trainer.callbacks.num_clips=2",
    "--trainer.callbacks+=lightning_vid.callbacks.GradCAMLogger",
    "--trainer.callbacks.num_clips=2",
    "--trainer.callbacks.log_videos=true",
]


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    return str(generate(tmp_path_factory.mktemp("synthetic"), num_train=8, num_val=4,
                        num_test=4, size=32, frames=44, workers=1, verbose=False))


@pytest.fixture(scope="session")
def cli_run(tiny_data, tmp_path_factory):
    """``lightning-vid fit`` of TCM (flow, confidence and attention to draw) with both
    callbacks from the command line, logging to W&B offline, from an empty folder."""
    from lightning_vid.cli import cli_main

    work = tmp_path_factory.mktemp("cli_run")
    old = os.getcwd()
    os.chdir(work)
    try:
        cli = cli_main(["fit", "--config", TSM, "--data.root", tiny_data, *TINY,
                        "--model.model=lightning_vid.models.zoo.TCM", *CALLBACKS])
    finally:
        os.chdir(old)
    [run_dir] = glob.glob(str(work / "runs/**/wandb/offline-run-*/files"), recursive=True)
    return {"cli": cli, "work": work, "run_dir": Path(run_dir), "data": tiny_data,
            "ckpt": Path(cli.trainer.checkpoint_callback.last_model_path)}
