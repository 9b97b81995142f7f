"""Data modules for the benchmarks of the papers, each reading its published annotation layout.

All share :class:`~lightning_vid.data.datamodule.ClipDataModule` (sampling, views, flip
policy, bad files, loaders; its options pass through ``**kwargs``) and differ only in how
records are read. Paths are relative to ``root``; a ``*_template`` places each video, and
naming a folder instead of a file reads frame folders (``frame_template`` gives their file
names), with no other change. Ready configs: ``lightning_vid/configs/data/*.yaml``.

- :class:`Kinetics400DataModule`: ``annotations/{train,val,test}.csv`` (label,youtube_id,...);
- :class:`SomethingSomethingV2DataModule`: ``labels/{labels,train,validation}.json``, ``<id>.webm``;
- :class:`HMDB51DataModule`: ``testTrainMulti_7030_splits/<class>_test_split<N>.txt``;
- :class:`UCF101DataModule`: ``ucfTrainTestlist/{classInd,trainlist0N,testlist0N}.txt``;
- :class:`FrameListDataModule`: TSM lists ``<folder> <num_frames> <label>``, ``category.txt``.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from lightning_vid.data.annotations import VideoRecord, read_class_names
from lightning_vid.data.datamodule import ClipDataModule, Stage
from lightning_vid.data.formats import (HMDB51_TEMPLATE, KINETICS_TEMPLATE, SSV2_TEMPLATE,
                                        UCF101_TEMPLATE, hmdb51_class_names,
                                        kinetics_class_names, read_hmdb51_split,
                                        read_kinetics_csv, read_ssv2_labels, read_ssv2_list,
                                        read_tsm_list, read_ucf101_classes, read_ucf101_list)

Split = Literal[1, 2, 3]


class Kinetics400DataModule(ClipDataModule):
    """Kinetics-400 from DeepMind's CSVs.

    Args:
        root: the dataset folder.
        train_list, val_list, test_list, predict_list: CSVs under ``root`` (``None``
            disables; the papers test on the validation set, hence ``test_list``'s default).
        class_names: a class-name file under ``root``; ``None``: the sorted labels of the
            training CSV.
        videos: the folder ``path_template`` is relative to, under ``root``.
        path_template: see :mod:`lightning_vid.data.formats.kinetics` (``{split}`` is the CSV's
            split column: ``train``, ``val``, ``test``).
        **kwargs: :class:`~lightning_vid.data.datamodule.ClipDataModule` options.
    """

    def __init__(self, root: str, train_list: Optional[str] = "annotations/train.csv",
                 val_list: Optional[str] = "annotations/val.csv",
                 test_list: Optional[str] = "annotations/val.csv",
                 predict_list: Optional[str] = None, class_names: Optional[str] = None,
                 videos: str = ".", path_template: str = KINETICS_TEMPLATE,
                 **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self.lists = {"fit": train_list, "validate": val_list, "test": test_list,
                      "predict": predict_list or test_list}
        self.load_annotations()

    def read_class_names(self) -> list[str]:
        hp = self.hparams
        if hp.class_names:
            return read_class_names(self.root / hp.class_names)
        if not hp.train_list:
            raise ValueError("Kinetics classes come from the training CSV: set train_list "
                             "or class_names")
        return kinetics_class_names(self.root / hp.train_list)

    def read_split(self, stage: Stage) -> Optional[list[VideoRecord]]:
        name = self.lists[stage]
        if not name:
            return None
        return read_kinetics_csv(self.root / name, self.classes, self.root / self.hparams.videos,
                                 self.hparams.path_template)


class SomethingSomethingV2DataModule(ClipDataModule):
    """Something-Something V2 from its JSON label files.

    Args:
        root: the dataset folder.
        labels: the labels file (template -> index) under ``root``.
        train_list, val_list, test_list, predict_list: JSON lists under ``root``.
        videos: the folder of ``<id>.webm`` (or of frame folders) under ``root``.
        path_template: ``{id}.webm``; ``{id}`` for frame folders (TSM's tool writes
            ``000001.jpg``: set ``frame_template: "{:06d}.jpg"``).
        **kwargs: :class:`~lightning_vid.data.datamodule.ClipDataModule` options. The papers
            either turn the flip off (``flip: false``; TSM, TEA) or swap the left/right labels
            (``directional: swap_label``; TAM, TDN).
    """

    def __init__(self, root: str, labels: str = "labels/labels.json",
                 train_list: Optional[str] = "labels/train.json",
                 val_list: Optional[str] = "labels/validation.json",
                 test_list: Optional[str] = "labels/validation.json",
                 predict_list: Optional[str] = None,
                 videos: str = "20bn-something-something-v2",
                 path_template: str = SSV2_TEMPLATE, **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self.lists = {"fit": train_list, "validate": val_list, "test": test_list,
                      "predict": predict_list or test_list}
        self.load_annotations()

    def read_class_names(self) -> list[str]:
        return read_ssv2_labels(self.root / self.hparams.labels)

    def read_split(self, stage: Stage) -> Optional[list[VideoRecord]]:
        name = self.lists[stage]
        if not name:
            return None
        return read_ssv2_list(self.root / name, self.classes, self.root / self.hparams.videos,
                              self.hparams.path_template)


class HMDB51DataModule(ClipDataModule):
    """HMDB51, one of its three official splits (validation = the split's test videos).

    Args:
        root: the dataset folder.
        split: 1, 2 or 3.
        split_dir: the folder of ``<class>_test_split<N>.txt`` files under ``root``.
        videos: the folder of ``<class>/<video>.avi`` under ``root``.
        path_template: fields ``class_name``, ``name``, ``stem``; ``{class_name}/{stem}``
            for frame folders.
        **kwargs: :class:`~lightning_vid.data.datamodule.ClipDataModule` options.
    """

    def __init__(self, root: str, split: Split = 1,
                 split_dir: str = "testTrainMulti_7030_splits", videos: str = "hmdb51_org",
                 path_template: str = HMDB51_TEMPLATE, **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self.load_annotations()

    def read_class_names(self) -> list[str]:
        return hmdb51_class_names(self.root / self.hparams.split_dir)

    def read_split(self, stage: Stage) -> Optional[list[VideoRecord]]:
        hp = self.hparams
        return read_hmdb51_split(self.root / hp.split_dir, hp.split,
                                 "train" if stage == "fit" else "test", self.classes,
                                 self.root / hp.videos, hp.path_template)


class UCF101DataModule(ClipDataModule):
    """UCF101, one of its three official splits (validation = the split's test list).

    Args:
        root: the dataset folder.
        split: 1, 2 or 3.
        list_dir: the folder of ``classInd.txt``, ``trainlist0N.txt``, ``testlist0N.txt``.
        videos: the folder of ``<Class>/v_<Class>_gXX_cYY.avi`` under ``root``.
        path_template: fields ``path`` (as listed), ``class_name``, ``name``, ``stem``;
            ``{class_name}/{stem}`` for frame folders.
        **kwargs: :class:`~lightning_vid.data.datamodule.ClipDataModule` options.
    """

    def __init__(self, root: str, split: Split = 1, list_dir: str = "ucfTrainTestlist",
                 videos: str = "UCF-101", path_template: str = UCF101_TEMPLATE,
                 **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self.load_annotations()

    def read_class_names(self) -> list[str]:
        return read_ucf101_classes(self.root / self.hparams.list_dir / "classInd.txt")

    def read_split(self, stage: Stage) -> Optional[list[VideoRecord]]:
        hp = self.hparams
        kind = "trainlist" if stage == "fit" else "testlist"
        return read_ucf101_list(self.root / hp.list_dir / f"{kind}0{hp.split}.txt",
                                self.classes, self.root / hp.videos, hp.path_template)


class FrameListDataModule(ClipDataModule):
    """TSN/TSM-style lists (``<folder> <num_frames> <label>``) of frame folders or videos.

    Args:
        root: the dataset folder.
        train_list, val_list, test_list, predict_list: list files under ``root``.
        class_names: the category file under ``root`` (one name per line).
        frames: the folder the listed paths are relative to, under ``root``.
        **kwargs: :class:`~lightning_vid.data.datamodule.ClipDataModule` options
            (``frame_template``: ``img_{:05d}.jpg`` for TSM's Kinetics tool, ``{:06d}.jpg``
            for its SSv2 tool).
    """

    def __init__(self, root: str, train_list: Optional[str] = "train_videofolder.txt",
                 val_list: Optional[str] = "val_videofolder.txt",
                 test_list: Optional[str] = "val_videofolder.txt",
                 predict_list: Optional[str] = None, class_names: str = "category.txt",
                 frames: str = "frames", **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self.lists = {"fit": train_list, "validate": val_list, "test": test_list,
                      "predict": predict_list or test_list}
        self.load_annotations()

    def read_class_names(self) -> list[str]:
        return read_class_names(self.root / self.hparams.class_names)

    def read_split(self, stage: Stage) -> Optional[list[VideoRecord]]:
        name = self.lists[stage]
        if not name:
            return None
        return read_tsm_list(self.root / name, len(self.classes), self.root / self.hparams.frames)
