"""Shared test settings: tiny, offline, deterministic."""

import os

import pytest
import torch

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
# one thread: tiny models gain nothing from more, and parallel test runs share the cores
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory):
    """A tiny synthetic benchmark: 8 classes, 8 train / 4 val / 4 test videos, 32 px, 44 frames."""
    from lightning_vid.data.synthetic import generate

    return str(generate(tmp_path_factory.mktemp("synthetic"), num_train=8, num_val=4,
                        num_test=4, size=32, frames=44, workers=1, verbose=False))


@pytest.fixture(scope="session")
def wandb_runs():
    """What every W&B run of the session held when it finished: ``name``, ``group``,
    ``job_type``, ``config`` (offline runs keep them in a binary file only)."""
    import wandb

    runs, finish = [], wandb.Run.finish

    def record(run, *args, **kwargs):
        runs.append({"name": run.name, "group": run.group, "job_type": run.job_type,
                     "config": dict(run.config)})
        return finish(run, *args, **kwargs)

    wandb.Run.finish = record
    yield runs
    wandb.Run.finish = finish


@pytest.fixture(scope="session")
def cli_run(synthetic_data, tmp_path_factory, wandb_runs):
    """``lightning-vid fit`` of TCM (flow, confidence and attention to draw) with both figure
    callbacks from the command line, logging to W&B offline, from an empty folder:
    ``{"cli", "work", "run_dir" (the W&B run's files), "data", "ckpt" (last.ckpt), "wandb"
    (the W&B run as it finished)}``."""
    import glob
    from pathlib import Path

    from lightning_vid.cli import cli_main

    root = Path(__file__).resolve().parents[1] / "lightning_vid" / "configs"
    work = tmp_path_factory.mktemp("cli_run")
    old = os.getcwd()
    os.chdir(work)
    try:
        cli = cli_main([
            "fit", "--config", str(root / "tsm_r18_4x1_synthetic.yaml"),
            "--data.root", synthetic_data, "--data.batch_size=2", "--data.num_workers=0",
            "--data.crop_size=32", "--data.scale_size=32", "--trainer.limit_train_batches=1",
            "--trainer.limit_val_batches=1", "--trainer.max_epochs=1",
            "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
            "--model.model=lightning_vid.models.zoo.TCM",
            "--trainer.callbacks+=lightning_vid.callbacks.KernelAttentionLogger",
            "--trainer.callbacks.num_clips=2",
            "--trainer.callbacks+=lightning_vid.callbacks.GradCAMLogger",
            "--trainer.callbacks.num_clips=2", "--trainer.callbacks.log_videos=true"])
    finally:
        os.chdir(old)
    [run_dir] = glob.glob(str(work / "runs/**/wandb/offline-run-*/files"), recursive=True)
    return {"cli": cli, "work": work, "run_dir": Path(run_dir), "data": synthetic_data,
            "ckpt": work / "runs/tsm_r18_4x1_synthetic/version_0/checkpoints/last.ckpt",
            "wandb": wandb_runs[-1]}
