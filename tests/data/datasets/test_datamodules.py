"""Every benchmark data module reads its published layout and loads batches, and every shipped
data config instantiates and reads its first test sample."""

import glob
import warnings
from pathlib import Path

import lightning as L
import pytest
from jsonargparse import ArgumentParser

from lightning_vid.data.datasets import (FrameListDataModule, HMDB51DataModule,
                                         Kinetics400DataModule, SomethingSomethingV2DataModule,
                                         UCF101DataModule)

CONFIGS = Path(__file__).resolve().parents[3] / "lightning_vid" / "configs" / "data"
TINY = dict(num_segments=4, crop_size=32, scale_size=32, batch_size=2, num_workers=0)
MODULES = {  # fixture folder, class, its arguments, (classes, train, val, test videos)
    "kinetics400": (Kinetics400DataModule, {}, (3, 6, 3, 3)),
    "sthv2": (SomethingSomethingV2DataModule, {}, (174, 6, 3, 3)),
    "hmdb51": (HMDB51DataModule, {"split": 1}, (4, 5, 4, 4)),
    "ucf101": (UCF101DataModule, {"split": 1}, (4, 6, 4, 4)),
    "tsm": (FrameListDataModule, {}, (3, 3, 2, 2)),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_benchmark_modules_read_their_layout_and_load_batches(name, benchmark_root):
    cls, kwargs, (classes, train, val, test) = MODULES[name]
    dm = cls(str(benchmark_root / name), **kwargs, **TINY)
    assert dm.num_classes == classes and (dm.num_segments, dm.frames_per_segment) == (4, 1)
    assert [len(dm.records(s)) for s in ("fit", "validate", "test")] == [train, val, test]
    assert all(r.source for r in dm.records("fit"))  # every record names its list line
    batch = next(iter(dm.train_dataloader()))
    assert batch["clip"].shape == (2, 4, 3, 32, 32) and batch["skipped"].sum() == 0
    batch = next(iter(dm.val_dataloader()))
    assert batch["clip"].shape == (2, 4, 3, 32, 32) and batch["label"].max() < classes


@pytest.mark.parametrize("name", list(MODULES))
def test_predict_list_may_name_one_video(name, benchmark_root):
    cls, kwargs, _ = MODULES[name]
    dm = cls(str(benchmark_root / name), **kwargs, **TINY)
    video = dm.records("test")[0].path
    one = cls(str(benchmark_root / name), **kwargs, **TINY, predict_list=video)
    assert [(r.path, r.label) for r in one.records("predict")] == [(video, -1)]
    assert next(iter(one.predict_dataloader()))["clip"].shape == (1, 4, 3, 32, 32)


FIXTURE_OF = {"kinetics400": "kinetics400", "sthv2": "sthv2", "hmdb51": "hmdb51",
              "ucf101": "ucf101", "sthv2_tsm": "tsm"}


@pytest.mark.parametrize("config", sorted(glob.glob(str(CONFIGS / "*.yaml"))),
                         ids=lambda p: Path(p).stem)
def test_shipped_data_configs_instantiate(config, benchmark_root):
    stem = Path(config).stem
    fixture = next(v for k, v in sorted(FIXTURE_OF.items(), key=lambda kv: -len(kv[0]))
                   if stem.startswith(k))
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(L.LightningDataModule, "data")
    cfg = parser.parse_args(["--data", config, "--data.init_args.root",
                             str(benchmark_root / fixture), "--data.init_args.num_workers=0"])
    dm = parser.instantiate_classes(cfg).data
    assert dm.num_classes > 0 and dm.num_segments == 8
    if "frames" not in stem:  # the fixtures have videos, not these frame folders
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no missing or skipped files: paths resolve
            assert dm.records("fit")
            sample = dm.dataset("test")[0]
        views = dm.protocols["test"].views
        assert sample["clip"].shape[:2] == ((views, 8) if views > 1 else (8, 3))
