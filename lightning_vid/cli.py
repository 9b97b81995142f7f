"""The ``lightning-vid`` command: LightningCLI over :class:`VideoClassifier` and the data modules.

``lightning-vid fit|validate|test|predict --config lightning_vid/configs/<name>.yaml``. Here are
the argument links (:data:`LINKS`: each shared value set once, in the data section) and what
Lightning lacks: ``--ckpt_path best`` in a new process, the ``num_classes`` check, devices for
evaluation, exit statuses. The run folder, ``runs/<--run_name>/version_<n>/``, is
:class:`~lightning_vid.runs.RunFolder`'s; every run also gets the callbacks of :func:`cli_main`.

The console script exits 0 on success, 2 on a bad config or bad input (one line on stderr, the
traceback with ``--debug`` or ``LIGHTNING_VID_DEBUG=1``), 130 when Ctrl-C stopped the run and
143 when a SIGTERM did (a stopped ``fit`` names its ``last.ckpt`` and the command resuming
it), otherwise an error's status: ``fit && test`` and requeue scripts tell them apart.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lightning_vid.callbacks import (DataWaitTimer, EpochSummary, PredictionWriter, RandomState,
                                     StopOnSignal)
from lightning_vid.callbacks.run_config import RUN_CONFIG, SaveRunConfig
from lightning_vid.callbacks.stop import received, stopped_line
from lightning_vid.compat import CompatCLI
from lightning_vid.errors import DEBUG_VARIABLE, USER_ERRORS, MissingInput, one_line
from lightning_vid.models import check_network, upgrade_network
from lightning_vid.models.legacy import read_configs_with_moved_names, upgrade_argv
from lightning_vid.runs import RunFolder, best_checkpoint, finish_wandb, say, shown
from lightning_vid.system import VideoClassifier

#: what the data module gives the model, ``(data attribute, model argument)``, applied when the
#: classes are built (``num_classes`` is read from the class-name file; ``crop_size`` ->
#: ``input_size``: TRM's cTRM has per-position kernels). ``load_checkpoint`` applies them too.
LINKS = (
    ("data.num_classes", "model.model.init_args.num_classes"),
    ("data.num_segments", "model.model.init_args.num_segments"),
    ("data.frames_per_segment", "model.frames_per_segment"),
    ("data.crop_size", "model.model.init_args.input_size"),
)
SIGTERM_EXIT, SIGINT_EXIT = 128 + signal.SIGTERM, 128 + signal.SIGINT


def linked(config: dict) -> dict[str, Any]:
    """``{target: value}`` of :data:`LINKS` from a config's data section (a dict, as saved)."""
    data = (config.get("data") or {}).get("init_args") or {}
    return {target: data[source.split(".", 1)[1]] for source, target in LINKS
            if data.get(source.split(".", 1)[1]) is not None}


