"""Data modules: one base composing the lists' readers, clip samplers, transforms and loaders.

:class:`ClipDataModule` owns everything that does not depend on the annotation format: the
lists of the four stages, the training sampler (TSN sparse or I3D-style dense), the transforms
and the left/right-aware flip, the validation and test protocols
(:class:`~lightning_vid.data.protocol.EvalProtocol`), the bad-file policy, the frame-folder
names and the DataLoaders, including the no-padding sampler that makes DDP evaluation count
every video exactly once. A dataset only says how to read its class names and one of its
lists (:meth:`~ClipDataModule.read_class_names`, :meth:`~ClipDataModule.read_list`): the
generic ``path,label`` CSV here (:class:`VideoDataModule`), the benchmarks one file each in
:mod:`lightning_vid.data.datasets`. Every data module exposes ``num_classes``,
``num_segments``, ``frames_per_segment`` and ``crop_size``, which the CLI links to the model.

**Only the lists a stage needs are read**, when Lightning sets the stage up (fit: train and
val; validate: val; test: test; predict: the predict list, by default the test list), by the
dataset's reader (a malformed line is an error naming the file and line), and each is checked
once, before any batch (:func:`lightning_vid.data.lists.check_list`: empty lists, ``exclude``,
videos listed twice, missing files, ``check``'s fast pass). Bad input (a missing root or list,
a malformed line, a label that is not a class) raises :class:`~lightning_vid.errors.InputError`
naming the file and line or the option.

**Skipped files** (path, list line, reason, split) travel from the DataLoader workers to the
main process with each batch; :meth:`ClipDataModule.skipped_files` returns them
(:class:`~lightning_vid.callbacks.SkippedFilesReport` writes them to ``skipped_files.csv`` in
the run's folder at the end of each command and logs them as a W&B table).

Training batches are full (``drop_last``): when the training list does not divide into
batches, the data module says once how many clips each epoch leaves out.

:meth:`ClipDataModule.records` gives the records of a stage in dataset order: batch ``index``
``i`` of that stage is ``records(stage)[i]`` (the predictions writer maps them so).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Optional, Union

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from torch.utils.data import DataLoader
from torchdata.stateful_dataloader import StatefulDataLoader

from lightning_vid.data.annotations import (VideoRecord, left_right_pairs, read_class_names,
                                            read_csv_list, same_file)
from lightning_vid.data.dataset import ClipDataset, EvalDistributedSampler, TrainingSampler, collate
from lightning_vid.data.lists import SkippedFile, Split, as_input_error, check_list, no_video
from lightning_vid.data.frames_io import DEFAULT_TEMPLATE
from lightning_vid.data.media import MediaReader, is_media
from lightning_vid.data.protocol import EvalProtocol
from lightning_vid.data.sampling import ClipSampler, OutOfBound
from lightning_vid.data.transforms import Directional, LabelAwareFlip, train_transform
from lightning_vid.data.workers import end_workers_at_exit, worker_init
from lightning_vid.errors import InputError, MissingInput

Stage = Literal["fit", "validate", "test", "predict"]
#: the number of an official split (HMDB51, UCF101: 1, 2 or 3)
SplitNumber = Literal[1, 2, 3]
STAGES: tuple[Stage, ...] = ("fit", "validate", "test", "predict")
#: the split of each stage, as metric names spell it (``val/acc1``, ``train/skipped``)
SPLITS = {"fit": "train", "validate": "val", "test": "test", "predict": "predict"}
#: the lists each stage reads
NEEDS: dict[str, tuple[Stage, ...]] = {"fit": ("fit", "validate"), "validate": ("validate",),
                                       "test": ("test",), "predict": ("predict",)}


class ClipDataModule(L.LightningDataModule):
    """Base of the data modules; a dataset reads its class names and lists.

    Args:
        root: the dataset folder; list and video paths of a dataset are relative to it.
        train_list, val_list, test_list: the lists of the stages (``None`` disables one).
        predict_list: the videos ``predict`` scores: a list in the dataset's format, or one
            video file or frame folder; ``None``: the test list.
        num_segments: T, segments per clip.
        frames_per_segment: L, consecutive frames per segment (5 for TDN).
        crop_size: the square frame size the model sees in training and single-view tests.
        scale_size: the short side frames are resized to before evaluation crops.
        flip: random horizontal flip in training (off: TSM's and TEA's SS recipe).
        directional: what the flip does to classes with a left/right partner (found from the
            class names, or ``flip_pairs``): ``flip`` ignores them, ``swap_label`` takes the
            partner's label (TAM, TDN on SSv2), ``no_flip`` leaves their clips unflipped (TCM).
        flip_pairs: the partner classes as index pairs, e.g. ``[[86, 87], [93, 94], [166,
            167]]`` (the SSv2 indices the authors' code hard-codes: TANet and TDN swap them,
            TCM does not flip them, and TDN and TCM apply them to SSv1 too, whose classes
            those indices are not); ``None``: the pairs found from the class names.
        train_resize_to: ``[H, W]``: every training frame resized to exactly that size
            (aspect ratio ignored) before the multi-scale crop (TCM: ``[240, 320]``);
            ``None``: the frames as decoded.
        train_sampling: ``tsn`` (a random frame per segment) or ``dense`` (a random window).
        dense_window: frames covered by dense sampling (stride ``dense_window // T``).
        dense_out_of_bound: dense frames past the end ``loop`` (TSM) or ``repeat_last``.
        val_protocol: the validation views (default: one centre clip, or one middle dense
            window when training is dense).
        test_protocol: the test views (also used by predict); default one centre clip.
        frame_template: file names inside frame folders (1-based), e.g. ``img_{:05d}.jpg``.
        exclude: a bad-file list (``lightning-vid-data check``), relative to ``root``; its
            paths are left out of every split.
        batch_size: clips per training/validation batch (per device).
        test_batch_size: videos per test/predict batch; default ``batch_size`` for
            single-view tests and 1 for multi-view ones (a video's views are a batch already).
        num_workers: DataLoader worker processes (each decodes with one thread; see
            :func:`worker_init`).
        decode_timeout: seconds one video may take to read before it counts as unreadable.
        max_bad_in_a_row: how many listed files that exist but do not decode may follow one
            another before loading stops with an error naming their lines.
        check: before the first batch, open every listed video of the stage's lists, count
            its frames and decode its first and last (``lightning-vid-data check --fast``);
            the bad ones are reported and skipped (``skipped_files.csv``).
    """

    def __init__(
        self,
        root: str,
        train_list: Optional[str] = None,
        val_list: Optional[str] = None,
        test_list: Optional[str] = None,
        predict_list: Optional[str] = None,
        num_segments: int = 8,
        frames_per_segment: int = 1,
        crop_size: int = 224,
        scale_size: int = 256,
        flip: bool = True,
        directional: Directional = "flip",
        flip_pairs: Optional[list[tuple[int, int]]] = None,
        train_resize_to: Optional[tuple[int, int]] = None,
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
        max_bad_in_a_row: int = 16,
        check: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()  # with the subclass's arguments (Lightning reads its frame)
        self.root = Path(root)
        self.num_segments = num_segments
        self.frames_per_segment = frames_per_segment
        self.lists: dict[Stage, Optional[str]] = {
            "fit": train_list, "validate": val_list, "test": test_list,
            "predict": predict_list or test_list}
        if val_protocol is None:
            val_protocol = EvalProtocol("dense" if train_sampling == "dense" else "centre")
        self.protocols = {"validate": val_protocol, "test": test_protocol,
                          "predict": test_protocol}
        self.reader = MediaReader(frame_template)
        self._classes: Optional[list[str]] = None
        self._splits: dict[tuple[str, bool], Split] = {}
        self._skipped: dict[tuple[str, str], SkippedFile] = {}
        self._told_dropped = False

    # ---- what a dataset provides ---------------------------------------------------------

    def read_class_names(self) -> list[str]:
        """The class names, index = label."""
        raise NotImplementedError

    def read_list(self, name: str) -> list[VideoRecord]:
        """The records of the list ``name`` (one of :attr:`lists`, in the dataset's format)."""
        raise NotImplementedError

    # ---- what the CLI links ------------------------------------------------------------------

    @property
    def classes(self) -> list[str]:
        """The class names, index = label (read on first use)."""
        if self._classes is None:
            if not self.root.is_dir():
                raise MissingInput(
                    f"--data.root {self.root}: no such folder (from {os.getcwd()}); give the "
                    "dataset's folder, the one holding its class names and lists")
            self._classes = as_input_error(self.read_class_names)
        return self._classes

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

    # ---- the lists of a stage ----------------------------------------------------------------

    def setup(self, stage: str) -> None:
        """Read and check the lists ``stage`` needs (Lightning calls this on every process)."""
        for needed in NEEDS[stage]:
            if self.lists[needed] is not None or needed == stage:
                self.records(needed)

    def records(self, stage: Stage) -> list[VideoRecord]:
        """The videos of ``stage`` in dataset order (batch ``index`` i is ``records(stage)[i]``),
        read and checked on first use; missing files stay listed (they are skipped when read).

        Raises:
            ValueError: the stage has no list, or its list is empty (naming file and split).
        """
        return self._split(stage).records

    def _split(self, stage: Stage) -> Split:
        name = self.lists[stage]
        if name is None:
            option = {"fit": "train_list", "validate": "val_list"}.get(stage, f"{stage}_list")
            raise InputError(f"no {SPLITS[stage]} list: set --data.{option}")
        once = stage != "fit"  # evaluation and prediction score each video once
        key = (name, once)
        if key not in self._splits:
            self._splits[key] = self._prepare(stage, name, once)
        return self._splits[key]

    def _prepare(self, stage: Stage, name: str, once: bool) -> Split:
        split, path, hp = SPLITS[stage], self.root / name, self.hparams
        if is_media(path):  # predicting one video
            if not path.exists():
                raise MissingInput(no_video(name, path, self.root))
            records = [VideoRecord(str(path), -1, source=f"{split}_list")]
        else:
            records = as_input_error(self.read_list, name)
        checked, skipped = check_list(records, path, split, once=once, root=self.root,
                                      exclude=hp.exclude, check=hp.check,
                                      frame_template=self.reader.frame_template,
                                      time_limit=hp.decode_timeout,
                                      in_a_run=self.trainer is not None)
        self.note_skipped(*skipped)
        return checked

    # ---- skipped files ---------------------------------------------------------------------

    def skipped_files(self, split: Optional[str] = None) -> list[SkippedFile]:
        """The listed videos found unreadable so far in this process (all splits, or
        ``train``/``val``/``test``/``predict``), in the order they were found."""
        return [s for s in self._skipped.values() if split is None or s.split == split]

    def note_skipped(self, *skipped: SkippedFile) -> None:
        """Note unreadable videos (each once per split)."""
        for file in skipped:
            self._skipped.setdefault((file.split, same_file(file.path)), file)

    def collect_skipped(self, batch: Any, stage: Stage) -> None:
        """Note the unreadable records a batch of ``stage`` stands in for (a batch carries its
        records' ``index`` and ``unreadable`` reasons from the worker that read it)."""
        if not isinstance(batch, dict) or "unreadable" not in batch:
            return
        records = self.records(stage)
        for i, reason in zip(batch["index"].tolist(), batch["unreadable"]):
            if reason:
                record = records[i]
                self.note_skipped(SkippedFile(SPLITS[stage], record.path, record.source, reason))

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        running = getattr(getattr(self.trainer, "state", None), "stage", None)
        if running is not None:  # the loop this batch is for (RunningStage)
            stage = {"train": "fit", "sanity_check": "validate"}.get(running.value, running.value)
            if stage in STAGES:
                self.collect_skipped(batch, stage)
        return batch

    # ---- datasets and loaders ---------------------------------------------------------------

    def _train_parts(self) -> dict[str, Any]:
        hp = self.hparams
        sampler = ClipSampler(hp.train_sampling, self.num_segments, self.frames_per_segment,
                              train=True, window=hp.dense_window,
                              out_of_bound=hp.dense_out_of_bound)
        plain_flip = hp.flip and hp.directional == "flip"
        joint = None
        if hp.flip and not plain_flip:
            pairs = (left_right_pairs(self.classes) if hp.flip_pairs is None
                     else _pair_map(hp.flip_pairs, self.num_classes))
            if not pairs:
                rank_zero_warn(f"directional={hp.directional!r} but no class names differ only "
                               "by left/right: flipping every class unchanged")
            joint = LabelAwareFlip(pairs, hp.directional)
        resize_to = tuple(hp.train_resize_to) if hp.train_resize_to else None
        return {"sampler": sampler,
                "transform": train_transform(hp.crop_size, plain_flip, resize_to=resize_to),
                "joint_transform": joint}

    def dataset(self, stage: Stage, train: bool = False) -> ClipDataset:
        """The dataset of a stage: training sampling and augmentation, or the stage's protocol."""
        split = self._split(stage)
        hp = self.hparams
        if train:
            parts = self._train_parts()
        else:
            protocol = self.protocols["validate" if stage == "fit" else stage]
            parts = {"sampler": protocol.sampler(self.num_segments, self.frames_per_segment,
                                                 hp.dense_window, hp.dense_out_of_bound),
                     "transform": protocol.transform(hp.crop_size, hp.scale_size)}
        return ClipDataset(split.records, reader=self.reader, time_limit=hp.decode_timeout,
                           max_skips=hp.max_bad_in_a_row, missing=split.missing, **parts)

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
            if len(sampler) < batch_size:  # drop_last would leave an epoch without a batch
                raise InputError(
                    f"train: {len(sampler)} videos{' per process' if world > 1 else ''} for "
                    f"batch_size {batch_size}: the last, incomplete batch is dropped, so no "
                    f"batch would be left; set --data.batch_size {len(sampler)} or less")
            self._tell_dropped(len(sampler), batch_size, world)
        workers = hp.num_workers
        # training: a loader whose state (sampler position, workers) Lightning checkpoints, so a
        # run killed mid-epoch resumes with the rest of the same epoch (tests/test_resume.py)
        loader = StatefulDataLoader if train else DataLoader
        if workers > 0:
            end_workers_at_exit()  # persistent workers would hold this process's exit
        return loader(
            dataset, batch_size=batch_size, sampler=sampler, drop_last=train,
            num_workers=workers, collate_fn=collate, persistent_workers=workers > 0,
            pin_memory=False, worker_init_fn=worker_init if workers > 0 else None,
            generator=generator,
        )

    def _tell_dropped(self, videos: int, batch_size: int, world: int) -> None:
        """Say once how many clips each training epoch leaves out (``drop_last``)."""
        left = videos % batch_size
        if left and not self._told_dropped:
            self._told_dropped = True
            per = " per process" if world > 1 else ""
            rank_zero_info(
                f"train: {videos} videos{per} in batches of {batch_size}: each epoch uses "
                f"{videos - left} and leaves out {left} (the incomplete last batch is dropped; "
                f"the shuffle leaves out different ones each epoch); a --data.batch_size that "
                f"divides {videos} uses them all")

    def train_dataloader(self) -> DataLoader:
        return self._loader("fit", train=True)

    def val_dataloader(self) -> Union[DataLoader, list]:
        if self.lists["validate"] is None:  # fit without validation
            return []
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
        train_list, val_list, test_list: CSV file names under ``root`` (``None`` disables the
            split). A CSV with the header ``path`` alone is unlabelled (label -1: predicted,
            never scored).
        predict_list: a CSV under ``root`` or one video (file or frame folder, relative to
            ``root`` or absolute) to predict; ``None``: the test list.
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
        super().__init__(root, train_list=train_list, val_list=val_list, test_list=test_list,
                         predict_list=predict_list, **kwargs)

    def read_class_names(self) -> list[str]:
        return read_class_names(self.root / self.hparams.class_names)

    def read_list(self, name: str) -> list[VideoRecord]:
        return read_csv_list(self.root / name, self.classes)


def _pair_map(pairs: Any, num_classes: int) -> dict[int, int]:
    """``[[a, b], ...]`` -> ``{a: b, b: a, ...}``, every index a class of the data."""
    mapping: dict[int, int] = {}
    for pair in pairs:
        if len(pair) != 2 or not all(0 <= int(i) < num_classes for i in pair):
            raise ValueError(f"flip_pairs: {list(pair)} is not a pair of class indices in "
                             f"[0, {num_classes})")
        a, b = int(pair[0]), int(pair[1])
        mapping[a], mapping[b] = b, a
    return mapping
