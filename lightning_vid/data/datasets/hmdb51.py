"""HMDB51: its split files, as published (``test_train_splits.rar``), and
:class:`HMDB51DataModule`.

``testTrainMulti_7030_splits/<class>_test_split<N>.txt`` for each of the 51 classes and
N = 1, 2, 3; one line per video of the class, the file name then its role in split N::

    April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1 

(1 = training, 2 = testing, 0 = not used; lines end with a space). Videos are
``hmdb51_org/<class>/<name>`` once the per-class archives are extracted. Classes are indexed
in sorted order of their names (the order of mmaction2's and the TSN tools' class lists).
HMDB51 has no validation set: validation uses the test videos of the split, as the papers do.
Ready config: ``lightning_vid/configs/data/hmdb51.yaml``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Optional, Sequence

from lightning_vid.data.annotations import PathLike, VideoRecord, read_csv_list, read_text
from lightning_vid.data.datamodule import ClipDataModule, SplitNumber

HMDB51_TEMPLATE = "{class_name}/{name}"
_SPLIT_FILE = re.compile(r"^(?P<name>.+)_test_split(?P<split>[123])\.txt$")
_ROLES = {"train": "1", "test": "2"}


def hmdb51_class_names(split_dir: PathLike) -> list[str]:
    """The sorted class names found in ``split_dir``; each must have all three split files."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise FileNotFoundError(f"HMDB51 split folder not found: {split_dir}")
    found: dict[str, set[str]] = {}
    for file in split_dir.iterdir():
        match = _SPLIT_FILE.match(file.name)
        if match:
            found.setdefault(match["name"], set()).add(match["split"])
    if not found:
        raise ValueError(f"{split_dir}: no '<class>_test_split<N>.txt' files")
    incomplete = sorted(name for name, splits in found.items() if splits != {"1", "2", "3"})
    if incomplete:
        raise ValueError(f"{split_dir}: classes without all three split files: {incomplete}")
    return sorted(found)


def read_hmdb51_split(split_dir: PathLike, split: int, subset: Literal["train", "test"],
                      class_names: Sequence[str], video_root: PathLike,
                      template: str = HMDB51_TEMPLATE) -> list[VideoRecord]:
    """Records of one subset of split 1, 2 or 3.

    ``template`` is formatted with ``class_name``, ``name`` (the listed file name) and
    ``stem`` (without extension; frame folders are usually named so).

    Raises:
        ValueError: naming file and line of a malformed line or an unknown role.
    """
    if split not in (1, 2, 3):
        raise ValueError(f"HMDB51 has splits 1, 2, 3, not {split}")
    root, records = Path(video_root), []
    for label, class_name in enumerate(class_names):
        path = Path(split_dir) / f"{class_name}_test_split{split}.txt"
        if not path.is_file():
            raise FileNotFoundError(f"HMDB51 split file not found: {path}")
        for lineno, line in enumerate(read_text(path).splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                raise ValueError(f"{path}:{lineno}: expected '<video> 0|1|2', got {line!r}")
            if fields[1] == _ROLES[subset]:
                name = fields[0]
                stem = name.rsplit(".", 1)[0]
                records.append(VideoRecord(
                    str(root / template.format(class_name=class_name, name=name, stem=stem)),
                    label, source=f"{path}:{lineno}"))
    return records


class HMDB51DataModule(ClipDataModule):
    """HMDB51, one of its three official splits (validation = the split's test videos).

    Args:
        root: the dataset folder.
        split: 1, 2 or 3.
        split_dir: the folder of ``<class>_test_split<N>.txt`` files under ``root``.
        videos: the folder of ``<class>/<video>.avi`` under ``root``.
        path_template: fields ``class_name``, ``name``, ``stem``; ``{class_name}/{stem}``
            for frame folders.
        predict_list: one video, or a ``path[,label]`` CSV under ``root``; ``None``: the
            split's test videos.
        **kwargs: :class:`~lightning_vid.data.datamodule.ClipDataModule` options.
    """

    def __init__(self, root: str, split: SplitNumber = 1,
                 split_dir: str = "testTrainMulti_7030_splits", videos: str = "hmdb51_org",
                 path_template: str = HMDB51_TEMPLATE, predict_list: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(root, train_list="train", val_list="test", test_list="test",
                         predict_list=predict_list, **kwargs)

    def read_class_names(self) -> list[str]:
        return hmdb51_class_names(self.root / self.hparams.split_dir)

    def read_list(self, name: str) -> list[VideoRecord]:
        """``train`` or ``test``: the split's videos of that role; else a ``path,label`` CSV."""
        hp = self.hparams
        if name not in _ROLES:
            return read_csv_list(self.root / name, self.num_classes)
        return read_hmdb51_split(self.root / hp.split_dir, hp.split, name, self.classes,
                                 self.root / hp.videos, hp.path_template)
