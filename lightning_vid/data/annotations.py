"""Annotation files -> records: the record type, the generic CSV, and the helpers every format
shares (class names, left/right pairs, the bad-file list, duplicates).

The published formats of the benchmarks (Kinetics, SSv2, HMDB51, UCF101, TSM lists) are read
in :mod:`lightning_vid.data.datasets`, one file per dataset. The generic format: a CSV with a
header ``path,label`` (paths relative to the list's folder, or absolute; label an integer index
into the class-name file, or a class name from it) or ``path`` alone (an unlabelled list:
label -1), and a class-name file with one name per line. Files saved by Excel ("CSV UTF-8":
a byte-order mark, CRLF line ends) read the same. Malformed lines are rejected before training
starts with the file and line number, and every record remembers where it was listed
(``source``, ``file:line``), so a skipped video can be named by its line.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class VideoRecord:
    """One labelled video: a path (video file or frame folder) and an integer label.

    ``label`` is -1 for unlabelled lists (the Kinetics and SSv2 test sets, a ``path``-only
    CSV); ``num_frames`` is the frame count when the list gives it (TSM-style lists), else
    ``None`` (counted on read); ``source`` says where the record was listed (``file:line``,
    or ``file item N`` for JSON lists) and takes no part in comparisons.
    """

    path: str
    label: int
    num_frames: Optional[int] = None
    source: str = field(default="", compare=False)


def read_text(path: PathLike) -> str:
    """A text file's contents; a UTF-8 byte-order mark (Excel's "CSV UTF-8") is dropped."""
    return Path(path).read_text(encoding="utf-8-sig")


def read_class_names(path: PathLike) -> list[str]:
    """One class name per non-empty line; duplicates are an error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"class-name file not found: {path}")
    names = [line.strip() for line in read_text(path).splitlines() if line.strip()]
    if not names:
        raise ValueError(f"{path}: no class names")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"{path}: duplicate class names {dupes}")
    return names


def read_csv_list(
    path: PathLike, num_classes: Union[int, Sequence[str]], root: Optional[PathLike] = None
) -> list[VideoRecord]:
    """Read a ``path,label`` CSV, or an unlabelled ``path`` CSV (every label -1).

    Args:
        path: the CSV file.
        num_classes: the number of classes (a label is an index ``0 <= label <
            num_classes``), or the class names (a label is an index or one of the names).
        root: folder relative paths are resolved against (default: the CSV's folder).

    Raises:
        FileNotFoundError: the list is missing.
        ValueError: naming the file and line of a malformed row.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "l.csv").write_bytes(b"\\xef\\xbb\\xbfpath,label\\r\\na.mp4,1\\r\\n")
    ...     [(Path(r.path).name, r.label, r.source[-7:]) for r in read_csv_list(f"{tmp}/l.csv", 2)]
    [('a.mp4', 1, 'l.csv:2')]
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation list not found: {path}")
    base = Path(root) if root is not None else path.parent
    records = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        header = [h.strip() for h in next(rows, None) or []]
        if header not in (["path", "label"], ["path"]):
            raise ValueError(f"{path}:1: expected the header 'path,label' (or 'path' for an "
                             f"unlabelled list), got {','.join(header)!r}")
        labelled = len(header) == 2
        for lineno, row in enumerate(rows, start=2):
            if not row or not "".join(row).strip():
                continue
            records.append(_parse_row(row, path, lineno, num_classes, base, labelled))
    return records


def _parse_row(row: list[str], path: Path, lineno: int, classes: Union[int, Sequence[str]],
               base: Path, labelled: bool) -> VideoRecord:
    where = f"{path}:{lineno}"
    if len(row) != (2 if labelled else 1) or not row[0].strip():
        expected = "path,label" if labelled else "path"
        raise ValueError(f"{where}: expected '{expected}', got {','.join(row)!r}")
    label = _label(row[1].strip(), classes, where) if labelled else -1
    return VideoRecord(str(base / row[0].strip()), label, source=where)


def _label(text: str, classes: Union[int, Sequence[str]], where: str) -> int:
    """A label as a class index, from an index or a class name."""
    names = None if isinstance(classes, int) else list(classes)
    count = classes if names is None else len(names)
    if names is not None and text in names:
        return names.index(text)
    what = f"an index 0..{count - 1}" + (" or a class name" if names is not None else "")
    try:
        label = int(text)
    except ValueError:
        raise ValueError(f"{where}: label {text!r} is not {what} ({count} classes"
                         + (f": {_some(names)}" if names is not None else "")
                         + "); fix the line or the class-name file") from None
    if not 0 <= label < count:
        raise ValueError(f"{where}: label {label} outside [0, {count}) (the class-name file has "
                         f"{count} classes); give {what}, or add the class to the class-name "
                         "file")
    return label


def _some(names: Sequence[str], shown: int = 5) -> str:
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")


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
    a ``#`` comment (the bad-file list ``lightning-vid-data check`` writes:
    ``path<TAB>reason<TAB>where listed``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path list not found: {path}")
    lines = (line.split("\t", 1)[0].strip() for line in read_text(path).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def same_file(path: PathLike) -> str:
    """The key two paths of one file share: absolute and normalised."""
    return os.path.normpath(os.path.abspath(path))


def exclude_records(records: Iterable[VideoRecord], excluded: Iterable[str]) -> list[VideoRecord]:
    """``records`` without those whose path (compared absolute and normalised) is excluded."""
    drop = {same_file(p) for p in excluded}
    return [r for r in records if same_file(r.path) not in drop]


def duplicates(records: Sequence[VideoRecord]) -> list[tuple[VideoRecord, VideoRecord]]:
    """``(first, repeat)`` for every record whose video an earlier record already lists.

    >>> records = [VideoRecord(p, 0, source=f"l:{i}") for i, p in enumerate(["a", "b", "./a"], 2)]
    >>> [(x.source, y.source) for x, y in duplicates(records)]
    [('l:2', 'l:4')]
    """
    first: dict[str, VideoRecord] = {}
    found = []
    for record in records:
        key = same_file(record.path)
        if key in first:
            found.append((first[key], record))
        else:
            first[key] = record
    return found
