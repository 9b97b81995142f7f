"""The Lightning behaviour behind each private name of :mod:`lightning_vid.compat`.

Each test names what Lightning does that the project relies on, on Lightning's own tiny
``BoringModel``: a Lightning upgrade that changes it fails here, saying which one.
"""

import os
import signal

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.demos.boring_classes import BoringModel
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lightning_vid import compat

TINY = dict(max_epochs=1, limit_train_batches=3, limit_val_batches=1, logger=False,
            enable_progress_bar=False, enable_model_summary=False)


class Wide(BoringModel):
    """A LightningModule with one hyperparameter, which records how it was built."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.by_cli = compat.instantiated_by_cli()
        self.save_hyperparameters()


class _Stop(Exception):
    pass


def _parse(tmp_path, cli_class, *args):
    """``cli_class(Wide, args)`` stopped right before it builds anything; the instance."""
    made = []

    class Probe(cli_class):
        def before_instantiate_classes(self):
            made.append(self)
            raise _Stop

    with pytest.raises(_Stop):
        Probe(Wide, args=list(args), save_config_callback=None)
    return made[0]


def test_lightning_cli_merges_a_ckpt_path_files_hyperparameters_in_parse_ckpt_path(tmp_path):
    """``LightningCLI._parse_ckpt_path`` runs after parsing and before anything is built, and
    is where the hyperparameters saved in a ``--ckpt_path`` file go over the parsed config:
    ``CompatCLI.parse_ckpt_config`` is called there, and a subclass replaces the merge."""
    path = tmp_path / "wide.ckpt"
    torch.save({"hyper_parameters": {"width": 7}}, path)
    merged = _parse(tmp_path, compat.CompatCLI, "test", "--ckpt_path", str(path))
    assert merged.config.test.model.width == 7  # Lightning's merge, through the hook

    class Own(compat.CompatCLI):
        def parse_ckpt_config(self):
            self.config.test.model.width = 9

    assert _parse(tmp_path, Own, "test", "--ckpt_path", str(path)).config.test.model.width == 9


def test_lightning_cli_parser_of_a_subcommand_exits_2_with_the_message(tmp_path, capsys):
    """``LightningCLI._parser(subcommand).error`` prints the message and exits with 2."""
    cli = _parse(tmp_path, compat.CompatCLI, "fit")
    with pytest.raises(SystemExit) as exit_:
        cli.parser_error("--model.width: not this one")
    assert exit_.value.code == 2
    assert "--model.width: not this one" in capsys.readouterr().err


def test_lightning_cli_instantiation_is_what_given_hyperparameters_tells(tmp_path):
    """``_given_hyperparameters`` is set while LightningCLI builds the LightningModule (its
    ``save_hyperparameters()`` then stores the parsed config), not otherwise."""
    cli = compat.CompatCLI(Wide, args=["--model.width=5", *_trainer_args(tmp_path)], run=False,
                           save_config_callback=None)
    assert cli.model.by_cli and cli.model.hparams.width == 5
    assert not Wide().by_cli


def _trainer_args(tmp_path):
    return [f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false"]


class _Handlers(L.Callback):
    """Installs ``handler`` for SIGTERM in ``setup``; records the handler in training."""

    def __init__(self, handler, stop_at=None):
        self.handler, self.stop_at, self.seen = handler, stop_at, None

    def setup(self, trainer, pl_module, stage):
        compat.handle_signals(trainer, self.handler, [signal.SIGTERM])

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.seen = signal.getsignal(signal.SIGTERM)
        if batch_idx == self.stop_at:
            compat.stop_loops(trainer)


def _handler(signum, frame):  # pragma: no cover - never sent
    pass


def test_the_signal_connector_registers_its_handlers_after_the_callbacks_setup(tmp_path):
    """``Trainer._signal_connector`` (a ``_SignalConnector``) is replaced in a callback's
    ``setup``, its ``register_signal_handlers()`` runs when the stage starts, and its
    ``teardown`` puts the earlier handlers back."""
    before = signal.getsignal(signal.SIGTERM)
    callback = _Handlers(_handler)
    trainer = L.Trainer(default_root_dir=tmp_path, callbacks=[callback],
                        enable_checkpointing=False, **TINY)
    trainer.fit(BoringModel())
    assert callback.seen is _handler
    assert signal.getsignal(signal.SIGTERM) is before


def test_received_sigterm_stops_the_loops_and_the_checkpoint_on_exception_is_last_saved(
        tmp_path):
    """Setting the signal connector's ``received_sigterm`` makes the training loop raise
    ``SIGTERMException`` after the batch; a ``ModelCheckpoint(save_on_exception=True)``
    then writes a checkpoint, which ``_last_checkpoint_saved`` names."""
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpts", save_on_exception=True)
    assert compat.last_saved(checkpoint) == ""
    trainer = L.Trainer(default_root_dir=tmp_path, callbacks=[_Handlers(_handler, 1),
                                                              checkpoint], **TINY)
    with pytest.raises(SIGTERMException):
        trainer.fit(BoringModel())
    assert trainer.received_sigterm and trainer.global_step == 2
    saved = compat.last_saved(checkpoint)
    assert os.path.isfile(saved) and torch.load(saved, weights_only=True)["global_step"] == 2
    assert os.listdir(tmp_path / "ckpts") == [os.path.basename(saved)]  # written on exception


def test_last_saved_is_the_latest_file_a_model_checkpoint_wrote(tmp_path):
    checkpoint = ModelCheckpoint(dirpath=tmp_path, save_top_k=-1, every_n_train_steps=1)
    trainer = L.Trainer(default_root_dir=tmp_path, callbacks=[checkpoint], **TINY)
    trainer.fit(BoringModel())
    files = sorted(tmp_path.glob("*.ckpt"), key=lambda p: p.stat().st_mtime_ns)
    assert len(files) == 3 and compat.last_saved(checkpoint) == str(files[-1])
