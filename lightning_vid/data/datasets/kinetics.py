"""Kinetics-400 (and -600/-700): DeepMind's annotation CSVs and :class:`Kinetics400DataModule`.

Header ``label,youtube_id,time_start,time_end,split`` (the K400 release adds ``is_cc``; the
test CSV of the first release has no ``label``); labels with spaces are quoted::

    label,youtube_id,time_start,time_end,split,is_cc
    abseiling,-3B32lodo2M,59,69,val,0
    "air drumming",_dbcJuKJQNs,40,50,val,0

Videos are the trimmed clips ``{youtube_id}_{time_start:06d}_{time_end:06d}.mp4`` that the
ActivityNet/mmaction2 download script writes. Where they sit is a template over the row's
fields, relative to the video folder:

- ``{split}/{youtube_id}_{time_start:06d}_{time_end:06d}.mp4``: the CVDF mirror (default);
- ``{label}/...``: the download script's class folders; ``{label_underscored}/...`` after
  mmaction2's ``rename_classnames.sh`` (spaces to underscores);
- ``.../{youtube_id}_{time_start:06d}_{time_end:06d}`` without suffix: frame folders.

Class indices are the sorted class names of the training CSV (the order of mmaction2's
``label_map_k400.txt`` and of the TSM tools), unless a class-name file is given. Ready configs:
``lightning_vid/configs/data/kinetics400*.yaml``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Optional, Sequence

from lightning_vid.data.annotations import PathLike, VideoRecord, read_class_names
from lightning_vid.data.datamodule import ClipDataModule

KINETICS_TEMPLATE = "{split}/{youtube_id}_{time_start:06d}_{time_end:06d}.mp4"
_REQUIRED = ("youtube_id", "time_start", "time_end")


def read_kinetics_rows(path: PathLike) -> list[dict]:
    """The rows of a Kinetics CSV as dicts with ``time_start``/``time_end`` as ints, the label
    (``None`` without a label column) and the line number under ``"line"``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Kinetics CSV not found: {path}")
    rows = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}:1: missing columns {missing} in header {reader.fieldnames}")
        for lineno, row in enumerate(reader, start=2):
            if not any((v or "").strip() for v in row.values()):
                continue
            try:
                start, end = int(float(row["time_start"])), int(float(row["time_end"]))
            except (TypeError, ValueError):
                raise ValueError(f"{path}:{lineno}: times {row['time_start']!r}, "
                                 f"{row['time_end']!r} are not numbers") from None
            youtube_id = (row["youtube_id"] or "").strip()
            if not youtube_id:
                raise ValueError(f"{path}:{lineno}: empty youtube_id")
            label = row.get("label")
            rows.append({**row, "youtube_id": youtube_id, "time_start": start, "time_end": end,
                         "label": label.strip() if label is not None else None, "line": lineno})
    return rows


def kinetics_class_names(path: PathLike) -> list[str]:
    """The sorted distinct labels of a (training) CSV."""
    labels = {row["label"] for row in read_kinetics_rows(path)}
    if None in labels or "" in labels:
        raise ValueError(f"{path}: rows without a label; class names need a labelled CSV")
    return sorted(labels)


def read_kinetics_csv(path: PathLike, class_names: Sequence[str], video_root: PathLike,
                      template: str = KINETICS_TEMPLATE,
                      split: Optional[str] = None) -> list[VideoRecord]:
    """Records of a Kinetics CSV; unlabelled rows get label -1.

    Args:
        path: the CSV.
        class_names: the class list (index = label).
        video_root: the folder ``template`` is relative to.
        template: the video path, formatted with the row's fields plus ``label_underscored``.
        split: the ``{split}`` value for rows without a ``split`` column.

    Raises:
        ValueError: naming file and line of a label that is not a known class.
    """
    index = {name: i for i, name in enumerate(class_names)}
    root = Path(video_root)
    records = []
    for row in read_kinetics_rows(path):
        label = row["label"]
        if label is not None and label not in index:
            raise ValueError(f"{path}:{row['line']}: label {label!r} is not one of the "
                             f"{len(index)} classes")
        fields = {**row, "split": row.get("split") or split or "",
                  "label": label or "", "label_underscored": (label or "").replace(" ", "_")}
        records.append(VideoRecord(str(root / template.format(**fields)),
                                   index[label] if label is not None else -1,
                                   source=f"{path}:{row['line']}"))
    return records


class Kinetics400DataModule(ClipDataModule):
    """Kinetics-400 from DeepMind's CSVs.

    Args:
        root: the dataset folder.
        train_list, val_list, test_list, predict_list: CSVs under ``root`` (``None``
            disables; the papers test on the validation set, hence ``test_list``'s default;
            ``predict_list`` may also name one video).
        class_names: a class-name file under ``root``; ``None``: the sorted labels of the
            training CSV.
        videos: the folder ``path_template`` is relative to, under ``root``.
        path_template: see the module docstring (``{split}`` is the CSV's split column:
            ``train``, ``val``, ``test``).
        **kwargs: :class:`~lightning_vid.data.datamodule.ClipDataModule` options.
    """

    def __init__(self, root: str, train_list: Optional[str] = "annotations/train.csv",
                 val_list: Optional[str] = "annotations/val.csv",
                 test_list: Optional[str] = "annotations/val.csv",
                 predict_list: Optional[str] = None, class_names: Optional[str] = None,
                 videos: str = ".", path_template: str = KINETICS_TEMPLATE,
                 **kwargs: Any) -> None:
        super().__init__(root, train_list=train_list, val_list=val_list, test_list=test_list,
                         predict_list=predict_list, **kwargs)

    def read_class_names(self) -> list[str]:
        hp = self.hparams
        if hp.class_names:
            return read_class_names(self.root / hp.class_names)
        if not hp.train_list:
            raise ValueError("Kinetics classes come from the training CSV: set train_list "
                             "or class_names")
        return kinetics_class_names(self.root / hp.train_list)

    def read_list(self, name: str) -> list[VideoRecord]:
        return read_kinetics_csv(self.root / name, self.classes, self.root / self.hparams.videos,
                                 self.hparams.path_template)
