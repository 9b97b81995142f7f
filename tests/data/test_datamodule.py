"""The base data module through the generic ``path,label`` CSV module and the fixture layouts:
only the lists a stage needs are read, unlabelled lists, ``predict_list``, CSV edge cases,
missing files, the skipped-file list (exposed, written to the run's folder, logged as a table),
multi-view batches, bad-file exclusion and exactly-once evaluation under DDP."""

import csv
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger, WandbLogger
from torch import nn

from lightning_vid.data.datamodule import VideoDataModule
from lightning_vid.data.dataset import EvalDistributedSampler
from lightning_vid.data.datasets import Kinetics400DataModule, UCF101DataModule
from lightning_vid.data.protocol import EvalProtocol
from lightning_vid.data.video_io import write_video
from lightning_vid.errors import InputError, MissingInput
from lightning_vid.system import VideoClassifier

TINY = dict(num_segments=4, crop_size=16, scale_size=16, batch_size=2, num_workers=0)


def flat(level: int, frames: int = 8) -> np.ndarray:
    return np.full((frames, 16, 16, 3), level, dtype=np.uint8)


@pytest.fixture()
def root(tmp_path):
    """classes.txt (2 classes) and 4 videos a..d; lists are written by each test."""
    (tmp_path / "classes.txt").write_text("zero\none\n")
    (tmp_path / "v").mkdir()
    for i, name in enumerate("abcd"):
        write_video(tmp_path / "v" / f"{name}.mp4", flat(40 * i))
    return tmp_path


def lists(root: Path, **bodies: str) -> None:
    for name, body in bodies.items():
        (root / f"{name}.csv").write_bytes(body.encode())


GOOD = "path,label\nv/a.mp4,0\nv/b.mp4,1\n"


class MeanColour(nn.Module):
    """Logits from the mean colour of a clip: a model the test's trainer can run in no time."""

    num_segments, frames_per_segment = 4, 1

    def __init__(self, num_classes: int = 2) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.fc = nn.Linear(3, num_classes)

    def forward(self, x):  # (B, T, C, H, W) -> (B, K)
        return self.fc(x.mean(dim=(1, 3, 4)))


def test_only_the_lists_a_stage_needs_are_read_and_checked(root):
    lists(root, train=GOOD, val=GOOD, test="path,label\nv/a.mp4,7\n")  # label 7: malformed
    dm = VideoDataModule(str(root), **TINY)
    dm.setup("fit")  # the test list is not read
    with pytest.raises(ValueError, match=rf"{root / 'test.csv'}:2: label 7 outside"):
        dm.setup("test")
    (root / "train.csv").unlink()
    lists(root, test=GOOD)
    dm = VideoDataModule(str(root), **TINY)
    dm.setup("test")  # no train.csv, and testing does not need one
    assert [r.label for r in dm.records("test")] == [0, 1]
    with pytest.raises(FileNotFoundError, match="train.csv"):
        dm.setup("fit")


def test_unlabelled_list_predict_list_and_one_video(root):
    lists(root, test=GOOD, todo="path\nv/c.mp4\nv/d.mp4\n")
    dm = VideoDataModule(str(root), predict_list="todo.csv", **TINY)
    predicted = [(Path(r.path).name, r.label) for r in dm.records("predict")]
    assert predicted == [("c.mp4", -1), ("d.mp4", -1)]
    assert VideoDataModule(str(root), **TINY).records("predict") == dm.records("test")  # default
    one = VideoDataModule(str(root), predict_list="v/d.mp4", **TINY)
    assert [(Path(r.path).name, r.label) for r in one.records("predict")] == [("d.mp4", -1)]
    batch = next(iter(one.predict_dataloader()))
    assert batch["clip"].shape == (1, 4, 3, 16, 16) and batch["label"].tolist() == [-1]


def test_a_training_list_smaller_than_a_batch_is_an_error_not_an_empty_epoch(root):
    lists(root, train=GOOD)
    dm = VideoDataModule(str(root), val_list=None, **{**TINY, "batch_size": 3})
    dm.setup("fit")
    with pytest.raises(ValueError, match=r"train: 2 videos for batch_size 3: .* "
                                         r"--data.batch_size 2 or less"):
        dm.train_dataloader()
    dm = VideoDataModule(str(root), val_list=None, **{**TINY, "batch_size": 2})
    dm.setup("fit")
    assert len(dm.train_dataloader()) == 1


def test_excel_csv_with_bom_and_crlf_is_read(root):
    lists(root, test="\ufeffpath,label\r\nv/a.mp4,0\r\nv/b.mp4,1\r\n")
    dm = VideoDataModule(str(root), **TINY)
    read = [(Path(r.path).name, r.label) for r in dm.records("test")]
    assert read == [("a.mp4", 0), ("b.mp4", 1)]


