"""Shared test settings (tiny, offline, deterministic) and the fixture datasets: the annotation
files under ``data/fixtures/`` (each in its dataset's published format) copied to a temporary
root, with tiny videos or frame folders at every listed path."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lightning_vid.data.datasets.kinetics import kinetics_class_names, read_kinetics_rows
from lightning_vid.data.datasets.ucf101 import read_ucf101_list
from lightning_vid.data.frames_io import write_frame_folder
from lightning_vid.data.video_io import write_video

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
# one thread: tiny models gain nothing from more, and parallel test runs share the cores
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


FIXTURES = Path(__file__).parent / "data" / "fixtures"  # annotation files in published formats
SIZE = (32, 40)  # H, W of the test videos


def ramp_video(num_frames: int, height: int = SIZE[0], width: int = SIZE[1]) -> np.ndarray:
    """uint8 (T, H, W, 3): frame t is a horizontal ramp whose level encodes t (8 per step)."""
    x = np.linspace(0, 60, width, dtype=np.float32)
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    for t in range(num_frames):
        frames[t] = (40 + 5 * (t % 30) + x)[None, :, None].astype(np.uint8)
    return frames


def _copy_all(source: Path, targets: list[Path]) -> None:
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)


@pytest.fixture(scope="session")
def benchmark_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every fixture dataset under one root, media written at the listed paths:

    - ``kinetics400/{train,val,test}/<id>_<start>_<end>.mp4`` (H.264, 40 frames);
    - ``sthv2/20bn-something-something-v2/<id>.webm`` (VP9/VP8, 36 frames);
    - ``hmdb51/hmdb51_org/<class>/<name>.avi`` and ``ucf101/UCF-101/<Class>/<name>.avi``
      (MPEG-4, 30 frames);
    - ``tsm/frames/<id>/img_00001.jpg``... with as many frames as the lists say.
    """
    root = tmp_path_factory.mktemp("benchmarks")
    shutil.copytree(FIXTURES, root, dirs_exist_ok=True)
    base = root / "_base"
    base.mkdir()
    write_video(base / "v.mp4", ramp_video(40))
    write_video(base / "v.webm", ramp_video(36))
    write_video(base / "v.avi", ramp_video(30))

    k400 = root / "kinetics400"
    name = "{youtube_id}_{time_start:06d}_{time_end:06d}.mp4"
    clips = [k400 / row["split"] / name.format(**row) for split in ("train", "val", "test")
             for row in read_kinetics_rows(k400 / "annotations" / f"{split}.csv")]
    _copy_all(base / "v.mp4", clips)

    ssv2 = root / "sthv2"
    ids = [item["id"] for split in ("train", "validation", "test")
           for item in json.loads((ssv2 / "labels" / f"{split}.json").read_text())]
    _copy_all(base / "v.webm", [ssv2 / "20bn-something-something-v2" / f"{i}.webm" for i in ids])

    hmdb = root / "hmdb51"
    avis = [hmdb / "hmdb51_org" / f.name.split("_test_split")[0] / line.split()[0]
            for f in (hmdb / "testTrainMulti_7030_splits").glob("*_split1.txt")
            for line in f.read_text().splitlines() if line.strip()]
    _copy_all(base / "v.avi", avis)

    ucf = root / "ucf101"
    names = ["ApplyEyeMakeup", "ApplyLipstick", "Archery", "HandstandPushups"]
    listed = [r.path for kind in ("trainlist01", "testlist01")
              for r in read_ucf101_list(ucf / "ucfTrainTestlist" / f"{kind}.txt", names,
                                        ucf / "UCF-101")]
    _copy_all(base / "v.avi", [Path(p) for p in listed])

    tsm = root / "tsm"
    for list_name in ("train_videofolder.txt", "val_videofolder.txt"):
        for line in (tsm / list_name).read_text().splitlines():
            folder, count, _ = line.split()
            write_frame_folder(tsm / "frames" / folder, ramp_video(int(count)), quality=95)
    assert kinetics_class_names(k400 / "annotations" / "train.csv")
    return root


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
