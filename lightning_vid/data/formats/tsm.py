"""The TSN/TSM list format: one video per line, ``<folder> <num_frames> <label>``.

Written by the TSM tools (``gen_label_kinetics.py``, ``gen_label_sthv2.py``) for frame folders;
the folder is relative to the frame root, ``num_frames`` is how many frames were extracted
(the sampling uses it without listing the folder), ``label`` is a 0-based class index into the
category file (``category.txt``, one name per line)::

    abseiling/-3B32lodo2M_000059_000069 300 0
    78687 45 12
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from lightning_vid.data.annotations import PathLike, VideoRecord


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
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
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
        records.append(VideoRecord(str(base / folder), label_, num_frames=count_))
    return records
