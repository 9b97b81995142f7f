"""Data modules: one base for clip sampling, views, bad files and loaders; one class per format.

:class:`ClipDataModule` owns everything that does not depend on the annotation format: the
training sampler (TSN sparse or I3D-style dense), the transforms and the left/right-aware flip,
the validation and test protocols (:class:`~lightning_vid.data.protocol.EvalProtocol`), the
bad-file exclusion list, the frame-folder names and the DataLoaders, including the no-padding
sampler that makes DDP evaluation count every video exactly once. A subclass only reads its
annotation files (:meth:`read_class_names`, :meth:`read_split`). Every data module exposes
``num_classes``, ``num_segments`` and ``frames_per_segment``, which the CLI links to the model.

:class:`VideoDataModule` is the generic format (``path,label`` CSVs and ``classes.txt``); the
benchmarks (Kinetics-400, SSv2, HMDB51, UCF101, TSM lists) are in
:mod:`lightning_vid.data.benchmarks`. Lists are read and checked when the module is built, so
a malformed line fails before training.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path
from typing import Any, Literal, Optional

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from torch.utils.data import DataLoader
from torchdata.stateful_dataloader import StatefulDataLoader

from lightning_vid.data.annotations import (VideoRecord, exclude_records, left_right_pairs,
                                            read_class_names, read_csv_list, read_path_list)
from lightning_vid.data.dataset import (ClipDataset, EvalDistributedSampler, TrainingSampler,
                                        collate)
from lightning_vid.data.frames_io import DEFAULT_TEMPLATE
from lightning_vid.data.media import MediaReader
from lightning_vid.data.protocol import EvalProtocol
from lightning_vid.data.sampling import ClipSampler, OutOfBound
from lightning_vid.data.transforms import Directional, LabelAwareFlip, train_transform

Stage = Literal["fit", "validate", "test", "predict"]
STAGES: tuple[Stage, ...] = ("fit", "validate", "test", "predict")


class ClipDataModule(L.LightningDataModule):
    """Base of the data modules; subclasses read the annotations.

    Args:
        root: the dataset folder; annotation and video paths of a subclass are relative to it.
        num_segments: T, segments per clip.
        frames_per_segment: L, consecutive frames per segment (5 for TDN).
        crop_size: the square frame size the model sees in training and single-view tests.
        scale_size: the short side frames are resized to before evaluation crops.
        flip: random horizontal flip in training (off: TSM's and TEA's SS recipe).
        directional: what the flip does to classes with a left/right partner (found from the
            class names): ``flip`` ignores them, ``swap_label`` takes the partner's label
            (TAM, TDN on SSv2), ``no_flip`` leaves their clips unflipped (TCM).
        train_sampling: ``tsn`` (a random frame per segment) or ``dense`` (a random window).
        dense_window: frames covered by dense sampling (stride ``dense_window // T``).
        dense_out_of_bound: dense frames past the end ``loop`` (TSM) or ``repeat_last``.
        val_protocol: the validation views (default: one centre clip, or one middle dense
            window when training is dense).
        test_protocol: the test views (also used by predict); default one centre clip.
        frame_template: file names inside frame folders (1-based), e.g. ``img_{:05d}.jpg``.
        exclude: a bad-file list (``scripts/check_dataset.py``), relative to ``root``;
            its paths are left out of every split.
        batch_size: clips per training/validation batch (per device).
        test_batch_size: videos per test/predict batch; default ``batch_size`` for
            single-view tests and 1 for multi-view ones (a video's views are a batch already).
        num_workers: DataLoader worker processes (each decodes with one thread; see
            :func:`worker_init`).
        decode_timeout: seconds one video may take to read before it counts as unreadable.
    """

    def __init__(
        self,
        root: str,
        num_segments: int = 8,
        frames_per_segment: int = 1,
        crop_size: int = 224,
        scale_size: int = 256,
        flip: bool = True,
        directional: Directional = "flip",
        train_sampling: Literal["tsn", "dense"] = "tsn",
        dense_window: int = 64,
        dense_out_of_bound: OutOfBound = "loop",
        val_protocol: Optional[EvalProtocol] = None,
        test_protocol: EvalProtocol = EvalProtocol(),
        frame_template: str = DEFAULT_TEMPLATE,
        exclude: Optional[str] = None,
        batch_size: int = 8,
        test_batch_size: Optional[int] = None,
        num_workers: int = 4,
        decode_timeout: Optional[float] = 120.0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()  # with the subclass's arguments (Lightning reads its frame)
        self.root = Path(root)
        self.num_segments = num_segments
        self.frames_per_segment = frames_per_segment
        if val_protocol is None:
            val_protocol = EvalProtocol("dense" if train_sampling == "dense" else "centre")
        self.protocols = {"validate": val_protocol, "test": test_protocol,
                          "predict": test_protocol}
        self.reader = MediaReader(frame_template)
        self.classes: list[str] = []
        self.records: dict[str, Optional[list[VideoRecord]]] = {}

    # ---- what a subclass provides -------------------------------------------------------

    def read_class_names(self) -> list[str]:
        """The class names, index = label."""
        raise NotImplementedError

    def read_split(self, stage: Stage) -> Optional[list[VideoRecord]]:
        """The records of a stage, or ``None`` when the stage has no list."""
        raise NotImplementedError

    def load_annotations(self) -> None:
        """Read the class names and every split (called at the end of a subclass's init)."""
        self.classes = self.read_class_names()
        excluded = read_path_list(self.root / self.hparams.exclude) if self.hparams.exclude else []
        for stage in STAGES:
            records = self.read_split(stage)
            if records is not None and excluded:
                kept = exclude_records(records, excluded)
                if len(kept) < len(records):
                    rank_zero_info(f"{stage}: {len(records) - len(kept)} videos excluded "
                                   f"(listed in {self.hparams.exclude})")
                records = kept
            self.records[stage] = records

    # ---- what the CLI links ------------------------------------------------------------------

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def crop_size(self) -> int:
        """The square frame size the model sees (linked to the model's ``input_size``)."""
        return self.hparams.crop_size

    def describe_protocol(self, stage: Stage) -> str:
        """The views of an evaluation stage in words (logged next to its metrics)."""
        hp = self.hparams
        return self.protocols[stage].describe(hp.crop_size, hp.scale_size)

    # ---- datasets and loaders ---------------------------------------------------------------

    def _train_parts(self) -> dict[str, Any]:
        hp = self.hparams
        sampler = ClipSampler(hp.train_sampling, self.num_segments, self.frames_per_segment,
                              train=True, window=hp.dense_window,
                              out_of_bound=hp.dense_out_of_bound)
        plain_flip = hp.flip and hp.directional == "flip"
        joint = None
        if hp.flip and not plain_flip:
            pairs = left_right_pairs(self.classes)
            if not pairs:
                rank_zero_warn(f"directional={hp.directional!r} but no class names differ only "
                               "by left/right: flipping every class unchanged")
            joint = LabelAwareFlip(pairs, hp.directional)
        return {"sampler": sampler, "transform": train_transform(hp.crop_size, plain_flip),
                "joint_transform": joint}

    def dataset(self, stage: Stage, train: bool = False) -> ClipDataset:
        """The dataset of a stage: training sampling and augmentation, or the stage's protocol."""
        records = self.records.get(stage)
        if records is None:
            raise ValueError(f"no annotation list configured for {stage!r}")
        hp = self.hparams
        if train:
            parts = self._train_parts()
        else:
            protocol = self.protocols["validate" if stage == "fit" else stage]
            parts = {"sampler": protocol.sampler(self.num_segments, self.frames_per_segment,
                                                 hp.dense_window, hp.dense_out_of_bound),
                     "transform": protocol.transform(hp.crop_size, hp.scale_size)}
        return ClipDataset(records, reader=self.reader, time_limit=hp.decode_timeout, **parts)

    def _loader(self, stage: Stage, train: bool = False) -> DataLoader:
        hp = self.hparams
        dataset = self.dataset(stage, train)
        batch_size = hp.batch_size
        if stage in ("test", "predict"):
            single = self.protocols[stage].views == 1
            batch_size = hp.test_batch_size or (hp.batch_size if single else 1)
        sampler, generator = None, None
        trainer = self.trainer
        if not train and trainer is not None and trainer.world_size > 1:
            sampler = EvalDistributedSampler(dataset, trainer.world_size, trainer.global_rank)
        if train:  # order and augmentation from (seed, epoch); the loader's own generator: an
            # epoch's start draws nothing from the global random state (exact resume)
            world, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
            seed = torch.initial_seed()  # seed_everything's
            sampler = TrainingSampler(dataset, num_replicas=world, rank=rank, seed=seed)
            # the epoch about to run: workers fetch from the first iter(), which a resumed run
            # makes before Lightning calls set_epoch
            fit_loop = getattr(trainer, "fit_loop", None)
            sampler.set_epoch(fit_loop.epoch_progress.current.processed if fit_loop else 0)
            generator = torch.Generator().manual_seed(seed)
        workers = hp.num_workers
        # training: a loader whose state (sampler position, workers) Lightning checkpoints, so a
        # run killed mid-epoch resumes with the rest of the same epoch (tests/test_resume.py)
        loader = StatefulDataLoader if train else DataLoader
        return loader(
            dataset, batch_size=batch_size, sampler=sampler, drop_last=train,
            num_workers=workers, collate_fn=collate, persistent_workers=workers > 0,
            pin_memory=False, worker_init_fn=worker_init if workers > 0 else None,
            generator=generator,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("fit", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validate")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict")


class VideoDataModule(ClipDataModule):
    """Clips from videos (or frame folders) listed in ``path,label`` CSV files.

    Args:
        root: folder holding the lists and the class-name file (relative video paths in a
            list are resolved against the list's folder).
        train_list, val_list, test_list, predict_list: list file names under ``root``
            (``None`` disables the split; predict defaults to the test list).
        class_names: the class-name file under ``root``, one name per line.
        **kwargs: the options of :class:`ClipDataModule` (``num_segments``, ``crop_size``,
            ``flip``, ``test_protocol``, ``batch_size``, ...).
    """

    def __init__(
        self,
        root: str,
        train_list: Optional[str] = "train.csv",
        val_list: Optional[str] = "val.csv",
        test_list: Optional[str] = "test.csv",
        predict_list: Optional[str] = None,
        class_names: str = "classes.txt",
        **kwargs: Any,
    ) -> None:
        super().__init__(root, **kwargs)
        self.lists = {"fit": train_list, "validate": val_list, "test": test_list,
                      "predict": predict_list or test_list}
        self.load_annotations()

    def read_class_names(self) -> list[str]:
        return read_class_names(self.root / self.hparams.class_names)

    def read_split(self, stage: Stage) -> Optional[list[VideoRecord]]:
        name = self.lists[stage]
        return read_csv_list(self.root / name, len(self.classes)) if name else None


def worker_init(_: int = 0) -> None:
    """DataLoader worker setup: one thread for decoding and transforms (the workers already
    run in parallel), and flat memory.

    glibc raises its mmap threshold to the size of the largest buffer freed so far, after which
    decoded frames and clips (hundreds of KiB to a few MiB) are carved from the heap, which
    then grows by fragmentation and by copy-on-write of the pages a forked worker inherits.
    Fixing the threshold at 128 KiB (``mallopt(M_MMAP_THRESHOLD)``) keeps such buffers mapped
    per allocation and returned when freed: worker memory stays flat over an epoch
    (``scripts/bench_data.py`` measures it). Elsewhere than glibc this part does nothing.
    """
    import torch

    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
        except (OSError, AttributeError):  # not glibc
            pass


_M_MMAP_THRESHOLD = -3  # <malloc.h>
