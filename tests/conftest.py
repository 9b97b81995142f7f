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
