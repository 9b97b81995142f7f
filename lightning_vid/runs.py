"""Run folders: one run name, one folder per run.

``lightning-vid`` keeps everything a run writes in ``<runs_dir>/<run_name>/version_<n>/``:
``checkpoints/`` (``last.ckpt`` and the best by ``val/acc1``), ``lightning_config.yaml`` (the
resolved config), the logger's files (W&B's ``wandb/offline-run-*``, or the CSV/TensorBoard
logs), figures and ``predictions.csv``. ``fit`` starts the next version, unless it resumes
(``--ckpt_path last``: the latest version; a checkpoint file inside a version: that one);
``validate``, ``test`` and ``predict`` work in the latest version of the run name (or the
version holding their checkpoint), so their logs and predictions sit beside the checkpoints
they evaluate.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Optional, Union

import torch

PathLike = Union[str, "os.PathLike[str]"]
_VERSION = re.compile(r"version_(\d+)$")


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


def run_folder(runs_dir: PathLike, run_name: str, subcommand: str,
               ckpt_path: Optional[str] = None) -> Path:
    """The folder of this command (see the module docstring); not created here."""
    folder = Path(runs_dir) / run_name
    existing = versions(folder)
    if ckpt_path and ckpt_path not in ("best", "last", "hpc", "registry"):
        version = _version_of(Path(ckpt_path), folder)
        if version is not None:
            return folder / f"version_{version}"
    resumes = subcommand == "fit" and ckpt_path in ("last", "hpc")
    if existing and (subcommand != "fit" or resumes):
        return folder / f"version_{existing[-1]}"
    if subcommand != "fit" and not existing:
        return folder / "version_0"
    return folder / f"version_{existing[-1] + 1 if existing else 0}"


def best_checkpoint(dirpath: PathLike, state_key: Optional[str] = None
                    ) -> Optional[tuple[Path, Optional[float], Optional[str]]]:
    """``(path, score, monitor)`` of the best checkpoint a ``ModelCheckpoint`` recorded in
    ``dirpath``, read from the newest checkpoint there (a new process has no best path in
    memory: Lightning's ``ckpt_path="best"`` only works in the process that trained).

    The recorded path is looked up by name in ``dirpath`` when the run folder was moved.
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
        if not path.is_file():
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


def shown(path: PathLike) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