class VideoCLI(CompatCLI):
    """LightningCLI with the data -> model links, run folders and the runs' callbacks."""

    run: RunFolder
    #: the latest instance whose classes were built (:func:`main` reports a stopped run)
    latest: Optional["VideoCLI"] = None

    @property
    def run_dir(self) -> Path:
        return self.run.path

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

    def parse_ckpt_config(self) -> None:
        """From a ``--ckpt_path`` file take the network's config (``model.model``, which the
        weights need) and nothing else: Lightning would merge every saved hyperparameter over
        the command line (``--model.eval_fusion softmax`` silently kept the saved ``logits``)."""
        command = self.config.get("subcommand")
        ckpt = self.config[command].get("ckpt_path") if command else None
        if ckpt and Path(ckpt).is_file():
            saved = torch.load(ckpt, map_location="cpu", weights_only=True, mmap=True)
            network = upgrade_network((saved.get("hyper_parameters") or {}).get("model"))
            if isinstance(network, dict) and "class_path" in network:
                self.config = self.parser.parse_object({command: {"model": {"model": network}}},
                                                       self.config)

    def _fit_devices_to_machine(self, trainer: Any) -> None:
        """``test``/``validate``/``predict`` of a config asking for GPUs the machine lacks run
        on ``auto`` (its GPUs, else the CPU), saying so; options given on the command line
        are used as given."""
        keys = ("accelerator", "devices", "strategy", "num_nodes")
        given = {k for k in keys for a in self._argv
                 if a == f"--trainer.{k}" or a.startswith(f"--trainer.{k}=")}
        accelerator, devices = str(trainer.get("accelerator")), trainer.get("devices")
        if given & {"accelerator", "devices"} or accelerator not in ("gpu", "cuda"):
            return
        have = torch.cuda.device_count() or int(torch.backends.mps.is_available())
        wanted = int(devices) if str(devices).isdigit() else (1 if devices in (-1, "-1", "auto")
                                                               else None)
        if have and (wanted is None or wanted <= have):
            return
        for key, value in zip(keys, ("auto", "auto", "auto", 1)):
            if key not in given:
                trainer[key] = value
        say(f"{self.subcommand}: the config asks for {devices} GPU(s) ({accelerator}), this "
            f"machine has {have}: running on what it has (accelerator, devices, strategy: "
            "auto); choose with --trainer.accelerator and --trainer.devices")

    def before_instantiate_classes(self) -> None:
        command, cfg = self.subcommand, self.config[self.subcommand]
        if command != "fit":
            self._fit_devices_to_machine(cfg.trainer)
        self._check_backbone(cfg.model.model)
        cfg.run_name = cfg.run_name or _default_run_name(cfg)
        network = cfg.model.model.get("init_args")
        if command != "fit" and network is not None and network.get("pretrained") and (
                cfg.model.get("init_from") or cfg.get("ckpt_path")):
            network.pretrained = False  # every weight comes from the file: no ImageNet download
        self.run = RunFolder(cfg.runs_dir, cfg.run_name, command, cfg.get("ckpt_path"))
        if cfg.trainer.get("default_root_dir") is None:
            cfg.trainer.default_root_dir = str(self.run.path)
        self.run.place_loggers(cfg.trainer, cfg.get("ckpt_path"))
        if cfg.trainer.get("logger") is False:  # nothing to log the learning rate to
            cfg.trainer.callbacks = [c for c in cfg.trainer.get("callbacks") or []
                                     if not str(getattr(c, "class_path", "")).endswith(
                                         "LearningRateMonitor")]

    def after_instantiate_classes(self) -> None:
        VideoCLI.latest = self
        given = self.config[self.subcommand].model.model.init_args.get("num_classes")
        data = getattr(self.datamodule, "num_classes", None)
        if given is not None and data is not None and given != data:
            self.parser_error(
                f"model.model.init_args.num_classes={given} (in the model section or the "
                f"--ckpt_path checkpoint) but the data has {data} classes (its class-name file). "
                "The number of classes is set once, by the data: remove it from the model "
                "section, or give the data the class-name file of the checkpoint's classes.")
        self.run.attach(self.trainer)
        network, crop = self.model.model, getattr(self.datamodule, "crop_size", None)
        if crop and hasattr(network, "num_segments"):  # real FLOPs in the model summary
            frames = network.num_segments * getattr(network, "frames_per_segment", 1)
            self.model.example_input_array = torch.zeros(1, frames, 3, crop, crop)

    def _check_backbone(self, network: Any) -> None:
        """A registered model on a trunk it refuses (TEA: Res2Net only) is a bad config, told
        before anything is built, with the architecture's message."""
        try:
            check_network(network)
        except ValueError as err:
            self.parser_error(f"model.model.init_args.backbone: {err}")

    def _resolve_best(self) -> None:
        """``--ckpt_path best`` in a new process: the best checkpoint the run folder records."""
        args, callback = self.config_init[self.subcommand], self.trainer.checkpoint_callback
        if args.get("ckpt_path") != "best" or callback is None or callback.best_model_path:
            return
        found = best_checkpoint(callback.dirpath, callback.state_key)
        if found is None:
            raise MissingInput(
                f"--ckpt_path best: no checkpoint recording a best model in "
                f"{shown(callback.dirpath)}; run fit with this run name first "
                f"(--run_name {self.run.name}), or give the file")
        path, score, monitor = found
        say(f"best checkpoint: {shown(path)}"
            + (f" ({monitor} {score:.4f})" if score is not None else ""))
        args["ckpt_path"] = str(path)

    before_validate = before_test = before_predict = _resolve_best


def _default_run_name(cfg: Any) -> str:
    """The first config file's name (``tsm_r18_4x1_synthetic``), else ``run``."""
    for config in cfg.get("config") or []:
        stem = Path(str(getattr(config, "relative", None) or config)).stem
        if stem and not stem.startswith(Path(RUN_CONFIG).stem):
            return stem
    return "run"


class _NoTips(logging.Filter):
    """Drops Lightning's product tips (litlogger, litmodels) and its note of the checkpoint
    saved on an exception: :func:`main` says where it is and how to resume."""

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
    """Run ``lightning-vid``; ``args`` replaces ``sys.argv[1:]`` (notebooks, tests). Returns the
    :class:`VideoCLI` (its ``trainer``, ``model``, ``datamodule``); the console script is
    :func:`main`."""
    _quiet()
    read_configs_with_moved_names()  # earlier releases: lightning_vid.blocks.tsm.TSM
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
    finish_wandb(getattr(cli, "trainer", None))  # a next command in this process starts anew
    return cli


def main() -> int:
    """The ``lightning-vid`` console script (its exit statuses: the module docstring)."""
    debug = "--debug" in sys.argv[1:] or os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")
    sys.argv = [arg for arg in sys.argv if arg != "--debug"]  # not a CLI option
    try:
        cli_main()
    except (SIGTERMException, KeyboardInterrupt, SystemExit, Exception) as err:
        signum = received()
        if signum is not None:  # stopped by a signal: one line on rank 0
            cli = VideoCLI.latest
            if cli is not None and cli.trainer.global_rank == 0:
                print(stopped_line(cli.trainer, signum, sys.argv[1:]), file=sys.stderr,
                      flush=True)
            return 128 + signum
        if isinstance(err, SIGTERMException):
            return SIGTERM_EXIT
        if isinstance(err, USER_ERRORS) and not debug:
            print(one_line(err), file=sys.stderr, flush=True)
            return 2
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
