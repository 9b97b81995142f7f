"""``SaveRunConfig``: the resolved config of a ``lightning-vid`` command, in its run folder and
in its loggers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import yaml
from lightning.pytorch.cli import SaveConfigCallback

#: the file name of the resolved CLI config saved in each run's folder (``fit``; the other
#: commands save ``lightning_config_<command>.yaml`` beside it)
RUN_CONFIG = "lightning_config.yaml"


class SaveRunConfig(SaveConfigCallback):
    """Saves the resolved config in the run's folder and logs it to every logger.

    The file: ``lightning_config.yaml`` for ``fit`` (``lightning_config_<command>.yaml`` for the
    other commands), in the run folder (``trainer.log_dir``), whatever the logger, also without
    one. The loggers (the W&B run config) get the whole config under ``config`` and, for
    filtering runs, the values of :func:`run_summary`.
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
        name = Path(self.config_filename)
        name = name if stage == "fit" else name.with_name(f"{name.stem}_{stage}{name.suffix}")
        path = Path(self._run_dir or trainer.default_root_dir) / name.name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.parser.save(self.config, str(path), skip_none=False, overwrite=True,
                         multifile=self.multifile)
        self.saved = path
        config = yaml.safe_load(self.parser.dump(self.config, skip_none=False))
        summary = run_summary(config, pl_module, trainer)
        for logger in trainer.loggers:
            logger.log_hyperparams({**summary, "config": config})


def run_summary(config: dict, pl_module: Any, trainer: Any) -> dict[str, Any]:
    """The values runs are filtered by (``arch``, ``backbone``, ``num_classes``,
    ``num_segments``, ``frames_per_segment``, ``input_size``, ``optimizer``, ``lr``,
    ``max_epochs``, ``batch_size``, ``seed``, ``run``), from the resolved config and the
    built model."""
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
