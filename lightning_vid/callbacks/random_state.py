"""``RandomState``: a resumed run draws the random numbers the uninterrupted run would have."""

from __future__ import annotations

from typing import Any, Optional

import lightning as L

from lightning_vid.random_state import get_random_state, set_random_state


class RandomState(L.Callback):
    """Keeps the global random states in every checkpoint and restores them on resume.

    Lightning checkpoints the model, optimizer, schedulers, loops and the state of a
    ``StatefulDataLoader`` (its sampler position, and its workers' dataset states: see
    :class:`~lightning_vid.data.dataset.ClipDataset`), but not the random state of the main
    process, which draws dropout masks and, without worker processes, the augmentation. This
    callback saves it (torch CPU and CUDA, NumPy, Python) with every checkpoint and sets it
    back when training resumes, after the loaders are rebuilt and just before the first
    batch, so a run stopped after an epoch or by SIGTERM mid-epoch and resumed with
    ``--ckpt_path last`` ends with the weights of the uninterrupted run (``tests/test_resume.py``).
    The training loader must not draw from the global generator when an epoch starts (the data
    modules give it its own generators).

    ``lightning-vid`` adds it to every run.
    """

    def __init__(self) -> None:
        self._to_restore: Optional[dict[str, Any]] = None

    def state_dict(self) -> dict[str, Any]:
        return get_random_state()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._to_restore = state_dict

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._to_restore is not None:
            set_random_state(self._to_restore)
            self._to_restore = None
