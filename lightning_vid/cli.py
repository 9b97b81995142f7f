"""The ``lightning-vid`` command: LightningCLI over :class:`VideoClassifier` and the data modules.

``lightning-vid fit|validate|test|predict --config lightning_vid/configs/<name>.yaml``.
Each shared value lives once, in the data section, and is linked to the model:
``num_classes`` (from the class-name file), ``num_segments``, ``frames_per_segment`` and
``crop_size`` (the model's ``input_size``).
"""

from __future__ import annotations

import os
from typing import Optional

from lightning.pytorch.cli import LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import WandbLogger

from lightning_vid.system import VideoClassifier


#: the file name of the resolved CLI config saved in each run's folder
RUN_CONFIG = "lightning_config.yaml"


class SaveRunConfig(SaveConfigCallback):
    """Saves the resolved config once per run, inside that run's own folder.

    With W&B the file goes into the run's ``files`` folder (uploaded by ``wandb sync``); with
    TensorBoard or CSV loggers into their versioned ``log_dir``. A second run therefore never
    overwrites or collides with the first one's config.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs["save_to_log_dir"] = False
        # not "config.yaml": W&B writes its own run config under that name in the same folder
        kwargs.setdefault("config_filename", RUN_CONFIG)
        super().__init__(*args, **kwargs)

    def save_config(self, trainer, pl_module, stage: str) -> None:
        logger = trainer.logger
        if isinstance(logger, WandbLogger):
            run_dir = logger.experiment.dir
        elif logger is not None and getattr(logger, "log_dir", None):
            run_dir = logger.log_dir
        else:
            run_dir = trainer.default_root_dir
        os.makedirs(run_dir, exist_ok=True)
        path = os.path.join(run_dir, self.config_filename)
        self.parser.save(self.config, path, skip_none=False, overwrite=True,
                         multifile=self.multifile)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        """Every checkpoint also keeps the config, the class count and the class names, so
        :func:`lightning_vid.load_checkpoint` rebuilds the model from the file alone."""
        checkpoint["lightning_vid"] = {
            "config": self.parser.dump(self.config, skip_none=False, skip_link_targets=False),
            "num_classes": getattr(pl_module.model, "num_classes", None),
            "class_names": list(getattr(trainer.datamodule, "classes", None) or []) or None,
        }


class VideoCLI(LightningCLI):
    """LightningCLI with the data -> model links of DESIGN.md."""

    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("data.num_classes", "model.model.init_args.num_classes",
                              apply_on="instantiate")
        # from the built data module: its num_segments / frames_per_segment may arrive through
        # a subclass's **kwargs, which parse-time links do not follow
        parser.link_arguments("data.num_segments", "model.model.init_args.num_segments",
                              apply_on="instantiate")
        parser.link_arguments("data.frames_per_segment", "model.frames_per_segment",
                              apply_on="instantiate")
        # the model is built for the frames it will see (TRM's cTRM has per-position kernels)
        parser.link_arguments("data.crop_size", "model.model.init_args.input_size",
                              apply_on="instantiate")


def cli_main(args: Optional[list[str]] = None) -> VideoCLI:
    """Entry point of ``lightning-vid``; ``args`` replaces ``sys.argv[1:]`` (notebooks, tests)."""
    os.environ.setdefault("WANDB_MODE", "offline")
    cli = VideoCLI(
        VideoClassifier,
        subclass_mode_data=True,
        save_config_callback=SaveRunConfig,
        parser_kwargs={"allow_abbrev": False},  # "--trainer.max_epoch" is a typo, not a prefix
        args=args,
        auto_configure_optimizers=False,
    )
    # end this command's W&B run: a next command in the same process (fit then test from
    # Python or a notebook) would otherwise log into it and overwrite its saved config
    if isinstance(getattr(cli, "trainer", None) and cli.trainer.logger, WandbLogger):
        cli.trainer.logger.experiment.finish()
    return cli


if __name__ == "__main__":  # pragma: no cover
    cli_main()
