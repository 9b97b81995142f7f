"""``lightning-vid-data check``: find the files the loaders would skip, before training.

    lightning-vid-data check --data-config lightning_vid/configs/data/kinetics400.yaml \\
        [--root data/kinetics400] [--bad-list data/kinetics400/bad_files.txt] [--workers 8]
    lightning-vid-data check VIDEOS_DIR [--frame-template img_{:05d}.jpg] --bad-list bad.txt

Inputs: every record of every list of a data config (``--data-config``, the ``data`` section
format of ``lightning_vid/configs/data/*.yaml``; ``--root`` overrides its root), folders
searched for videos and frame folders, files, or ``--list`` (one path per line).

Every file is decoded in full, every frame, by the code the loaders read it with
(:meth:`~lightning_vid.data.media.MediaReader.verify`: the same frame index, frames checked
against it, converted to RGB; a frame folder's numbering checked for gaps and every JPEG
decoded; a count given by the list checked against the folder). So the list holds exactly the
files the loaders would skip: missing ones, zero frames, no video stream, a truncated or
corrupt file, a corrupt or missing JPEG, a decode that exceeds ``--timeout``.

``--fast`` opens every file, counts its frames and decodes the first and the last
(:meth:`~lightning_vid.data.media.MediaReader.probe`): a missing or empty file, no video
stream, a broken header or index, most truncations, in a fraction of the time; the data
modules run this pass before training with ``--data.check true``.

Writes the bad-file list, one ``path<TAB>reason<TAB>where listed`` per line, which the data
modules leave out with ``exclude: bad_files.txt`` (relative to their root), and a JSON report.
Parallel, with a progress bar. Exit status: 0 when every file is good, 1 when some are bad.
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial
from typing import Optional

from lightning_vid.data.annotations import read_path_list, same_file
from lightning_vid.data.frames_io import DEFAULT_TEMPLATE
from lightning_vid.data.media import MediaReader
from lightning_vid.data.tools.jobs import (Outcome, add_common_arguments, exit_status,
                                           find_media, run_jobs, run_settings, write_report)

#: a file to check and the frame count its list gives (``None``: counted)
Item = tuple[str, Optional[int]]


def check_job(item: Item, *, frame_template: str = DEFAULT_TEMPLATE,
              fast: bool = False) -> Outcome:
    """``bad`` with the reason when the file cannot give every one of its frames (``fast``:
    its frame count, its first or its last frame)."""
    path, num_frames = item
    reader = MediaReader(frame_template)
    try:
        count = (reader.probe if fast else reader.verify)(path, num_frames)
    except FileNotFoundError:
        return Outcome(path, "bad", "missing")
    except Exception as err:  # noqa: BLE001 - the checker reports, it never stops
        reason = getattr(err, "reason", None) or f"{type(err).__name__}: {err}"
        return Outcome(path, "bad", " ".join(str(reason).split()))
    return Outcome(path, "done", f"{count} frames")


def records_of_config(config: str, root: Optional[str]) -> tuple[list[tuple], str]:
    """``(path, num_frames, where listed)`` of every list of a data config, and its frame
    template."""
    import lightning as L
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(L.LightningDataModule, "data")
    args = ["--data", config] + (["--data.init_args.root", root] if root else [])
    datamodule = parser.instantiate_classes(parser.parse_args(args)).data
    found = {}
    for stage, name in datamodule.lists.items():
        if name is not None:
            for record in datamodule.records(stage):
                found.setdefault(same_file(record.path),
                                 (record.path, record.num_frames, record.source))
    return list(found.values()), datamodule.reader.frame_template


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, timeout=600)
    parser.add_argument("--data-config", help="a data config: check every record of its lists")
    parser.add_argument("--root", help="overrides the data config's root")
    parser.add_argument("--frame-template", default=DEFAULT_TEMPLATE,
                        help="frame file names (a data config gives its own)")
    parser.add_argument("--bad-list", default="bad_files.txt", help="output: the bad files")
    parser.add_argument("--fast", action="store_true", help="count the frames and decode the "
                        "first and last of each file only")


def run(args: argparse.Namespace) -> int:
    if not (args.inputs or args.list or args.data_config):
        raise SystemExit("check: give inputs, --list or --data-config")
    template = args.frame_template
    records = [(p, None, "") for p in find_media(args.inputs, args.ext, template)]
    records += [(p, None, "") for p in (read_path_list(args.list) if args.list else [])]
    if args.data_config:
        from_config, template = records_of_config(args.data_config, args.root)
        records += from_config
    unique = {same_file(path): (path, count, source) for path, count, source in records}
    where = {path: source for path, _, source in unique.values()}
    items = sorted((path, count) for path, count, _ in unique.values())
    job = partial(check_job, frame_template=template, fast=args.fast)
    start = time.perf_counter()
    outcomes = run_jobs(job, items, args.workers, "check", not args.no_progress, args.timeout)
    bad = sorted((o for o in outcomes if o.status in ("bad", "failed")), key=lambda o: o.item)
    os.makedirs(os.path.dirname(os.path.abspath(args.bad_list)), exist_ok=True)
    with open(args.bad_list, "w") as f:
        f.write(f"# {len(bad)} bad of {len(outcomes)} checked by lightning-vid-data check\n")
        f.writelines(f"{o.item}\t{' '.join(o.detail.split())}\t{where.get(o.item, '')}\n"
                     for o in bad)
    report = args.report or os.path.splitext(args.bad_list)[0] + "_report.json"
    write_report(report, outcomes, run_settings(args), time.perf_counter() - start)
    print(f"bad-file list: {args.bad_list} ({len(bad)} files)")
    return exit_status(outcomes)
