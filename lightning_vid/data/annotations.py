"""Annotation files -> records; the label-map helpers shared by every format.

The dataset formats (Kinetics, SSv2, HMDB51, UCF101, TSM lists) live in
:mod:`lightning_vid.data.formats`. The generic format: a CSV with a header ``path,label``
(paths relative to the list's folder, or absolute; label an integer index into the
class-name file), and a class-name file with one name per line. Malformed lines are rejected before training starts with the
file and line number.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class VideoRecord:
    """One labelled video: a path (video file or frame folder) and an integer label.

    ``label`` is -1 for unlabelled lists (the Kinetics and SSv2 test sets); ``num_frames`` is
    the frame count when the list gives it (TSM-style lists), else ``None`` (counted on read).
    """

    path: str
    label: int
    num_frames: Optional[int] = None


def read_class_names(path: PathLike) -> list[str]:
    """One class name per non-empty line; duplicates are an error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"class-name file not found: {path}")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not names:
        raise ValueError(f"{path}: no class names")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"{path}: duplicate class names {dupes}")
    return names


def read_csv_list(
    path: PathLike, num_classes: int, root: Optional[PathLike] = None
) -> list[VideoRecord]:
    """Read a ``path,label`` CSV.

    Args:
        path: the CSV file.
        num_classes: labels must lie in ``[0, num_classes)``.
        root: folder relative paths are resolved against (default: the CSV's folder).

    Raises:
        FileNotFoundError: the list is missing.
        ValueError: naming the file and line of a malformed row.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation list not found: {path}")
    base = Path(root) if root is not None else path.parent
    records = []
    with path.open(newline="") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None or [h.strip() for h in header[:2]] != ["path", "label"]:
            raise ValueError(f"{path}:1: expected the header 'path,label', got {header}")
        for lineno, row in enumerate(rows, start=2):
            if not row or not "".join(row).strip():
                continue
            records.append(_parse_row(row, path, lineno, num_classes, base))
    return records


def _parse_row(row: list[str], path: Path, lineno: int, num_classes: int, base: Path) -> VideoRecord:
    if len(row) != 2 or not row[0].strip():
        raise ValueError(f"{path}:{lineno}: expected 'path,label', got {','.join(row)!r}")
    try:
        label = int(row[1])
    except ValueError:
        raise ValueError(f"{path}:{lineno}: label {row[1]!r} is not an integer") from None
    if not 0 <= label < num_classes:
        raise ValueError(f"{path}:{lineno}: label {label} outside [0, {num_classes})")
    return VideoRecord(str(base / row[0].strip()), label)


def left_right_pairs(class_names: Sequence[str]) -> dict[int, int]:
    """Classes whose names differ only by exchanging the words "left" and "right", both ways.

    A horizontal flip turns one into the other, so flipping must swap their labels (or skip
    them). Derived from the names rather than hard-coded indices, so it holds for any class
    file; for SSv2 it gives 86<->87, 93<->94 and 166<->167 (tested against the labels file).

    >>> left_right_pairs(["push left to right", "jump", "push right to left"])
    {0: 2, 2: 0}
    """
    swap = {"left": "right", "right": "left", "Left": "Right", "Right": "Left"}
    index = {name: i for i, name in enumerate(class_names)}
    pairs = {}
    for i, name in enumerate(class_names):
        mirrored = re.sub(r"\b(left|right|Left|Right)\b", lambda m: swap[m.group(1)], name)
        j = index.get(mirrored)
        if j is not None and j != i:
            pairs[i] = j
    return pairs


def read_path_list(path: PathLike) -> list[str]:
    """Paths from a list file: the first tab-separated field of each non-empty line that is not
    a ``#`` comment (the bad-file list ``scripts/check_dataset.py`` writes: ``path<TAB>reason``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path list not found: {path}")
    lines = (line.split("\t", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def exclude_records(records: Iterable[VideoRecord], excluded: Iterable[str]) -> list[VideoRecord]:
    """``records`` without those whose path (compared absolute and normalised) is excluded."""
    drop = {os.path.normpath(os.path.abspath(p)) for p in excluded}
    return [r for r in records if os.path.normpath(os.path.abspath(r.path)) not in drop]
