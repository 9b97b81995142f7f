"""A messy dataset (``messy.py``: good videos in H.264, VP8/VP9, MPEG-4 and frame folders beside
truncated, corrupt, empty, missing and audio-only files) through the data module's public API,
loaders at ``num_workers`` 0 and 2: no crash, no hang; every readable video scored once; every
unreadable record skipped, counted once and named with its list line, in the run's folder too;
the checker lists exactly the files the loaders skip, and its list as ``exclude`` leaves no
stand-in. Then the CSV edge cases, each with what a user sees."""

import re
import warnings
from pathlib import Path

import lightning as L
import pytest
import yaml
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from lightning_vid.data.annotations import same_file
from lightning_vid.data.datamodule import VideoDataModule
from lightning_vid.system import VideoClassifier

from messy import write_list, write_messy

TINY = dict(num_segments=4, crop_size=16, scale_size=16, num_workers=0, val_list=None)


class MeanColour(nn.Module):
    """Logits from the mean colour of a clip: a model a trainer runs in no time."""

    num_segments, frames_per_segment, num_classes = 4, 1, 2

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):  # (B, T, C, H, W) -> (B, K)
        return self.fc(x.mean(dim=(1, 3, 4)))


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    root = tmp_path_factory.mktemp("messy")
    (root / "classes.txt").write_text("a\nb\n")
    cases = write_messy(root)
    write_list(root, cases, "list.csv")
    return root, cases


def rows(root: Path, cases, outcomes, whole: bool = False) -> dict[str, str]:
    """``{file key: "list.csv:line"}`` of the cases with one of ``outcomes`` (``whole``: only
    those that no read gets through)."""
    found = {}
    for case in cases:
        if case.outcome in outcomes and (case.whole or not whole):
            for path, line in zip(case.paths, case.lines):
                found[same_file(root / path)] = f"{root / 'list.csv'}:{line}"
    return found


