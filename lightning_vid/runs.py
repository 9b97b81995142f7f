"""Run folders: one run name, one folder per run.

``lightning-vid`` keeps everything a run writes in ``<runs_dir>/<run_name>/version_<n>/``:
``checkpoints/`` (``last.ckpt`` and the best by ``val/acc1``), ``lightning_config.yaml`` (the
resolved config), the logger's files (W&B's ``wandb/offline-run-*``, or the CSV/TensorBoard
logs), figures, ``skipped_files.csv`` and the predictions (``predictions_<list>.csv``).

``fit`` starts the next version. ``--ckpt_path last`` (``fit`` resumes, or any command) and
``--ckpt_path best`` work in the newest version that holds such a checkpoint, never silently
elsewhere: a version without one (a run that failed) is passed over, and when no version holds
one the command stops with :class:`~lightning_vid.errors.InputError` naming every version and
what it holds. A checkpoint file inside a version: that version. ``validate``, ``test`` and
``predict`` otherwise work in the latest version, so their logs and predictions sit beside the
checkpoints they evaluate. A command that fails before its first step removes the version it
created (:mod:`lightning_vid.cli`), so no lookup ever lands in an empty one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Optional, Union

import torch
from lightning.fabric.utilities.rank_zero import rank_zero_only

from lightning_vid.errors import InputError

PathLike = Union[str, "os.PathLike[str]"]
_VERSION = re.compile(r"version_(\d+)$")
#: the ``--ckpt_path`` values a run folder answers
LOOKUPS = ("best", "last")


def versions(folder: PathLike) -> list[int]:
    """The version numbers of the run folders under ``folder`` (``version_<n>``), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = (_VERSION.match(p.name) for p in folder.iterdir() if p.is_dir())
    return sorted(int(m.group(1)) for m in found if m)


def _version_of(path: Path, folder: Path) -> Optional[int]:
    """The version whose folder holds ``path``, when ``path`` lies under ``folder``."""
    try:
        relative = path.resolve().relative_to(folder.resolve())
    except ValueError:
        return None
    match = _VERSION.match(relative.parts[0]) if relative.parts else None
    return int(match.group(1)) if match else None


def last_checkpoint(dirpath: PathLike) -> Optional[Path]:
    """The newest ``last*.ckpt`` in ``dirpath`` (what Lightning's ``ckpt_path="last"`` takes)."""
    dirpath = Path(dirpath)
    found = sorted(dirpath.glob("last*.ckpt"), key=lambda p: p.stat().st_mtime) \
        if dirpath.is_dir() else []
    return found[-1] if found else None


def _holds(version: Path, kind: str) -> bool:
    checkpoints = version / "checkpoints"
    if kind == "last":
        return last_checkpoint(checkpoints) is not None
    return best_checkpoint(checkpoints) is not None


def describe(version: Path) -> str:
    """What a version folder holds, in a few words (``version_1: wandb only``)."""
    ckpts = sorted(p.name for p in (version / "checkpoints").glob("*.ckpt"))
    if ckpts:
        return f"{version.name}: checkpoints {', '.join(ckpts)}"
    others = sorted(p.name for p in version.iterdir()) if version.is_dir() else []
    return f"{version.name}: no checkpoints" + (f" ({', '.join(others)} only)" if others else "")


def run_folder(runs_dir: PathLike, run_name: str, subcommand: str,
               ckpt_path: Optional[str] = None) -> Path:
    """The folder of this command (see the module docstring); not created here.

    Raises:
        InputError: ``ckpt_path`` is ``last`` or ``best`` and no version holds one.
    """
    folder = Path(runs_dir) / run_name
    existing = versions(folder)
    if ckpt_path and ckpt_path not in ("best", "last", "hpc", "registry"):
        version = _version_of(Path(ckpt_path), folder)
        if version is not None:
            return folder / f"version_{version}"
    if ckpt_path in LOOKUPS:
        return _holding(folder, existing, ckpt_path, subcommand)
    resumes = subcommand == "fit" and ckpt_path == "hpc"
    if existing and (subcommand != "fit" or resumes):
        return folder / f"version_{existing[-1]}"
    if subcommand != "fit" and not existing:
        return folder / "version_0"
    return folder / f"version_{existing[-1] + 1 if existing else 0}"


def _holding(folder: Path, existing: list[int], kind: str, subcommand: str) -> Path:
    """The newest version of ``folder`` holding a ``kind`` checkpoint, else an error naming
    every version and what it holds."""
    for number in reversed(existing):
        version = folder / f"version_{number}"
        if _holds(version, kind):
            if number != existing[-1]:
                newer = "; ".join(describe(folder / f"version_{n}") for n in existing
                                  if n > number)
                _say(f"--ckpt_path {kind}: {shown(version)} (the newer versions hold no {kind} "
                     f"checkpoint: {newer})")
            return version
    what = "a last checkpoint (checkpoints/last.ckpt)" if kind == "last" else \
        "a checkpoint recording a best model"
    held = "; ".join(describe(folder / f"version_{n}") for n in existing)
    todo = ("run fit without --ckpt_path to start a run" if subcommand == "fit" else
            f"run fit with --run_name {folder.name} first")
    raise InputError(
        f"--ckpt_path {kind}: no version of {shown(folder)} holds {what}"
        + (f" ({held})" if held else " (it has no versions)")
        + f"; {todo}, or give a checkpoint file")


def best_checkpoint(dirpath: PathLike, state_key: Optional[str] = None
                    ) -> Optional[tuple[Path, Optional[float], Optional[str]]]:
    """``(path, score, monitor)`` of the best checkpoint a ``ModelCheckpoint`` recorded in
    ``dirpath``, read from the newest checkpoint there (a new process has no best path in
    memory: Lightning's ``ckpt_path="best"`` only works in the process that trained).

    The recorded file is taken by name from ``dirpath`` when it is there (a run folder moved
    or copied keeps using its own files), else from the recorded path.
    ``state_key`` picks the callback's state when several ``ModelCheckpoint`` are saved.
    """
    dirpath = Path(dirpath)
    if not dirpath.is_dir():
        return None
    for ckpt in sorted(dirpath.glob("*.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True):
        states = torch.load(ckpt, map_location="cpu", weights_only=False,
                            mmap=True).get("callbacks", {})
        found = _checkpoint_state(states, state_key)
        if found is None or not found.get("best_model_path"):
            continue
        path = Path(found["best_model_path"])
        if (dirpath / path.name).is_file():  # this folder's own file, also when copied
            path = dirpath / path.name
        if path.is_file():
            score = found.get("best_model_score")
            return path, (None if score is None else float(score)), found.get("monitor")
    return None


def _checkpoint_state(states: dict[str, Any], state_key: Optional[str]) -> Optional[dict]:
    if state_key in states:
        return states[state_key]
    candidates = [v for k, v in states.items() if k.startswith("ModelCheckpoint")]
    return candidates[0] if candidates else None


@rank_zero_only
def _say(text: str) -> None:
    print(text, flush=True)


def shown(path: PathLike) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