def test_header_only_list_names_the_file_and_split(root):
    lists(root, val="path,label\n")
    with pytest.raises(ValueError, match=rf"{root / 'val.csv'}: the val list has no records"):
        VideoDataModule(str(root), **TINY).setup("validate")


def test_a_video_listed_twice_is_named_with_both_lines_and_scored_once(root):
    body = "path,label\nv/a.mp4,0\nv/b.mp4,1\nv/./a.mp4,0\n"
    lists(root, train=body, test=body)
    dm = VideoDataModule(str(root), **TINY)
    with pytest.warns(UserWarning, match=r"test: 1 videos listed more than once \(scored once\): "
                                         rf"{root / 'test.csv'}:2 and {root / 'test.csv'}:4"):
        assert [Path(r.path).name for r in dm.records("test")] == ["a.mp4", "b.mp4"]
    with pytest.warns(UserWarning, match=r"kept, as listed"):
        assert len(dm.records("fit")) == 3


def test_missing_files_are_reported_once_at_setup_and_skipped(root):
    rows = [f"v/gone/{i}.mp4,0" for i in range(17)]  # a class folder that was not copied
    lists(root, train="path,label\n" + "\n".join(["v/a.mp4,0", *rows, "v/b.mp4,1"]) + "\n")
    dm = VideoDataModule(str(root), val_list=None, **{**TINY, "batch_size": 19})
    with pytest.warns(UserWarning, match=rf"train: 17 of 19 listed videos are missing and will "
                                         rf"be skipped: {root / 'train.csv'}:3: .*gone/0.mp4"):
        dm.setup("fit")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = next(iter(dm.train_dataloader()))
    assert not [w for w in caught if "gone" in str(w.message)]  # reported once, not per sample
    assert batch["skipped"].sum() == 17 and len(batch["skipped"]) == 19
    assert set(batch["unreadable"]) == {"", "missing"}
    missing = dm.skipped_files("train")
    assert len(missing) == 17 and missing[0].source == f"{root / 'train.csv'}:3"


