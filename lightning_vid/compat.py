"""Every private Lightning name this project uses, and only here.

Lightning (2.6) offers no public way to do the five things below. Each private name is used
in this module alone, and ``tests/test_cli_compat.py`` checks the Lightning behaviour each one
relies on, so a Lightning upgrade that changes one fails there, naming it:

- ``LightningCLI._parse_ckpt_path``: the step that, given ``--ckpt_path FILE``, merges every
  hyperparameter saved in the file over the parsed config, before the seed and the classes.
  :class:`CompatCLI` routes it to :meth:`CompatCLI.parse_ckpt_config`, which a subclass
  overrides (the ``lightning-vid`` CLI takes the network's config only, not the evaluation
  options the command line gave).
- ``LightningCLI._parser(subcommand)``: the subcommand's parser, whose ``error()`` prints the
  usage and the message and exits with 2, as a config typo does
  (:meth:`CompatCLI.parser_error`).
- ``Trainer._signal_connector`` and its class ``_SignalConnector``: the object whose
  ``register_signal_handlers()`` the trainer calls when a stage starts (after the callbacks'
  ``setup``), and whose ``received_sigterm`` flag makes the loops stop at their next check
  (:func:`handle_signals`, :func:`stop_loops`).
- ``ModelCheckpoint._last_checkpoint_saved``: the file a ``ModelCheckpoint`` wrote last, also on
  an exception (:func:`last_saved`).
- ``hparams_mixin._given_hyperparameters``: set while LightningCLI instantiates a
  LightningModule, whose ``save_hyperparameters()`` then stores the parsed config (class paths
  and arguments) rather than the objects (:func:`instantiated_by_cli`).
"""

from __future__ import annotations

import signal
import threading
from typing import Any, Callable, NoReturn, Sequence

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.trainer.connectors.signal_connector import _SignalConnector


class CompatCLI(LightningCLI):
    """LightningCLI with public names for the two private steps a subclass needs."""

    def _parse_ckpt_path(self) -> None:  # Lightning's private step (see the module docstring)
        self.parse_ckpt_config()

    def parse_ckpt_config(self) -> None:
        """Update ``self.config`` from a ``--ckpt_path`` file (default: Lightning's merge of
        every saved hyperparameter)."""
        super()._parse_ckpt_path()

    def parser_error(self, message: str) -> NoReturn:
        """Stop as a bad option does: usage and ``message`` on stderr, exit status 2."""
        self._parser(self.subcommand).error(message)
        raise AssertionError("unreachable: the parser exits")  # pragma: no cover


class _Connector(_SignalConnector):
    """Lightning's signal connector (SLURM's requeue signal as it sets it), with ``signals``
    handled by ``handler``."""

    def __init__(self, trainer: L.Trainer, handler: Callable[[int, Any], None],
                 signals: Sequence[int]) -> None:
        super().__init__(trainer)
        self.handler, self.signals = handler, tuple(signals)

    def register_signal_handlers(self) -> None:
        super().register_signal_handlers()
        if threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                signal.signal(signum, self.handler)


def handle_signals(trainer: L.Trainer, handler: Callable[[int, Any], None],
                   signals: Sequence[int]) -> None:
    """Have ``handler`` receive ``signals`` while the trainer runs its next stage (call it
    from a callback's ``setup``: the trainer registers its handlers right after)."""
    trainer._signal_connector = _Connector(trainer, handler, signals)


def stop_loops(trainer: L.Trainer) -> None:
    """Make Lightning's loops stop at their next check, as after a SIGTERM
    (``trainer.received_sigterm`` becomes true; the loops raise ``SIGTERMException``)."""
    trainer._signal_connector.received_sigterm = True


def last_saved(callback: ModelCheckpoint) -> str:
    """The file ``callback`` wrote last (``""`` before its first), the one written on an
    exception included."""
    return callback._last_checkpoint_saved or ""


def instantiated_by_cli() -> bool:
    """Whether LightningCLI is instantiating the LightningModule being built: then its
    ``save_hyperparameters()`` stores the parsed config, which Lightning can rebuild."""
    from lightning.pytorch.core.mixins.hparams_mixin import _given_hyperparameters

    return _given_hyperparameters.get() is not None
