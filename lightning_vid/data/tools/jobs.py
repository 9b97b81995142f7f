"""Running a dataset tool over many files: parallel, resumable, with a progress bar and a report.

The tools of ``lightning-vid-data`` (:mod:`.extract`, :mod:`.reencode`, :mod:`.check`) each
define one job ``fn(item) -> Outcome`` (a module-level function over one path, configured with
:func:`functools.partial`, picklable for worker processes) and hand it to :func:`run_jobs`,
which

- runs the items in ``workers`` processes (one thread each), or in-process for ``workers=0``;
- shows a tqdm progress bar with the counts so far;
- turns any exception into a ``failed`` outcome naming the item (one bad video never stops
  the run) and enforces a per-item time limit;
- returns the outcomes in input order (the bar advances as items finish). Resuming is the
  job's business: a job whose output is complete returns ``skipped`` (outputs are written
  under a temporary name and renamed when complete, so an interrupted run leaves nothing that
  looks finished).

:func:`write_report` writes the JSON report (counts, failures with reasons, settings) and
:func:`exit_status` the process exit status: 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Any, Callable, Literal, Optional, Sequence

from lightning_vid.data.deadline import time_limit
from lightning_vid.data.video_io import VIDEO_EXTENSIONS

Status = Literal["done", "skipped", "failed", "bad"]


@dataclass
class Outcome:
    """What one job did: ``done``, ``skipped`` (output already complete), ``bad`` (the
    checker found a bad file) or ``failed`` (an error), with details in words."""

    item: str
    status: Status
    detail: str = ""
    seconds: float = 0.0


def _init_worker() -> None:
    from lightning_vid.data.workers import worker_init  # one thread, flat memory

    worker_init()


def _run_one(job: tuple[Callable[[Any], Outcome], Any, Optional[float]]) -> Outcome:
    fn, item, limit = job
    name = item if isinstance(item, str) else item[0]  # a path, or (path, details)
    start = time.perf_counter()
    try:
        with time_limit(limit, name):
            outcome = fn(item)
    except Exception as err:  # noqa: BLE001 - reported per item, the run goes on
        outcome = Outcome(name, "failed", f"{type(err).__name__}: {err}")
    outcome.seconds = round(time.perf_counter() - start, 3)
    return outcome


def run_jobs(fn: Callable[[Any], Outcome], items: Sequence[Any], workers: int = 1,
             desc: str = "", progress: bool = True,
             time_limit_s: Optional[float] = 600.0) -> list[Outcome]:
    """Run ``fn`` on every item; outcomes in input order.

    Args:
        fn: a picklable (module-level) function, ``fn(item) -> Outcome``.
        items: the inputs: paths, or tuples whose first element is the path.
        workers: processes; 0 runs in this process.
        desc: the progress bar's label.
        progress: show the progress bar (stderr).
        time_limit_s: seconds per item before it is reported as failed.
    """
    from tqdm.auto import tqdm

    jobs = [(fn, item, time_limit_s) for item in items]
    outcomes: list[Optional[Outcome]] = [None] * len(jobs)
    counts: dict[str, int] = {}
    bar = tqdm(total=len(jobs), desc=desc, disable=not progress, unit="file", dynamic_ncols=True)

    def record(i: int, outcome: Outcome) -> None:
        outcomes[i] = outcome
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        bar.set_postfix(counts, refresh=False)
        bar.update()

    try:
        if workers <= 0:
            for i, job in enumerate(jobs):
                record(i, _run_one(job))
        else:
            with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
                futures = {pool.submit(_run_one, job): i for i, job in enumerate(jobs)}
                try:
                    for future in as_completed(futures):
                        record(futures[future], future.result())
                except BaseException:  # Ctrl-C: drop what has not started
                    pool.shutdown(cancel_futures=True)
                    raise
    finally:
        bar.close()
    return [o for o in outcomes if o is not None]


def summary(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """Outcome counts by status, with ``total``."""
    counts = {status: 0 for status in ("done", "skipped", "bad", "failed")}
    for outcome in outcomes:
        counts[outcome.status] += 1
    return {"total": len(outcomes), **counts}


def write_report(path: Optional[str], outcomes: Sequence[Outcome], settings: dict[str, Any],
                 seconds: float) -> dict[str, Any]:
    """Write (when ``path`` is set) and return the JSON report; print a one-line summary."""
    report = {
        "summary": summary(outcomes), "seconds": round(seconds, 2), "settings": settings,
        "problems": [asdict(o) for o in outcomes if o.status in ("failed", "bad")],
    }
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump(report, f, indent=2)
    counts = report["summary"]
    print(", ".join(f"{k} {v}" for k, v in counts.items()) + f" in {seconds:.1f} s"
          + (f"; report: {path}" if path else ""))
    return report


def exit_status(outcomes: Sequence[Outcome]) -> int:
    """0 when no item failed or was found bad, else 1."""
    return int(any(o.status in ("failed", "bad") for o in outcomes))


def output_path(path: str, root: str, out: str, suffix: Optional[str]) -> str:
    """``out/<path relative to root>`` with the suffix replaced (``""``: removed, for frame
    folders; ``None``: kept). Paths outside ``root`` keep only their file name.

    >>> output_path("/d/v/a/x.webm", "/d/v", "/o", "")
    '/o/a/x'
    >>> output_path("/e/y.avi", "/d/v", "/o", ".mp4")
    '/o/y.mp4'
    """
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if relative.startswith(os.pardir):
        relative = os.path.basename(path)
    if suffix is not None:
        relative = os.path.splitext(relative)[0] + suffix
    return os.path.join(out, relative)


def add_common_arguments(parser: Any, timeout: float) -> None:
    """The options every tool has: inputs, ``--list``, extensions, workers, time limit,
    report and progress bar."""
    parser.add_argument("inputs", nargs="*", help="video files, frame folders or folders to "
                        "search")
    parser.add_argument("--list", help="a file with one path per line (a bad-file list works)")
    parser.add_argument("--ext", nargs="+", default=[e[1:] for e in VIDEO_EXTENSIONS],
                        help="video suffixes searched for in folders")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes (0: in this process)")
    parser.add_argument("--timeout", type=float, default=timeout, help="seconds per file")
    parser.add_argument("--report", help="the JSON report")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_output_arguments(parser: Any, what: str) -> None:
    """``--out`` (required) and ``--root`` of a tool that writes one output per input."""
    parser.add_argument("--out", required=True, help=f"folder for the {what}")
    parser.add_argument("--root", help="output paths mirror input paths relative to this "
                        "(default: the first input folder)")


def run_settings(args: Any) -> dict[str, Any]:
    """The arguments of a run, for its report."""
    return {k: v for k, v in vars(args).items() if k not in ("no_progress", "run")}


def find_media(roots: Sequence[str], extensions: Sequence[str],
               frame_template: Optional[str] = None, start_index: int = 1) -> list[str]:
    """Video files (by extension) and, with ``frame_template``, frame folders (folders holding
    the first frame file) under ``roots`` (files are taken as they are); sorted, unique."""
    suffixes = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)
    first = frame_template.format(start_index) if frame_template else None
    found = set()
    for root in roots:
        if os.path.isfile(root):
            found.add(os.path.abspath(root))
            continue
        for folder, dirs, files in os.walk(root):
            if first and first in files:
                found.add(os.path.abspath(folder))
                dirs[:] = []
                continue
            found.update(os.path.abspath(os.path.join(folder, f)) for f in files
                         if f.lower().endswith(suffixes))
    return sorted(found)