def run(trainer_fn: str, dm: VideoDataModule, tmp_path: Path, **trainer_args) -> dict:
    trainer = L.Trainer(logger=CSVLogger(tmp_path), enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False, **trainer_args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(trainer, trainer_fn)(VideoClassifier(MeanColour()), datamodule=dm)
    return {k: float(v) for k, v in trainer.callback_metrics.items()} | {
        "log_dir": trainer.logger.log_dir}


@pytest.mark.parametrize("workers", [0, 2])
def test_every_readable_video_scored_once_every_unreadable_one_skipped_and_named(
        messy, tmp_path, workers):
    root, cases = messy
    dm = VideoDataModule(str(root), train_list="list.csv", test_list="list.csv", batch_size=1,
                         test_batch_size=4, **{**TINY, "num_workers": workers})
    metrics = run("test", dm, tmp_path / "test")
    unreadable = rows(root, cases, {"skipped"})
    scored = rows(root, cases, {"scored", "partly"})  # the centre frames miss the damage
    assert metrics["test/videos"] == len(scored) and metrics["test/skipped"] == len(unreadable)
    skipped = {same_file(s.path): s.source for s in dm.skipped_files("test")}
    assert skipped == unreadable  # each named with its list line
    written = (Path(metrics["log_dir"]) / "skipped_files.csv").read_text()
    assert all(line in written for line in unreadable.values())
    # training reads random frames, which reach damage in the middle of a file or not; every
    # record is read once per epoch, so each unreadable one is counted once
    metrics = run("fit", dm, tmp_path / "fit", max_epochs=1)
    always, partly = rows(root, cases, {"skipped"}, whole=True), rows(root, cases, {"partly"})
    assert len(always) <= metrics["train/skipped"] <= len(unreadable) + len(partly)


def test_checker_lists_what_the_loaders_skip_and_its_list_leaves_no_stand_in(messy, tmp_path,
                                                                             run_tool):
    root, cases = messy
    config = tmp_path / "messy.yaml"
    config.write_text(yaml.safe_dump({
        "class_path": "lightning_vid.data.datamodule.VideoDataModule",
        "init_args": {"root": str(root), "train_list": None, "val_list": None,
                      "test_list": "list.csv"}}))
    check = run_tool("check", "--data-config", str(config), "--bad-list", str(root / "bad.txt"),
                     "--workers", "2", "--no-progress")
    assert check.returncode == 1, check.stderr
    listed = {}
    for line in (root / "bad.txt").read_text().splitlines()[1:]:
        path, reason, source = line.split("\t")
        listed[same_file(path)] = source
    assert listed == rows(root, cases, {"skipped", "partly"})
    dm = VideoDataModule(str(root), train_list="list.csv", test_list="list.csv", batch_size=1,
                         exclude="bad.txt", **{**TINY, "num_workers": 2})
    metrics = run("test", dm, tmp_path / "test")
    assert metrics["test/skipped"] == 0
    assert metrics["test/videos"] == len(rows(root, cases, {"scored"}))
    assert run("fit", dm, tmp_path / "fit", max_epochs=2)["train/skipped"] == 0
    assert not dm.skipped_files()


CSV_CASES = {  # name: (body of test.csv, records read, the warning or error a user sees)
    "Excel CSV UTF-8 (BOM, CRLF)": ("\ufeffpath,label\r\nm/a.mp4,0\r\nm/b.mp4,1\r\n", 2, None),
    "blank lines and spaces": ("path,label\n\n m/a.mp4 ,0\n\n", 1, None),
    "a comma in a quoted path": ('path,label\n"m/a,b.mp4",1\n', 1, None),
    "unlabelled list (path only)": ("path\nm/a.mp4\nm/b.mp4\n", 2, None),
    "duplicated row": ("path,label\nm/a.mp4,0\nm/b.mp4,1\nm/a.mp4,0\n", 2,
                       "1 videos listed more than once (scored once): {csv}:2 and {csv}:4"),
    "one video, two spellings": ("path,label\nm/a.mp4,0\nm/./a.mp4,0\n", 1,
                                 "more than once (scored once): {csv}:2 and {csv}:3"),
    "header only": ("path,label\n", 0, "{csv}: the test list has no records"),
    "label out of range": ("path,label\nm/a.mp4,2\n", 0, "{csv}:2: label 2 outside [0, 2)"),
    "label neither an index nor a class name": (
        "path,label\nm/a.mp4,x\n", 0, "{csv}:2: label 'x' is not an index 0..1 or a class name"),
    "a row without its label": ("path,label\nm/a.mp4,0\nm/b.mp4\n", 0,
                                "{csv}:3: expected 'path,label'"),
    "a row with three fields": ("path,label\nm/a.mp4,0,x\n", 0, "{csv}:2: expected 'path,label'"),
    "an empty path": ("path,label\n,1\n", 0, "{csv}:2: expected 'path,label'"),
    "another header": ("file,class\nm/a.mp4,0\n", 0,
                       "{csv}:1: expected the header 'path,label'"),
    "semicolons (a localised Excel)": ("path;label\nm/a.mp4;0\n", 0,
                                       "{csv}:1: expected the header 'path,label'"),
}


@pytest.mark.parametrize("name", list(CSV_CASES))
def test_csv_edge_cases(name, tmp_path):
    body, count, message = CSV_CASES[name]
    (tmp_path / "classes.txt").write_text("a\nb\n")
    (tmp_path / "m").mkdir()
    for video in ("a.mp4", "b.mp4", "a,b.mp4"):
        (tmp_path / "m" / video).write_bytes(b"")  # listed files exist: only the list matters
    csv_path = tmp_path / "test.csv"
    csv_path.write_bytes(body.encode())
    dm = VideoDataModule(str(tmp_path), train_list=None, **TINY)
    message = re.escape(message.format(csv=csv_path)) if message else None
    if message and not count:  # refused before any batch, naming the file and line
        with pytest.raises(ValueError, match=message):
            dm.records("test")
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert len(dm.records("test")) == count
    shown = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert (re.search(message, " ".join(shown)) is not None) if message else not shown


def test_missing_list_and_class_file_are_named(tmp_path):
    (tmp_path / "classes.txt").write_text("a\n")
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "test.csv"))):
        VideoDataModule(str(tmp_path), train_list=None, **TINY).setup("test")
    (tmp_path / "classes.txt").unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "classes.txt"))):
        VideoDataModule(str(tmp_path), **TINY).num_classes
