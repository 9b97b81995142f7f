"""``StopOnSignal``: Ctrl-C and SIGTERM stop training where every rank can stop, with
``last.ckpt`` saved, and the run resumes exactly.

Lightning's own handling stops on a SIGTERM at the next batch boundary of each process, but its
handler broadcasts from inside the signal handler and each rank checks its own flag at
different points: under DDP a rank could sit in a broadcast or the checkpoint barrier while
another saved or trained on, and the job hung. A first Ctrl-C raised ``KeyboardInterrupt``
wherever it landed (in a training step, in ``torch.save``) and the run exited 1.

Here, while ``fit`` runs:

- a SIGINT or SIGTERM only sets a flag in the process that received it (the handler does no
  collective, prints nothing);
- the ranks agree on it (any rank's flag stops every rank) at points they all pass together:
  the end of a training batch that steps the optimizer and that no validation follows, and
  the end of a training epoch (after its validation and the epoch's ``last.ckpt``).
  Lightning stops there; the ``ModelCheckpoint`` with ``save_on_exception`` writes
  ``last.ckpt`` (unless the epoch's own holds this step already), and ``lightning-vid``
  exits with 128 + the signal (130 for Ctrl-C, 143 for SIGTERM). A signal during validation
  lets it finish: from a checkpoint taken in its middle at an epoch's end, Lightning 2.6
  resumed into an epoch without batches (the loader's state was the finished epoch's), and
  ranks holding different numbers of validation batches cannot stop at the same one;
- a second Ctrl-C stops at once (``KeyboardInterrupt``; the checkpoint is then not exact).

SLURM and Kubernetes send SIGTERM to every process, Ctrl-C reaches the whole foreground
process group: DataLoader workers ignore the first one
(:func:`lightning_vid.data.workers.worker_init`) and are shut down by their main process,
instead of dying under it (``DataLoader worker ... is killed by signal``). In ``validate``,
``test`` and ``predict`` there is nothing to save: the signal stops the command at once.

``lightning-vid`` adds it to every run; :func:`received` tells which signal stopped the run.
"""

from __future__ import annotations

import os
import shlex
import signal
from typing import Any, Optional, Sequence

import lightning as L
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lightning.pytorch.callbacks import ModelCheckpoint

from lightning_vid.compat import handle_signals, last_saved, stop_loops
from lightning_vid.runs import shown

#: the signals that stop a run (Ctrl-C; SLURM, Kubernetes, ``kill``)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_received: Optional[int] = None  # the first stop signal of the latest run in this process


def received() -> Optional[int]:
    """The signal number that stopped the latest run of this process, or ``None``."""
    return _received


def stopped_line(trainer: L.Trainer, signum: int, argv: Sequence[str]) -> str:
    """What stopped the run and, for ``fit``, its checkpoint and the command that resumes it
    (``argv`` with ``--ckpt_path last`` in place of any ``--ckpt_path``)."""
    line = f"stopped by {signal.Signals(signum).name}"
    if trainer.state.fn != TrainerFn.FITTING:
        return line
    saved = [path for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint)
             and c.save_on_exception for path in (last_saved(c) or c.last_model_path,)
             if path and os.path.isfile(path)]
    if not saved:
        return f"{line} before a checkpoint was saved"
    args = [a for i, a in enumerate(argv)
            if not (a.startswith("--ckpt_path") or (i and argv[i - 1] == "--ckpt_path"))]
    return (f"{line}: checkpoint {shown(saved[0])}; resume with: "
            f"{shlex.join(['lightning-vid', *args, '--ckpt_path', 'last'])}")


class StopOnSignal(L.Callback):
    """Stops ``fit`` on SIGINT or SIGTERM at a point every rank reaches together (see the
    module's docstring); other commands stop at once."""

    def __init__(self) -> None:
        self.signal: Optional[int] = None  # received by this process
        self._trainer: Optional[L.Trainer] = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        global _received
        self.signal, _received, self._trainer = None, None, trainer
        handle_signals(trainer, self._on_signal, STOP_SIGNALS)  # Lightning registers it next

    def _on_signal(self, signum: int, frame: Any) -> None:
        global _received
        first = self.signal is None
        if first:
            self.signal = _received = signum
        trainer = self._trainer
        fitting = trainer is not None and trainer.state.fn == TrainerFn.FITTING
        if fitting and first:
            return  # stop where every rank can (the hooks below)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt  # evaluating, or a second Ctrl-C: at once
        if first:
            raise SIGTERMException

    # ---- where the ranks agree ---------------------------------------------------------------

    def _agreed(self, trainer: L.Trainer) -> bool:
        """Whether any rank received a stop signal (a collective: every rank calls it at the
        same point)."""
        if trainer.received_sigterm:
            return True
        stop = trainer.strategy.reduce_boolean_decision(self.signal is not None, all=False)
        if stop:
            stop_loops(trainer)
        return stop

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # Lightning stops after this batch, unless validation follows it (an epoch's last
        # batch, or val_check_interval's): then the stop waits for the epoch's or the next
        # batch's end, as Lightning does not resume a checkpoint taken mid-validation exactly
        done = batch_idx + 1
        validates = trainer.enable_validation and (
            done >= trainer.num_training_batches
            or (isinstance(trainer.val_check_batch, int) and done % trainer.val_check_batch == 0))
        stepped = done % trainer.accumulate_grad_batches == 0  # no gradients half-accumulated
        if done < trainer.num_training_batches and stepped and not validates:
            self._agreed(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._agreed(trainer)  # Lightning stops once the epoch is complete

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._trainer = None
