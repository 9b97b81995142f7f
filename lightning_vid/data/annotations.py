"""Annotation files -> records.

The generic format: a CSV with a header ``path,label`` (paths relative to the list's
folder, or absolute; label an integer index into the class-name file), and a class-name
file with one name per line. Malformed lines are rejected before training starts with the
file and line number.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class VideoRecord:
    """One labelled video: an absolute path and an integer label."""

    path: str
    label: int


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
