"""The ``lightning-vid`` command: LightningCLI over :class:`VideoClassifier` and the data modules.

``lightning-vid fit|validate|test|predict --config lightning_vid/configs/<name>.yaml``.

- Each shared value lives once, in the data section, and is linked to the model (:data:`LINKS`):
  ``num_classes`` (from the class-name file), ``num_segments``, ``frames_per_segment`` and
  ``crop_size`` (the model's ``input_size``).
- One run name, one folder (:mod:`lightning_vid.runs`): ``--run_name`` (default: the config
  file's name) and ``--runs_dir`` (default ``runs``) give ``runs/<name>/version_<n>/``, which
  holds the checkpoints, the resolved config, the logger's files and the predictions. The
  loggers' folders are set to it; W&B runs of one experiment share a ``group`` and carry the
  command as ``job_type``; every ``ModelCheckpoint`` without a ``dirpath`` writes to
  ``checkpoints/`` in it.
- ``--ckpt_path best`` works in a new process (the best path is read from the run's
  checkpoints); ``fit`` prints the best and last checkpoints when it ends.
- Every run gets :class:`~lightning_vid.callbacks.DataWaitTimer`,
  :class:`~lightning_vid.callbacks.RandomState` (exact resume),
  :class:`~lightning_vid.callbacks.StopOnSignal` (Ctrl-C and SIGTERM stop ``fit`` where every
  rank can, ``last.ckpt`` saved), :class:`~lightning_vid.callbacks.EpochSummary` (a line per
  epoch when no progress bar shows the metrics) and
  :class:`~lightning_vid.callbacks.PredictionWriter` (``--predictions.path``).
- ``--ckpt_path last|best`` use the newest version holding such a checkpoint, or stop naming
  what each version holds; a command that fails before its first step removes the version it
  created. A resumed ``fit`` continues its W&B run (the checkpoint keeps the run's id).
- The console script exits 0 on success, non-zero on an error, 2 on a bad config or bad input
  (:class:`~lightning_vid.errors.InputError`, Lightning's ``MisconfigurationException``: one
  line on stderr, the traceback with ``--debug`` or ``LIGHTNING_VID_DEBUG=1``), 130
  (128 + SIGINT) when Ctrl-C stopped the run and 143 (128 + SIGTERM) when a SIGTERM did; a
  stopped ``fit`` prints one line with its ``last.ckpt`` and the command that resumes it. So
  ``fit && test`` and requeue scripts can tell them apart.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

import torch
import yaml
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lightning_vid.callbacks import (DataWaitTimer, EpochSummary, PredictionWriter, RandomState,
                                     StopOnSignal)
from lightning_vid.callbacks.stop import received
from lightning_vid.errors import InputError, MissingInput
from lightning_vid.models import check_network, upgrade_network
from lightning_vid.models.legacy import read_configs_with_moved_names, upgrade_argv
from lightning_vid.runs import best_checkpoint, last_checkpoint, run_folder, shown
from lightning_vid.system import VideoClassifier

#: the file name of the resolved CLI config saved in each run's folder (``fit``; the other
#: commands save ``lightning_config_<command>.yaml`` beside it)
RUN_CONFIG = "lightning_config.yaml"

#: what the data module gives the model, ``(data attribute, model argument)``: each value is
#: set once, in the data section. Applied when the classes are built: a data module's
#: ``num_segments`` may arrive through a subclass's ``**kwargs``, and ``num_classes`` is read
#: from its class-name file. ``crop_size`` -> ``input_size``: the model is built for the frames
#: it will see (TRM's cTRM has per-position kernels).
LINKS = (
    ("data.num_classes", "model.model.init_args.num_classes"),
    ("data.num_segments", "model.model.init_args.num_segments"),
    ("data.frames_per_segment", "model.frames_per_segment"),
    ("data.crop_size", "model.model.init_args.input_size"),
)

#: exit status of a run stopped by SIGTERM (the shell's 128 + signal number)
SIGTERM_EXIT = 128 + signal.SIGTERM
#: exit status of a run stopped by Ctrl-C (SIGINT)
SIGINT_EXIT = 128 + signal.SIGINT


class SaveRunConfig(SaveConfigCallback):
    """Saves the resolved config in the run's folder and logs it to every logger.

    The file: ``lightning_config.yaml`` for ``fit`` (``lightning_config_<command>.yaml`` for the
    other commands), in the run folder (``trainer.log_dir``), whatever the logger, also without
    one. The loggers (the W&B run config) get the whole config under ``config`` and, for
    filtering runs, ``arch``, ``backbone``, ``num_classes``, ``num_segments``,
    ``frames_per_segment``, ``input_size``, ``optimizer``, ``lr``, ``max_epochs``,
    ``batch_size``, ``seed`` and ``run``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["save_to_log_dir"] = False
        kwargs.setdefault("config_filename", RUN_CONFIG)
        super().__init__(*args, **kwargs)
        self.saved: Optional[Path] = None
        self._run_dir: Optional[str] = None

    def setup(self, trainer, pl_module, stage: str) -> None:
        self._run_dir = trainer.log_dir  # on every rank: it broadcasts
        super().setup(trainer, pl_module, stage)

    def save_config(self, trainer, pl_module, stage: str) -> None:
        stage = getattr(stage, "value", stage)  # a TrainerFn
        name = self.config_filename if stage == "fit" else (
            f"{Path(self.config_filename).stem}_{stage}{Path(self.config_filename).suffix}")
        path = Path(self._run_dir or trainer.default_root_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.parser.save(self.config, str(path), skip_none=False, overwrite=True,
                         multifile=self.multifile)
        self.saved = path
        config = yaml.safe_load(self.parser.dump(self.config, skip_none=False))
        summary = run_summary(config, pl_module, trainer)
        for logger in trainer.loggers:
            logger.log_hyperparams({**summary, "config": config})

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        """Every checkpoint keeps the class names, for :func:`lightning_vid.load_checkpoint`,
        and the id of its W&B run, which a resumed ``fit`` continues."""
        names = list(getattr(trainer.datamodule, "classes", None) or []) or None
        wandb_ids = [logger.version for logger in trainer.loggers
                     if isinstance(logger, WandbLogger)]
        checkpoint["lightning_vid"] = {"class_names": names,
                                       "wandb_id": wandb_ids[0] if wandb_ids else None}


def run_summary(config: dict, pl_module: Any, trainer: Any) -> dict[str, Any]:
    """The values runs are filtered by, from the resolved config and the built model."""
    network = pl_module.model
    model = config.get("model") or {}
    net_args = (model.get("model") or {}).get("init_args") or {}
    optimizer = model.get("optimizer") or {}
    data = (config.get("data") or {}).get("init_args") or {}
    return {
        "arch": type(network).__name__,
        "backbone": net_args.get("backbone"),
        "num_classes": getattr(network, "num_classes", None),
        "num_segments": getattr(network, "num_segments", None),
        "frames_per_segment": getattr(network, "frames_per_segment", None),
        "input_size": data.get("crop_size"),
        "optimizer": str(optimizer.get("class_path", "")).rsplit(".", 1)[-1] or None,
        "lr": (optimizer.get("init_args") or {}).get("lr"),
        "max_epochs": trainer.max_epochs,
        "batch_size": data.get("batch_size"),
        "seed": config.get("seed_everything"),
        "run": config.get("run_name"),
    }


def _rank() -> int:
    """This process's rank as a launcher set it (0 before DDP starts)."""
    for key in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        if os.environ.get(key, "0") not in ("", "0"):
            return int(os.environ[key])
    return 0


def _default_run_name(cfg: Any) -> str:
    """The first config file's name (``tsm_r18_4x1_synthetic``), else ``run``."""
    for config in cfg.get("config") or []:
        path = getattr(config, "relative", None) or str(config)
        stem = Path(str(path)).stem
        if stem and not stem.startswith(Path(RUN_CONFIG).stem):
            return stem
    return "run"


def _logger_specs(logger: Any) -> list[Any]:
    if isinstance(logger, (list, tuple)):
        return [spec for spec in logger if hasattr(spec, "class_path")]
    return [logger] if hasattr(logger, "class_path") else []


def _resumed_wandb_id(run_dir: Path, command: str, ckpt_path: Optional[str]) -> Optional[str]:
    """The W&B run id a resuming ``fit`` continues: the one its checkpoint (in this run
    folder) recorded."""
    if command != "fit" or not ckpt_path:
        return None
    ckpt = last_checkpoint(run_dir / "checkpoints") if ckpt_path == "last" else Path(ckpt_path)
    if ckpt is None or not ckpt.is_file() or run_dir.resolve() not in ckpt.resolve().parents:
        return None
    try:
        saved = torch.load(ckpt, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - not ours to judge here: Lightning reports the file
        return None
    return (saved.get("lightning_vid") or {}).get("wandb_id")


def _place_loggers(trainer_cfg: Any, run_dir: Path, run_name: str, command: str,
                   wandb_id: Optional[str] = None) -> None:
    """Point the configured loggers at the run folder (before they are built); a W&B logger
    continues the run ``wandb_id`` (a resumed ``fit``)."""
    import importlib

    for spec in _logger_specs(trainer_cfg.get("logger")):
        module, _, name = spec.class_path.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        args = spec.init_args
        if issubclass(cls, WandbLogger):
            import wandb

            wandb.setup()  # W&B's own settings first (WANDB_SILENT): WandbLogger's arguments
            # would otherwise warn, e.g. "the anonymous setting has no effect"
            args.save_dir = str(run_dir.resolve())  # absolute: W&B's service may run elsewhere
            args.name = args.get("name") or run_name
            args.group = args.get("group") or f"{run_name}/{run_dir.name}"
            args.job_type = args.get("job_type") or command
            if wandb_id and not args.get("id") and not args.get("version"):
                args.id, args.resume = wandb_id, "allow"
        elif {"save_dir", "name", "version"} <= set(vars(args)):  # CSV, TensorBoard
            args.save_dir, args.name, args.version = str(run_dir.parent.parent), run_name, \
                run_dir.name


class VideoCLI(LightningCLI):
    """LightningCLI with the data -> model links, run folders and the runs' callbacks."""

    run_dir: Path
    #: the latest instance whose classes were built (:func:`main` reports a stopped run)
    latest: Optional["VideoCLI"] = None

    def add_arguments_to_parser(self, parser) -> None:
        for source, target in LINKS:
            parser.link_arguments(source, target, apply_on="instantiate")
        parser.add_argument("--run_name", type=Optional[str], default=None,
                            help="the run's name: its folder is <runs_dir>/<run_name>/version_<n> "
                                 "(default: the first config file's name)")
        parser.add_argument("--runs_dir", type=str, default="runs",
                            help="the folder holding the run folders")
        parser.add_lightning_class_args(PredictionWriter, "predictions")

    def parse_arguments(self, parser: Any, args: Any) -> None:
        self._argv = list(args) if isinstance(args, (list, tuple)) else (
            sys.argv[1:] if args is None else [])
        if args is None or isinstance(args, (list, tuple)):
            args = upgrade_argv(self._argv)  # lightning_vid.blocks.tsm.TSM of earlier releases
        super().parse_arguments(parser, args)

    def _fit_devices_to_machine(self) -> None:
        """An evaluation command runs on what the machine has: the recipes' ``accelerator:
        gpu, devices: 8, strategy: ddp`` describe their training, and on a machine without
        those GPUs ``test``/``validate``/``predict`` fall back to ``auto`` (its GPUs, else the
        CPU), saying so. Options given on the command line are used as given."""
        trainer = self.config[self.subcommand].trainer
        keys = ("accelerator", "devices", "strategy", "num_nodes")
        given = {k for k in keys for a in getattr(self, "_argv", [])
                 if a == f"--trainer.{k}" or a.startswith(f"--trainer.{k}=")}
        if given & {"accelerator", "devices"}:
            return
        accelerator, devices = str(trainer.get("accelerator")), trainer.get("devices")
        if accelerator not in ("gpu", "cuda"):
            return
        have = torch.cuda.device_count() or int(torch.backends.mps.is_available())
        wanted = int(devices) if str(devices).isdigit() else (1 if devices in (-1, "-1", "auto")
                                                               else None)
        if have and (wanted is None or wanted <= have):
            return
        for key, value in (("accelerator", "auto"), ("devices", "auto"), ("strategy", "auto"),
                           ("num_nodes", 1)):
            if key not in given:
                trainer[key] = value
        rank_zero_info(f"{self.subcommand}: the config asks for {devices} GPU(s) "
                       f"({accelerator}), this machine has {have}: running on what it has "
                       "(accelerator, devices, strategy: auto); choose with "
                       "--trainer.accelerator and --trainer.devices")

    def _parse_ckpt_path(self) -> None:
        """Take the network's config (``model.model``, which the weights need) from a
        ``--ckpt_path`` file, and nothing else: Lightning would merge every hyperparameter
        saved in it over the command line, so ``test --ckpt_path X --model.eval_fusion
        softmax`` silently kept the saved ``logits``."""
        command = self.config.get("subcommand")
        ckpt = self.config[command].get("ckpt_path") if command else None
        if not ckpt or not Path(ckpt).is_file():
            return
        hparams = torch.load(ckpt, map_location="cpu", weights_only=True, mmap=True).get(
            "hyper_parameters") or {}
        network = upgrade_network(hparams.get("model"))
        if isinstance(network, dict) and "class_path" in network:
            self.config = self.parser.parse_object({command: {"model": {"model": network}}},
                                                   self.config)

    def before_instantiate_classes(self) -> None:
        command = self.subcommand
        cfg = self.config[command]
        if command != "fit":
            self._fit_devices_to_machine()
        self._check_backbone()
        cfg.run_name = cfg.run_name or _default_run_name(cfg)
        network = cfg.model.model.get("init_args") if command != "fit" else None
        if network is not None and network.get("pretrained") and (
                cfg.model.get("init_from") or cfg.get("ckpt_path")):
            network.pretrained = False  # every weight comes from the file: no ImageNet download
        self.run_dir = run_folder(cfg.runs_dir, cfg.run_name, command, cfg.get("ckpt_path"))
        self._new_run_dir = not self.run_dir.exists()
        if cfg.trainer.get("default_root_dir") is None:
            cfg.trainer.default_root_dir = str(self.run_dir)
        _place_loggers(cfg.trainer, self.run_dir, cfg.run_name, command,
                       _resumed_wandb_id(self.run_dir, command, cfg.get("ckpt_path")))
        if cfg.trainer.get("logger") is False:  # nothing to log the learning rate to
            cfg.trainer.callbacks = [c for c in cfg.trainer.get("callbacks") or []
                                     if not str(getattr(c, "class_path", "")).endswith(
                                         "LearningRateMonitor")]

    def after_instantiate_classes(self) -> None:
        VideoCLI.latest = self
        self._check_num_classes()
        if _rank() == 0 and not self.config[self.subcommand].trainer.get("fast_dev_run"):
            self.run_dir.mkdir(parents=True, exist_ok=True)  # W&B looks for its git root here
        for callback in self.trainer.checkpoint_callbacks:
            if isinstance(callback, ModelCheckpoint) and callback.dirpath is None:
                callback.dirpath = os.path.realpath(self.run_dir / "checkpoints")
        network, crop = self.model.model, getattr(self.datamodule, "crop_size", None)
        if crop and hasattr(network, "num_segments"):  # real FLOPs in the model summary
            frames = network.num_segments * getattr(network, "frames_per_segment", 1)
            self.model.example_input_array = torch.zeros(1, frames, 3, crop, crop)

    def _run_subcommand(self, subcommand: str) -> None:
        try:
            super()._run_subcommand(subcommand)
        except Exception:
            self._discard_failed_run()
            raise

    def _discard_failed_run(self) -> None:
        """A command that failed before its first step leaves no version behind: the version
        folder it created goes (with its W&B run), so no later lookup lands in it."""
        trainer = getattr(self, "trainer", None)
        run_dir = getattr(self, "run_dir", None)
        if (not getattr(self, "_new_run_dir", False) or run_dir is None or trainer is None
                or trainer.global_rank != 0 or trainer.global_step > 0 or not run_dir.is_dir()
                or any(run_dir.rglob("*.ckpt"))):
            return
        if any(isinstance(logger, WandbLogger) for logger in trainer.loggers):
            import wandb

            if wandb.run is not None:
                wandb.run.finish(exit_code=1)
        shutil.rmtree(run_dir, ignore_errors=True)
        if run_dir.parent.is_dir() and not any(run_dir.parent.iterdir()):
            run_dir.parent.rmdir()

    def _check_backbone(self) -> None:
        """A registered model on a trunk it refuses (TEA: Res2Net only) is a bad config, told
        before anything is built, with the architecture's message."""
        try:
            check_network(self.config[self.subcommand].model.model)
        except ValueError as err:
            self._parser(self.subcommand).error(f"model.model.init_args.backbone: {err}")

    def _check_num_classes(self) -> None:
        """``num_classes`` comes from the data; a different value in the model section (or in
        a ``--ckpt_path``'s network) is an error, not silently replaced."""
        given = self.config[self.subcommand].model.model.init_args.get("num_classes")
        data = getattr(self.datamodule, "num_classes", None)
        if given is not None and data is not None and given != data:
            self._parser(self.subcommand).error(
                f"model.model.init_args.num_classes={given} (in the model section or the "
                f"--ckpt_path checkpoint) but the data has {data} classes (its class-name file). "
                "The number of classes is set once, by the data: remove it from the model "
                "section, or give the data the class-name file of the checkpoint's classes.")

    def _resolve_best(self) -> None:
        """``--ckpt_path best`` in a new process: the best checkpoint the run folder records."""
        args = self.config_init[self.subcommand]
        callback = self.trainer.checkpoint_callback
        if args.get("ckpt_path") != "best" or callback is None or callback.best_model_path:
            return
        found = best_checkpoint(callback.dirpath, callback.state_key)
        if found is None:
            raise MissingInput(
                f"--ckpt_path best: no checkpoint recording a best model in "
                f"{shown(callback.dirpath)}; run fit with this run name first "
                f"(--run_name {self.config[self.subcommand].run_name}), or give the file")
        path, score, monitor = found
        rank_zero_info(f"best checkpoint: {shown(path)}"
                       + (f" ({monitor} {score:.4f})" if score is not None else ""))
        args["ckpt_path"] = str(path)

    def before_validate(self) -> None:
        self._resolve_best()

    def before_test(self) -> None:
        self._resolve_best()

    def before_predict(self) -> None:
        self._resolve_best()

    def after_predict(self) -> None:
        for callback in self.trainer.callbacks:
            if isinstance(callback, PredictionWriter) and callback.written is not None:
                plural = "" if callback.rows == 1 else "s"
                rank_zero_info(f"predictions: {shown(callback.written)} ({callback.rows} "
                               f"video{plural})")

    def after_fit(self) -> None:
        """Print where the run and its checkpoints are."""
        lines = [f"run folder: {shown(self.trainer.log_dir or self.run_dir)}"]
        for callback in self.trainer.checkpoint_callbacks:
            if not isinstance(callback, ModelCheckpoint):
                continue
            if callback.monitor and callback.best_model_path:
                score = callback.best_model_score
                lines.append(f"best checkpoint: {shown(callback.best_model_path)}"
                             + (f" ({callback.monitor} {float(score):.4f})"
                                if score is not None else ""))
            elif callback.best_model_path:  # no monitor: the latest (filename "last")
                kind = "last" if Path(callback.best_model_path).stem == "last" else "latest"
                lines.append(f"{kind} checkpoint: {shown(callback.best_model_path)}")
            if callback.last_model_path:
                lines.append(f"last checkpoint: {shown(callback.last_model_path)}")
        rank_zero_info("\n".join(lines))


@rank_zero_only
def rank_zero_info(text: str) -> None:
    """Print on rank zero, to stdout (the paths a user or a script wants)."""
    print(text, flush=True)


class _NoTips(logging.Filter):
    """Drops Lightning's product tips (litlogger, litmodels) from the log, and its note of the
    checkpoint saved on an exception (``An SIGTERMException was raised with message: ,``):
    :func:`main` says where it is and how to resume."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        return "Tip:" not in text and "was raised with message" not in text


def _quiet() -> None:
    """No messages a user can do nothing about: dependencies' deprecation notes and tips, W&B's
    chatter (``WANDB_SILENT``; the run folder and ``wandb sync`` are printed instead)."""
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoTips) for f in logger.filters):
            logger.addFilter(_NoTips())
    for message in (r".*isinstance\(treespec, LeafSpec\)", r".*'set_vital' is deprecated",
                    r".*``instantiate_classes`` was deprecated"):
        warnings.filterwarnings("ignore", message=message)


def cli_main(args: Optional[list[str]] = None) -> VideoCLI:
    """Run ``lightning-vid``; ``args`` replaces ``sys.argv[1:]`` (notebooks, tests).

    Returns the :class:`VideoCLI` (its ``trainer``, ``model``, ``datamodule``); the console
    script is :func:`main`.
    """
    _quiet()
    read_configs_with_moved_names()  # configs of earlier releases name lightning_vid.blocks.tsm.TSM
    cli = VideoCLI(
        VideoClassifier,
        subclass_mode_data=True,
        save_config_callback=SaveRunConfig,
        trainer_defaults={"callbacks": [DataWaitTimer(), RandomState(), StopOnSignal(),
                                        EpochSummary()]},
        parser_kwargs={"allow_abbrev": False},  # "--trainer.max_epoch" is a typo, not a prefix
        args=args,
        auto_configure_optimizers=False,
    )
    # end this command's W&B run: a next command in the same process (fit then test from
    # Python or a notebook) would otherwise log into it
    loggers = getattr(getattr(cli, "trainer", None), "loggers", [])
    if any(isinstance(logger, WandbLogger) for logger in loggers):
        import wandb

        if wandb.run is not None:  # the run this command's WandbLogger started
            folder = Path(wandb.run.dir).parent
            wandb.run.finish()
            rank_zero_info(f"W&B run (offline): {shown(folder)}; "
                           f"upload: wandb sync {shown(folder)}")
    return cli


#: errors in what the user gave (not in the code): one line and exit status 2
USER_ERRORS = (InputError, MisconfigurationException)
#: ``LIGHTNING_VID_DEBUG=1`` (or ``--debug``): a user error shows its traceback
DEBUG_VARIABLE = "LIGHTNING_VID_DEBUG"


def user_error(err: BaseException) -> str:
    """The one line ``lightning-vid`` prints for a user error."""
    text = " ".join(str(err).split())
    if isinstance(err, MisconfigurationException) and any(
            word in text.lower() for word in ("accelerator", "gpu backend", "cuda")):
        text = f"--trainer.accelerator: {text} (--trainer.accelerator cpu or auto runs here)"
    return f"lightning-vid: error: {text} (--debug or {DEBUG_VARIABLE}=1 shows the traceback)"


def _saved_on_stop(trainer: Any) -> Optional[str]:
    """The checkpoint a stopped ``fit`` left: the one written on the exception, else the
    latest ``last.ckpt`` (written at the end of the step the run stopped after)."""
    for callback in getattr(trainer, "checkpoint_callbacks", []):
        if isinstance(callback, ModelCheckpoint) and callback.save_on_exception:
            path = getattr(callback, "_last_checkpoint_saved", None) or callback.last_model_path
            if path and os.path.isfile(path):
                return path
    return None


def _resume_command(argv: list[str]) -> str:
    """The command line that resumes the run ``argv`` started (``--ckpt_path last``)."""
    args, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--ckpt_path":
            skip = True
        elif not arg.startswith("--ckpt_path="):
            args.append(arg)
    return shlex.join(["lightning-vid", *args, "--ckpt_path", "last"])


def _report_stop(signum: int) -> None:
    """One line on rank 0: what stopped the run, its checkpoint and the command resuming it."""
    cli = VideoCLI.latest
    if _rank() != 0 or cli is None:
        return
    name = signal.Signals(signum).name
    if cli.subcommand != "fit":
        print(f"stopped by {name}", file=sys.stderr, flush=True)
        return
    saved = _saved_on_stop(cli.trainer)
    if saved is None:
        print(f"stopped by {name} before a checkpoint was saved", file=sys.stderr, flush=True)
        return
    print(f"stopped by {name}: checkpoint {shown(saved)}; resume with: "
          f"{_resume_command(sys.argv[1:])}", file=sys.stderr, flush=True)


def main() -> int:
    """The ``lightning-vid`` console script: 0 when the command succeeded, 130 / 143 when
    Ctrl-C / SIGTERM stopped it (``fit``: its ``last.ckpt`` saved, and one line saying where and
    how to resume), 2 for a bad config or bad input (one line on stderr; ``--debug`` or
    ``LIGHTNING_VID_DEBUG=1`` shows the traceback), otherwise an error's status."""
    debug = "--debug" in sys.argv[1:] or os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")
    sys.argv = [arg for arg in sys.argv if arg != "--debug"]  # not a CLI option
    try:
        cli_main()
    except (SIGTERMException, KeyboardInterrupt, SystemExit, Exception) as err:
        signum = received()
        if signum is not None:  # stopped by a signal
            _report_stop(signum)
            return 128 + signum
        if isinstance(err, SIGTERMException):
            return SIGTERM_EXIT
        if isinstance(err, USER_ERRORS) and not debug:
            print(user_error(err), file=sys.stderr, flush=True)
            return 2
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
