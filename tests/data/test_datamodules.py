"""The benchmark data modules on the fixture datasets, the shipped data configs, multi-view test
batches, the flip policy, bad-file exclusion and exactly-once evaluation under DDP."""

import glob
import warnings
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from jsonargparse import ArgumentParser

from lightning_vid.data.benchmarks import (FrameListDataModule, HMDB51DataModule,
                                           Kinetics400DataModule, SomethingSomethingV2DataModule,
                                           UCF101DataModule)
from lightning_vid.data.dataset import EvalDistributedSampler
from lightning_vid.data.protocol import EvalProtocol

CONFIGS = Path(__file__).resolve().parents[2] / "lightning_vid" / "configs" / "data"
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
    assert [len(dm.records[s]) for s in ("fit", "validate", "test")] == [train, val, test]
    batch = next(iter(dm.train_dataloader()))
    assert batch["clip"].shape == (2, 4, 3, 32, 32) and batch["skipped"].sum() == 0
    batch = next(iter(dm.val_dataloader()))
    assert batch["clip"].shape == (2, 4, 3, 32, 32) and batch["label"].max() < classes


def test_multi_view_test_batches_hold_every_view_of_a_video(benchmark_root):
    protocol = EvalProtocol("dense", clips=2, crops=3)
    dm = Kinetics400DataModule(str(benchmark_root / "kinetics400"), test_protocol=protocol,
                               dense_window=16, **TINY)
    batch = next(iter(dm.test_dataloader()))  # one video per batch by default
    assert batch["clip"].shape == (1, 6, 4, 3, 32, 32)  # (B, V = 2 clips x 3 crops, T, C, H, W)
    assert dm.describe_protocol("test") == "2x3 dense, 32px crops of short side 32"
    assert dm.describe_protocol("validate") == "1x1 centre, 32px crops of short side 32"


def test_ssv2_flip_swaps_exactly_the_left_right_classes(benchmark_root):
    root = str(benchmark_root / "sthv2")
    swap = SomethingSomethingV2DataModule(root, flip=True, directional="swap_label", **TINY)
    joint = swap.dataset("fit", train=True).joint_transform
    assert joint.pairs == {86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}
    off = SomethingSomethingV2DataModule(root, flip=False, **TINY)
    assert off.dataset("fit", train=True).joint_transform is None
    labels = set()
    for seed in range(12):  # the "pulling left to right" clip comes back under both labels
        torch.manual_seed(seed)
        labels.add(swap.dataset("fit", train=True)[2]["label"])
    assert labels == {86, 87}


def test_bad_file_list_is_excluded_from_every_split(benchmark_root, tmp_path):
    root = benchmark_root / "ucf101"
    bad = root / "bad_files.txt"
    bad.write_text(f"# from check_dataset\n{root}/UCF-101/Archery/v_Archery_g08_c03.avi\tcorrupt\n"
                   f"{root}/UCF-101/Archery/v_Archery_g01_c01.avi\tmissing\n")
    dm = UCF101DataModule(str(root), exclude="bad_files.txt", **TINY)
    assert [len(dm.records[s]) for s in ("fit", "test")] == [5, 3]
    assert all("Archery" not in r.path for r in dm.records["fit"] + dm.records["test"])


@pytest.mark.parametrize("size,world", [(10, 2), (11, 2), (7, 3), (2, 4)])
def test_eval_sampler_partitions_the_dataset(size, world):
    parts = [list(EvalDistributedSampler(range(size), world, rank)) for rank in range(world)]
    flat = sorted(i for part in parts for i in part)
    assert flat == list(range(size))  # every video exactly once: no padding, no repeats
    lengths = [len(EvalDistributedSampler(range(size), world, r)) for r in range(world)]
    assert lengths == [len(p) for p in parts] and max(lengths) - min(lengths) <= 1


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
    assert dm.num_classes > 0 and dm.records["fit"] and dm.num_segments == 8
    if "frames" not in stem:  # the fixtures have videos, not these frame folders
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no skipped files: paths resolve as configured
            sample = dm.dataset("test")[0]
        views = dm.protocols["test"].views
        assert sample["clip"].shape[:2] == ((views, 8) if views > 1 else (8, 3))


def test_ssv2_webm_headers_carry_no_frame_count_yet_frames_are_counted(benchmark_root):
    import av

    from lightning_vid.data import count_frames

    path = benchmark_root / "sthv2" / "20bn-something-something-v2" / "78687.webm"
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 0  # nothing in the header
    assert count_frames(path) == 36  # counted by demuxing
