"""Run folders: one run name, one folder per run (:class:`RunFolder`).

``lightning-vid`` keeps everything a run writes in ``<runs_dir>/<run_name>/version_<n>/``:
``checkpoints/`` (``last.ckpt`` and the best by ``val/acc1``), ``lightning_config.yaml`` (the
resolved config), the logger's files (W&B's ``wandb/offline-run-*``, or the CSV/TensorBoard
logs: their ``save_dir``/``name``/``version`` are set to it, so Lightning's own
``trainer.log_dir`` is this folder), figures, ``skipped_files.csv`` and the predictions.

``fit`` starts the next version. ``--ckpt_path last`` (``fit`` resumes, or any command) and
``--ckpt_path best`` work in the newest version that holds such a checkpoint, never silently
elsewhere: a version without one (a run that failed) is passed over, and when no version holds
one the command stops with :class:`~lightning_vid.errors.InputError` naming every version and
what it holds. A checkpoint file inside a version: that version. ``validate``, ``test`` and
``predict`` otherwise work in the latest version, so their logs and predictions sit beside the
checkpoints they evaluate. A command that fails before its first step removes the version it
created, so no lookup ever lands in an empty one; a resumed ``fit`` continues its W&B run.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
from pathlib import Path
from typing import Any, Optional, Union

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from lightning_vid.errors import InputError

PathLike = Union[str, "os.PathLike[str]"]
_VERSION = re.compile(r"version_(\d+)$")
#: what ``lightning-vid`` keeps in every checkpoint, beside Lightning's own keys
INFO_KEY = "lightning_vid"


@rank_zero_only
def say(text: str) -> None:
    """Print on rank zero, to stdout: the paths a user or a script reads (Lightning's
    ``rank_zero_info`` logs to stderr)."""
    print(text, flush=True)


def shown(path: PathLike) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def last_checkpoint(dirpath: PathLike) -> Optional[Path]:
    """The newest ``last*.ckpt`` in ``dirpath`` (what Lightning's ``ckpt_path="last"`` takes)."""
    found = sorted(Path(dirpath).glob("last*.ckpt"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def best_checkpoint(dirpath: PathLike, state_key: Optional[str] = None
                    ) -> Optional[tuple[Path, Optional[float], Optional[str]]]:
    """``(path, score, monitor)`` of the best checkpoint a ``ModelCheckpoint`` recorded in
    ``dirpath``, read from the newest checkpoint there (a new process has no best path in
    memory: Lightning's ``ckpt_path="best"`` only works in the process that trained). The
    recorded file is taken by name from ``dirpath`` when it is there (a run folder moved or
    copied keeps using its own files). ``state_key`` picks the callback's state when several
    ``ModelCheckpoint`` are saved."""
    dirpath = Path(dirpath)
    for ckpt in sorted(dirpath.glob("*.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True):
        states = torch.load(ckpt, map_location="cpu", weights_only=False,
                            mmap=True).get("callbacks", {})
        candidates = [v for k, v in states.items() if k.startswith("ModelCheckpoint")]
        found = states.get(state_key) or (candidates[0] if candidates else None)
        if not found or not found.get("best_model_path"):
            continue
        path = Path(found["best_model_path"])
        path = dirpath / path.name if (dirpath / path.name).is_file() else path
        if path.is_file():
            score = found.get("best_model_score")
            return path, (None if score is None else float(score)), found.get("monitor")
    return None


def describe(version: Path) -> str:
    """What a version folder holds, in a few words (``version_1: no checkpoints (wandb only)``)."""
    ckpts = sorted(p.name for p in (version / "checkpoints").glob("*.ckpt"))
    if ckpts:
        return f"{version.name}: checkpoints {', '.join(ckpts)}"
    others = sorted(p.name for p in version.iterdir()) if version.is_dir() else []
    return f"{version.name}: no checkpoints" + (f" ({', '.join(others)} only)" if others else "")


class RunFolder(L.Callback):
    """The folder of one command (``path``: see the module docstring); a callback that keeps
    the class names and the run's W&B id in each checkpoint (:func:`lightning_vid.load_checkpoint`
    reads the names, a resumed ``fit`` continues the W&B run) and removes the folder it created
    when the command fails before its first step.

    Raises:
        InputError: ``ckpt_path`` is ``last`` or ``best`` and no version holds one.
    """

    def __init__(self, runs_dir: PathLike, name: str, command: str,
                 ckpt_path: Optional[str] = None) -> None:
        self.root, self.name, self.command = Path(runs_dir) / name, name, command
        self.path = self._choose(ckpt_path)
        self.new = not self.path.exists()

    def versions(self) -> list[Path]:
        """The version folders, oldest first."""
        found = [(_VERSION.match(p.name), p) for p in self.root.glob("version_*") if p.is_dir()]
        return [p for m, p in sorted((int(m.group(1)), p) for m, p in found if m)]

    def _choose(self, ckpt_path: Optional[str]) -> Path:
        existing = self.versions()
        if ckpt_path in ("best", "last"):
            return self._holding(existing, ckpt_path)
        if ckpt_path and ckpt_path not in ("hpc", "registry"):
            holder = next((v for v in existing if v.resolve() in Path(ckpt_path).resolve().parents),
                          None)
            if holder is not None:
                return holder
        if existing and (self.command != "fit" or ckpt_path == "hpc"):
            return existing[-1]
        number = int(existing[-1].name.split("_")[1]) + 1 if existing and self.command == "fit" \
            else 0
        return self.root / f"version_{number}"

    def _holding(self, existing: list[Path], kind: str) -> Path:
        """The newest version holding a ``kind`` checkpoint, else an error naming every version
        and what it holds."""
        find = last_checkpoint if kind == "last" else best_checkpoint
        for version in reversed(existing):
            if find(version / "checkpoints") is not None:
                if version != existing[-1]:
                    newer = "; ".join(describe(v) for v in existing[existing.index(version) + 1:])
                    say(f"--ckpt_path {kind}: {shown(version)} (the newer versions hold no {kind} "
                        f"checkpoint: {newer})")
                return version
        what = "a last checkpoint (checkpoints/last.ckpt)" if kind == "last" else \
            "a checkpoint recording a best model"
        held = "; ".join(describe(v) for v in existing)
        todo = ("run fit without --ckpt_path to start a run" if self.command == "fit" else
                f"run fit with --run_name {self.name} first")
        raise InputError(f"--ckpt_path {kind}: no version of {shown(self.root)} holds {what}"
                         + (f" ({held})" if held else " (it has no versions)")
                         + f"; {todo}, or give a checkpoint file")

    # ---- before the loggers and the trainer are built --------------------------------------

    def place_loggers(self, trainer_cfg: Any, ckpt_path: Optional[str]) -> None:
        """Point the configured loggers (jsonargparse specs) at this folder; a W&B logger of a
        resumed ``fit`` continues the run its checkpoint recorded."""
        specs = trainer_cfg.get("logger")
        specs = specs if isinstance(specs, (list, tuple)) else [specs]
        for spec in (s for s in specs if hasattr(s, "class_path")):
            module, _, name = spec.class_path.rpartition(".")
            cls, args = getattr(importlib.import_module(module), name), spec.init_args
            if issubclass(cls, WandbLogger):
                import wandb

                wandb.setup()  # W&B's own settings first (WANDB_SILENT): WandbLogger's arguments
                # would otherwise warn, e.g. "the anonymous setting has no effect"
                args.save_dir = str(self.path.resolve())  # absolute: W&B's service runs elsewhere
                args.name = args.get("name") or self.name
                args.group = args.get("group") or f"{self.name}/{self.path.name}"
                args.job_type = args.get("job_type") or self.command
                resumed = self._wandb_id(ckpt_path)
                if resumed and not args.get("id") and not args.get("version"):
                    args.id, args.resume = resumed, "allow"
            elif {"save_dir", "name", "version"} <= set(vars(args)):  # CSV, TensorBoard
                args.save_dir, args.name, args.version = str(self.root.parent), self.name, \
                    self.path.name

    def _wandb_id(self, ckpt_path: Optional[str]) -> Optional[str]:
        if self.command != "fit" or not ckpt_path:
            return None
        ckpt = last_checkpoint(self.path / "checkpoints") if ckpt_path == "last" \
            else Path(ckpt_path)
        if ckpt is None or not ckpt.is_file() or self.path.resolve() not in ckpt.resolve().parents:
            return None
        try:
            saved = torch.load(ckpt, map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # noqa: BLE001 - not ours to judge here: Lightning reports the file
            return None
        return (saved.get(INFO_KEY) or {}).get("wandb_id")

    def attach(self, trainer: L.Trainer) -> None:
        """Create the folder (rank zero), give it the checkpoints of every ``ModelCheckpoint``
        without a ``dirpath``, and join the trainer's callbacks."""
        if trainer.global_rank == 0 and not trainer.fast_dev_run:
            self.path.mkdir(parents=True, exist_ok=True)  # W&B looks for its git root here
        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, ModelCheckpoint) and callback.dirpath is None:
                callback.dirpath = os.path.realpath(self.path / "checkpoints")
        trainer.callbacks.append(self)

    # ---- callback hooks ----------------------------------------------------------------------

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           checkpoint: dict) -> None:
        names = list(getattr(trainer.datamodule, "classes", None) or []) or None
        wandb_ids = [lg.version for lg in trainer.loggers if isinstance(lg, WandbLogger)]
        checkpoint[INFO_KEY] = {"class_names": names,
                                "wandb_id": wandb_ids[0] if wandb_ids else None}

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Say where the run and its checkpoints are."""
        lines = [f"run folder: {shown(self.path)}"]
        for callback in trainer.checkpoint_callbacks:
            if not isinstance(callback, ModelCheckpoint):
                continue
            best, score = callback.best_model_path, callback.best_model_score
            if best and callback.monitor:
                lines.append(f"best checkpoint: {shown(best)}" + (
                    f" ({callback.monitor} {float(score):.4f})" if score is not None else ""))
            elif best:  # no monitor: the latest (filename "last")
                lines.append(f"{'last' if Path(best).stem == 'last' else 'latest'} "
                             f"checkpoint: {shown(best)}")
            if callback.last_model_path:
                lines.append(f"last checkpoint: {shown(callback.last_model_path)}")
        say("\n".join(lines))

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule,
                     exception: BaseException) -> None:
        """An error before the first step: the folder this command created goes (with its W&B
        run). Not on Ctrl-C or SIGTERM, which keep what they stopped."""
        if (not isinstance(exception, Exception) or not self.new or trainer.global_rank != 0
                or trainer.global_step > 0 or not self.path.is_dir()
                or any(self.path.rglob("*.ckpt"))):
            return
        if any(isinstance(logger, WandbLogger) for logger in trainer.loggers):
            import wandb

            if wandb.run is not None:
                wandb.run.finish(exit_code=1)
        shutil.rmtree(self.path, ignore_errors=True)
        if self.root.is_dir() and not any(self.root.iterdir()):
            self.root.rmdir()


def finish_wandb(trainer: Optional[L.Trainer]) -> None:
    """End the W&B run of a command (a next command in the same process would otherwise log
    into it) and say where it is and how to upload it."""
    if not any(isinstance(lg, WandbLogger) for lg in getattr(trainer, "loggers", [])):
        return
    import wandb

    if wandb.run is not None:  # the run this command's WandbLogger started
        folder = Path(wandb.run.dir).parent
        wandb.run.finish()
        say(f"W&B run (offline): {shown(folder)}; upload: wandb sync {shown(folder)}")
