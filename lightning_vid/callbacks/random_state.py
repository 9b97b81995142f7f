"""``RandomState``: a resumed run draws the random numbers the uninterrupted run would have."""

from __future__ import annotations

from typing import Any, Optional

import lightning as L
from lightning.pytorch.trainer.states import TrainerFn

from lightning_vid.random_state import get_random_state, set_random_state


class RandomState(L.Callback):
    """Keeps the global random states in every checkpoint and restores them on resume.

    Lightning checkpoints the model, optimizer, schedulers, loops and the state of a
    ``StatefulDataLoader`` (its sampler position, and its workers' dataset states: see
    :class:`~lightning_vid.data.dataset.ClipDataset`), but not the random state of the main
    process, which draws dropout masks and, without worker processes, the augmentation. This
    callback saves it (torch CPU and CUDA, NumPy, Python) with every checkpoint and sets it
    back when training resumes, after the loaders are rebuilt and just before the first
    batch, so a run stopped after an epoch, or by Ctrl-C or SIGTERM (in a training step,
    validation, at an epoch's end, while a checkpoint is saved:
    :class:`~lightning_vid.callbacks.StopOnSignal`) and resumed with ``--ckpt_path last`` ends
    with the weights of the uninterrupted run (``tests/test_resume.py``). The training loader
    must not draw from the global generator when an epoch starts (the data modules give it
    its own generators).

    Validation during ``fit`` leaves the training random stream alone: the state after the
    training batch it follows is put back at its end. A validation loader draws its base seed
    from the global generator when its iterator is made (before any validation hook): each
    time without workers, once with persistent workers, which the uninterrupted run did in its
    sanity check (whose draws Lightning undoes) and a resumed run at its first validation, so
    the epochs after it drew other dropout masks. A checkpoint saved in the middle of a
    validation holds the state before it.

    ``lightning-vid`` adds it to every run.
    """

    def __init__(self) -> None:
        self._to_restore: Optional[dict[str, Any]] = None
        self._after_batch: Optional[dict[str, Any]] = None  # after the latest training batch
        self._before_validation: Optional[dict[str, Any]] = None

    def state_dict(self) -> dict[str, Any]:
        if self._before_validation is not None:  # saved mid-validation: as after it
            return self._before_validation
        return get_random_state()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._to_restore = state_dict

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._before_validation = self._after_batch = None
        if self._to_restore is not None:
            set_random_state(self._to_restore)
            self._to_restore = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._after_batch = get_random_state()

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn == TrainerFn.FITTING and not trainer.sanity_checking:
            self._before_validation = self._after_batch or get_random_state()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._before_validation is not None:
            set_random_state(self._before_validation)
            self._before_validation = None
