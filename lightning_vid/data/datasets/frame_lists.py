"""TSN/TSM-style lists (one video per line, ``<folder> <num_frames> <label>``) and
:class:`FrameListDataModule`.

Written by the TSM tools (``gen_label_kinetics.py``, ``gen_label_sthv2.py``) for frame folders;
the folder is relative to the frame root, ``num_frames`` is how many frames were extracted
(the sampling uses it without listing the folder), ``label`` is a 0-based class index into the
category file (``category.txt``, one name per line)::

    abseiling/-3B32lodo2M_000059_000069 300 0
    78687 45 12

Ready config: ``lightning_vid/configs/data/sthv2_tsm_frames.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from lightning_vid.data.annotations import PathLike, VideoRecord, read_class_names, read_text
from lightning_vid.data.datamodule import ClipDataModule


def read_tsm_list(path: PathLike, num_classes: int,
                  root: Optional[PathLike] = None) -> list[VideoRecord]:
    """Records of a TSM list, with their frame counts.

    Args:
        path: the list file.
        num_classes: labels must lie in ``[0, num_classes)``.
        root: the folder the listed folders are relative to (default: the list's folder).

    Raises:
        ValueError: naming file and line of a malformed line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"TSM list not found: {path}")
    base = Path(root) if root is not None else path.parent
    records = []
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.strip().rsplit(maxsplit=2)  # folder names may contain spaces
        if len(fields) != 3:
            raise ValueError(f"{path}:{lineno}: expected '<folder> <num_frames> <label>', "
                             f"got {line!r}")
        folder, count, label = fields
        try:
            count_, label_ = int(count), int(label)
        except ValueError:
            raise ValueError(f"{path}:{lineno}: num_frames and label must be integers, "
                             f"got {count!r} {label!r}") from None
        if not 0 <= label_ < num_classes:
            raise ValueError(f"{path}:{lineno}: label {label_} outside [0, {num_classes})")
        records.append(VideoRecord(str(base / folder), label_, num_frames=count_,
                                   source=f"{path}:{lineno}"))
    return records


class FrameListDataModule(ClipDataModule):
    """TSN/TSM-style lists (``<folder> <num_frames> <label>``) of frame folders or videos.

    Args:
        root: the dataset folder.
        train_list, val_list, test_list, predict_list: list files under ``root``
            (``predict_list`` may also name one video).
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
        super().__init__(root, train_list=train_list, val_list=val_list, test_list=test_list,
                         predict_list=predict_list, **kwargs)

    def read_class_names(self) -> list[str]:
        return read_class_names(self.root / self.hparams.class_names)

    def read_list(self, name: str) -> list[VideoRecord]:
        return read_tsm_list(self.root / name, self.num_classes, self.root / self.hparams.frames)
