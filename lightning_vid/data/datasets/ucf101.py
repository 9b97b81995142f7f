"""UCF101: its class index and split lists, as published
(``UCF101TrainTestSplits-RecognitionTask``), and :class:`UCF101DataModule`.

``ucfTrainTestlist/`` holds (Windows line endings in the original files)::

    classInd.txt       1 ApplyEyeMakeup            (1-based index, 101 lines)
    trainlist01.txt    ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1
    testlist01.txt     ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi

and splits 02, 03 alike. Videos are ``UCF-101/<Class>/v_<Class>_gXX_cYY.avi``. The class of a
test line comes from its folder; a training line's 1-based index is checked against its folder,
so a class file that does not match the lists is caught before training. Folder names are
matched case-insensitively only as a fallback (the files of class ``HandstandPushups`` are
named ``v_HandStandPushups_...``, but their folder is spelled as in ``classInd.txt``).
Ready config: ``lightning_vid/configs/data/ucf101.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

from lightning_vid.data.annotations import PathLike, VideoRecord, read_text
from lightning_vid.data.datamodule import ClipDataModule, SplitNumber

UCF101_TEMPLATE = "{path}"


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    if not path.is_file():
        raise FileNotFoundError(f"UCF101 list not found: {path}")
    text = read_text(path)
    return [(n, line.split()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def read_ucf101_classes(path: PathLike) -> list[str]:
    """Class names from ``classInd.txt`` in index order; indices must be ``1 .. K``."""
    path = Path(path)
    names = {}
    for lineno, fields in _lines(path):
        if len(fields) != 2 or not fields[0].isdigit():
            raise ValueError(f"{path}:{lineno}: expected '<index> <ClassName>', got {fields}")
        names[int(fields[0])] = fields[1]
    if sorted(names) != list(range(1, len(names) + 1)):
        raise ValueError(f"{path}: indices are not 1..{len(names)} without repeats")
    return [names[i] for i in range(1, len(names) + 1)]


def read_ucf101_list(path: PathLike, class_names: Sequence[str], video_root: PathLike,
                     template: str = UCF101_TEMPLATE) -> list[VideoRecord]:
    """Records of a ``trainlist0N.txt`` or ``testlist0N.txt``.

    ``template`` is formatted with ``path`` (as listed), ``class_name``, ``name`` and ``stem``.

    Raises:
        ValueError: naming file and line of an unknown class folder or of a listed index that
            disagrees with the folder.
    """
    path = Path(path)
    exact = {name: i for i, name in enumerate(class_names)}
    folded = {name.lower(): i for i, name in enumerate(class_names)}
    root, records = Path(video_root), []
    for lineno, fields in _lines(path):
        if len(fields) not in (1, 2) or "/" not in fields[0]:
            raise ValueError(f"{path}:{lineno}: expected '<Class>/<video> [index]', got {fields}")
        listed = fields[0]
        class_name, name = listed.split("/", 1)
        label = exact.get(class_name, folded.get(class_name.lower()))
        if label is None:
            raise ValueError(f"{path}:{lineno}: class folder {class_name!r} is not in the "
                             "class list")
        if len(fields) == 2 and fields[1] != str(label + 1):
            raise ValueError(f"{path}:{lineno}: index {fields[1]} disagrees with class "
                             f"{class_name!r} (index {label + 1} in the class list)")
        stem = name.rsplit(".", 1)[0]
        records.append(VideoRecord(str(root / template.format(
            path=listed, class_name=class_name, name=name, stem=stem)), label,
            source=f"{path}:{lineno}"))
    return records


class UCF101DataModule(ClipDataModule):
    """UCF101, one of its three official splits (validation = the split's test list).

    Args:
        root: the dataset folder.
        split: 1, 2 or 3.
        list_dir: the folder of ``classInd.txt``, ``trainlist0N.txt``, ``testlist0N.txt``.
        videos: the folder of ``<Class>/v_<Class>_gXX_cYY.avi`` under ``root``.
        path_template: fields ``path`` (as listed), ``class_name``, ``name``, ``stem``;
            ``{class_name}/{stem}`` for frame folders.
        predict_list: one video, or a list in the ``testlist0N.txt`` format under ``root``;
            ``None``: the split's test list.
        **kwargs: :class:`~lightning_vid.data.datamodule.ClipDataModule` options.
    """

    def __init__(self, root: str, split: SplitNumber = 1, list_dir: str = "ucfTrainTestlist",
                 videos: str = "UCF-101", path_template: str = UCF101_TEMPLATE,
                 predict_list: Optional[str] = None, **kwargs: Any) -> None:
        test = f"{list_dir}/testlist0{split}.txt"
        super().__init__(root, train_list=f"{list_dir}/trainlist0{split}.txt", val_list=test,
                         test_list=test, predict_list=predict_list, **kwargs)

    def read_class_names(self) -> list[str]:
        return read_ucf101_classes(self.root / self.hparams.list_dir / "classInd.txt")

    def read_list(self, name: str) -> list[VideoRecord]:
        hp = self.hparams
        return read_ucf101_list(self.root / name, self.classes, self.root / hp.videos,
                                hp.path_template)
