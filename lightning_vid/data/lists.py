"""A stage's list of videos, read and checked once, before any batch.

:func:`check_list` takes the records a dataset's reader gave and:

- stops on a list without records (naming the file and the split);
- leaves out the files of ``exclude`` (the checker's list);
- warns of a video listed twice, naming both lines (evaluation and prediction score it once,
  training keeps both, as listed);
- gives every path one ``stat``: missing files are reported once (file and list line) and
  skipped, like an undecodable file (see :mod:`lightning_vid.data.dataset`); all of them
  missing is an error (is the root right?);
- with ``check``, runs the checker's fast pass (``lightning-vid-data check --fast``) over the
  files, so a damaged video is reported before the first batch, not when first drawn.

Bad input raises :class:`~lightning_vid.errors.InputError` naming the file and line or the
option (:func:`as_input_error` turns a reader's errors into it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from lightning_vid.data.annotations import (VideoRecord, duplicates, exclude_records,
                                            read_path_list)
from lightning_vid.data.dataset import MISSING
from lightning_vid.errors import InputError, MissingInput

_SHOWN = 5  # files named in a warning; the rest are in skipped_files.csv


@dataclass(frozen=True)
class SkippedFile:
    """A listed video that could not be read: which split, where listed, and why."""

    split: str
    path: str
    source: str
    reason: str


@dataclass(frozen=True)
class Split:
    """A checked list: its records in dataset order, and the indices of those known unreadable."""

    records: list[VideoRecord]
    missing: frozenset[int]


def _names(items: list[Any], show: Callable[[Any], str]) -> str:
    return "; ".join(show(x) for x in items[:_SHOWN]) + (" ..." if len(items) > _SHOWN else "")


def check_list(records: list[VideoRecord], path: Path, split: str, *, once: bool,
               root: Path, exclude: Optional[str] = None, check: bool = False,
               frame_template: str = "", time_limit: Optional[float] = None,
               in_a_run: bool = True) -> tuple[Split, list[SkippedFile]]:
    """The checked list ``path`` of ``split`` and its files found unreadable (see the module
    docstring); ``once``: score a video listed twice once; ``in_a_run``: the missing files'
    warning points to the run's ``skipped_files.csv``."""
    if not records:
        raise InputError(f"{path}: the {split} list has no records")
    if exclude:
        kept = exclude_records(records, read_path_list(root / exclude))
        if len(kept) < len(records):
            rank_zero_info(f"{split}: {len(records) - len(kept)} videos excluded "
                           f"(listed in {exclude})")
        if not kept:
            raise InputError(f"{split}: every video is excluded by {exclude}")
        records = kept
    repeats = duplicates(records)
    if repeats:
        what = "scored once" if once else "kept, as listed"
        rank_zero_warn(f"{split}: {len(repeats)} videos listed more than once ({what}): "
                       + _names(repeats, lambda p: f"{p[0].source} and {p[1].source}: {p[0].path}"))
        if once:
            dropped = {id(b) for _, b in repeats}
            records = [r for r in records if id(r) not in dropped]
    missing = frozenset(i for i, r in enumerate(records) if not os.path.exists(r.path))
    skipped = [SkippedFile(split, records[i].path, records[i].source, MISSING)
               for i in sorted(missing)]
    if missing:
        lost = [records[i] for i in sorted(missing)]
        if len(missing) == len(records):
            raise MissingInput(f"{split}: every one of the {len(records)} listed videos is "
                               f"missing, e.g. {lost[0].path} ({lost[0].source}); paths in a "
                               "list are relative to the list's folder: is --data.root right?")
        where = " (all of them in skipped_files.csv in the run's folder)" if in_a_run else ""
        rank_zero_warn(f"{split}: {len(missing)} of {len(records)} listed videos are missing and "
                       f"will be skipped: " + _names(lost, lambda r: f"{r.source}: {r.path}")
                       + where)
    if check:
        bad = _fast_check(split, records, missing, frame_template, time_limit)
        missing |= frozenset(i for i, _ in bad)
        skipped += [SkippedFile(split, records[i].path, records[i].source, detail)
                    for i, detail in bad]
    return Split(records, missing), skipped


def _fast_check(split: str, records: list[VideoRecord], missing: frozenset[int],
                frame_template: str, time_limit: Optional[float]) -> list[tuple[int, str]]:
    """The checker's fast pass over the existing files: ``(index, why)`` of the bad ones."""
    from functools import partial
    from time import perf_counter

    from lightning_vid.data.tools.check import check_job
    from lightning_vid.data.tools.jobs import run_jobs

    todo = [i for i in range(len(records)) if i not in missing]
    start = perf_counter()
    job = partial(check_job, frame_template=frame_template, fast=True)
    outcomes = run_jobs(job, [(records[i].path, records[i].num_frames) for i in todo],
                        workers=0, progress=False, time_limit_s=time_limit)
    bad = [(i, o.detail) for i, o in zip(todo, outcomes) if o.status in ("bad", "failed")]
    shown = _names(bad, lambda b: f"{records[b[0]].source}: {records[b[0]].path} ({b[1]})")
    rank_zero_info(f"{split}: --data.check: {len(todo)} videos opened in "
                   f"{perf_counter() - start:.1f} s, {len(bad)} bad"
                   + (f", skipped: {shown}" if bad else ""))
    return bad


def as_input_error(read: Callable[..., Any], *args: Any) -> Any:
    """``read(*args)``, a dataset's reader of class names or a list: its errors (file and
    line in the message) are the user's input errors."""
    try:
        return read(*args)
    except InputError:
        raise
    except FileNotFoundError as err:
        raise MissingInput(str(err)) from err
    except ValueError as err:
        raise InputError(str(err)) from err


def no_video(name: str, path: Path, root: Path) -> str:
    """The message for a single video to predict that is not where it was looked for."""
    text = f"--data.predict_list {name}: no video or frame folder {path}; a video is given " \
           f"relative to --data.root ({root}) or absolute"
    if Path(name).exists():  # given relative to the working directory
        try:
            hint = os.path.relpath(Path(name).resolve(), root.resolve())
        except ValueError:
            hint = str(Path(name).resolve())
        text += f": --data.predict_list {hint}"
    return text