def test_skipped_files_are_counted_once_written_to_the_run_and_logged(root, tmp_path):
    (root / "v" / "broken.mp4").write_bytes(b"\x00" * 100)
    (root / "v" / "cut.mp4").write_bytes((root / "v" / "c.mp4").read_bytes()[:300])
    body = "path,label\nv/broken.mp4,0\nv/cut.mp4,1\nv/a.mp4,0\nv/gone.mp4,1\nv/b.mp4,1\n"
    lists(root, test=body)
    dm = VideoDataModule(str(root), **{**TINY, "test_batch_size": 2})
    logger = CSVLogger(tmp_path / "runs", name="messy")
    trainer = L.Trainer(logger=logger, enable_progress_bar=False, enable_model_summary=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.test(VideoClassifier(MeanColour()), datamodule=dm, verbose=False)
    metrics = trainer.callback_metrics
    assert metrics["test/skipped"] == 3 and metrics["test/videos"] == 2  # 2 bad in a row: 2, not 3
    with open(Path(logger.log_dir) / "skipped_files.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["split", "path", "listed at", "reason"]
    found = {Path(r[1]).name: (r[0], r[2], r[3]) for r in rows[1:]}
    assert found["gone.mp4"] == ("test", f"{root / 'test.csv'}:5", "missing")
    assert found["broken.mp4"][1] == f"{root / 'test.csv'}:2" and "cut.mp4" in found
    assert {Path(s.path).name for s in dm.skipped_files()} == set(found)


def test_skipped_files_are_written_to_the_run_folder_and_become_a_wandb_table(root, tmp_path):
    """The file in the run's folder (the W&B logger's ``save_dir``, where ``lightning-vid``
    puts ``runs/<name>/version_<n>``), not deep in the W&B run; the table in the W&B run."""
    lists(root, test="path,label\nv/a.mp4,0\nv/gone.mp4,1\n")
    dm = VideoDataModule(str(root), **TINY)
    logger = WandbLogger(save_dir=str(tmp_path), offline=True, project="skips")
    trainer = L.Trainer(logger=logger, enable_progress_bar=False, enable_model_summary=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.test(VideoClassifier(MeanColour()), datamodule=dm, verbose=False)
    run = Path(logger.experiment.dir)
    logger.experiment.finish()
    assert "gone.mp4" in (tmp_path / "skipped_files.csv").read_text()
    assert not (run / "skipped_files.csv").exists()
    tables = list(run.glob("media/table/skipped_files_*.table.json"))
    assert tables and "gone.mp4" in tables[0].read_text()


def test_multi_view_test_batches_hold_every_view_of_a_video(benchmark_root):
    protocol = EvalProtocol("dense", clips=2, crops=3)
    dm = Kinetics400DataModule(str(benchmark_root / "kinetics400"), test_protocol=protocol,
                               dense_window=16, **{**TINY, "crop_size": 32, "scale_size": 32})
    batch = next(iter(dm.test_dataloader()))  # one video per batch by default
    assert batch["clip"].shape == (1, 6, 4, 3, 32, 32)  # (B, V = 2 clips x 3 crops, T, C, H, W)
    assert dm.describe_protocol("test") == "2x3 dense, 32px crops of short side 32"
    assert dm.describe_protocol("validate") == "1x1 centre, 32px crops of short side 32"


def test_bad_file_list_is_excluded_from_every_split(benchmark_root):
    root = benchmark_root / "ucf101"
    bad = root / "bad_files.txt"
    bad.write_text(f"# from check\n{root}/UCF-101/Archery/v_Archery_g08_c03.avi\tcorrupt\tx:3\n"
                   f"{root}/UCF-101/Archery/v_Archery_g01_c01.avi\tmissing\n")
    dm = UCF101DataModule(str(root), exclude="bad_files.txt", **TINY)
    assert [len(dm.records(s)) for s in ("fit", "test")] == [5, 3]
    assert all("Archery" not in r.path for r in dm.records("fit") + dm.records("test"))


def test_evaluation_loaders_use_the_unpadded_sampler_under_ddp(benchmark_root):
    dm = UCF101DataModule(str(benchmark_root / "ucf101"), **TINY)
    indices = []
    for rank in range(3):
        dm.trainer = SimpleNamespace(world_size=3, global_rank=rank)
        loader = dm.test_dataloader()
        assert isinstance(loader.sampler, EvalDistributedSampler)
        indices += list(loader.sampler)
        assert not isinstance(dm.train_dataloader().sampler, EvalDistributedSampler)
    assert sorted(indices) == list(range(4))  # 4 test videos over 3 ranks, none twice
    dm.trainer = SimpleNamespace(world_size=1, global_rank=0)
    assert not isinstance(dm.test_dataloader().sampler, EvalDistributedSampler)
    torch.manual_seed(0)


def test_labels_may_be_class_names_and_a_bad_one_names_line_and_classes(root):
    lists(root, train="path,label\nv/a.mp4,one\nv/b.mp4,0\nv/c.mp4,two\n")
    dm = VideoDataModule(str(root), **TINY)
    with pytest.raises(InputError, match=r"train.csv:4: label 'two' is not an index 0..1 or a "
                                         r"class name \(2 classes: zero, one\)"):
        dm.records("fit")
    lists(root, train="path,label\nv/a.mp4,one\nv/b.mp4,0\n")
    dm = VideoDataModule(str(root), **TINY)
    assert [r.label for r in dm.records("fit")] == [1, 0]


def test_a_missing_root_says_the_folder_is_missing(tmp_path):
    dm = VideoDataModule(str(tmp_path / "nodata"), **TINY)
    with pytest.raises(MissingInput, match=r"--data.root .*nodata: no such folder"):
        dm.num_classes


def test_check_reports_a_damaged_training_video_before_the_first_batch(root, caplog):
    """``check=True``: the damaged file is found when the stage is set up, named with its list
    line, and never handed to a worker; the dropped partial batch is told once, with numbers."""
    (root / "v" / "cut.mp4").write_bytes((root / "v" / "c.mp4").read_bytes()[:300])
    lists(root, train="path,label\nv/a.mp4,0\nv/cut.mp4,1\nv/b.mp4,1\nv/c.mp4,0\nv/d.mp4,1\n")
    dm = VideoDataModule(str(root), val_list=None, check=True, **TINY)
    with caplog.at_level("INFO"):
        dm.setup("fit")
        [skipped] = dm.skipped_files("train")
        assert (Path(skipped.path).name, skipped.source) == ("cut.mp4", f"{root / 'train.csv'}:3")
        assert "train: --data.check: 5 videos opened" in caplog.text and "1 bad" in caplog.text
        dm.train_dataloader()
        dm.train_dataloader()
    told = [r for r in caplog.records if "leaves out" in r.getMessage()]
    assert len(told) == 1 and "train: 5 videos in batches of 2: each epoch uses 4 and leaves " \
                               "out 1" in told[0].getMessage()
    assert 1 in dm._split("fit").missing  # skipped by index: no worker decodes it


def test_a_script_that_reads_batches_with_workers_exits(synthetic_data):
    """A script (or notebook kernel) that reads a few batches through the data module's
    persistent workers and ends: Python's exit sends each worker one SIGTERM, which a worker
    ignores (a run stops by itself on its first one), and then waited for them forever."""
    script = (
        "from lightning_vid.data.datamodule import VideoDataModule\n"
        f"dm = VideoDataModule(root={synthetic_data!r}, num_segments=2, crop_size=32, "
        "scale_size=32, batch_size=2, num_workers=2)\n"
        "dm.setup('fit')\n"
        "loader = dm.train_dataloader()\n"
        "batch = next(iter(loader))\n"
        "print(tuple(batch['clip'].shape))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("(2, 2, 3, 32, 32)")
