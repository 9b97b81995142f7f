"""``KernelAttentionLogger``: what the temporal blocks computed on fixed validation clips."""

from __future__ import annotations

from typing import Literal, Optional, Sequence

import lightning as L
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn

from lightning_vid.callbacks._clips import ClipCallback, FixedClips
from lightning_vid.callbacks._media import MediaBatch
from lightning_vid.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from lightning_vid.viz._optional import require_matplotlib
from lightning_vid.viz.images import figure_to_array
from lightning_vid.viz.interpret import (display_frames, record_forward, recording_modules,
                                         select_views, to_views)
from lightning_vid.viz.report import class_name, clip_captions, clip_figures, kernel_figure

FigureKind = Literal["kernel", "channel", "spatial", "flow"]


class KernelAttentionLogger(ClipCallback):
    """Logs the interpretable tensors of every temporal block (any module with ``record`` and
    ``last_outputs``) for a fixed small batch of validation clips chosen at setup.

    After every ``every_n_epochs``-th validation epoch (not the sanity check), on rank zero:
    one eval forward pass of those clips with recording on, then (see ``lightning_vid.viz``):

    - ``<key>/kernels``: violin (or histogram) plots of kernel weights per stage and temporal
      offset, over all the clips (TAM's Theta);
    - ``<key>/channel``: per clip, per-channel values over the frames (TAM's V, TEA's A, TCM's
      attention), one row per block;
    - ``<key>/spatial``: per clip, heat maps over the de-normalised frames (TRM's ``|R|``,
      TDN's attention, TCM's confidence);
    - ``<key>/flow``: per clip, displacement fields coloured like optical flow (TCM);
    - ``<key>/clips``: a table, one row per clip: video, true and predicted class, confidence
      and that clip's figures.

    Captions name the video, the classes, the stage and the block. Everything goes to W&B
    with a WandbLogger and to PNG files (and a CSV table) under ``<log_dir>/media/<key>/``
    with any other logger.

    Args:
        num_clips: how many validation clips (evenly spaced over the set).
        indices: explicit validation-set indices instead (overrides ``num_clips``).
        every_n_epochs: log after every n-th validation epoch.
        kinds: which figures to draw.
        modules: fnmatch patterns over block names (``trunk.layer3.*``); default all.
        max_rows: at most this many blocks per figure, spread over the network.
        style: ``violin`` or ``hist`` for the kernel distributions.
        key: the W&B key prefix and folder name.
        mean, std: the normalisation to undo for display.

    Example (YAML, under ``trainer.callbacks``)::

        - class_path: lightning_vid.callbacks.KernelAttentionLogger
          init_args:
            num_clips: 4
            every_n_epochs: 5
            modules: ["trunk.layer3.*", "trunk.layer4.*"]
    """

    def __init__(
        self,
        num_clips: int = 4,
        indices: Optional[Sequence[int]] = None,
        every_n_epochs: int = 1,
        kinds: Sequence[FigureKind] = ("kernel", "channel", "spatial", "flow"),
        modules: Optional[Sequence[str]] = None,
        max_rows: int = 8,
        style: Literal["violin", "hist"] = "violin",
        key: str = "interpret",
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        require_matplotlib()  # fail when the config is read, not after the first epoch
        super().__init__(num_clips, indices, every_n_epochs, mean, std)
        self.kinds, self.modules = tuple(kinds), None if modules is None else list(modules)
        self.max_rows, self.style, self.key = max_rows, style, key
        self.last_files: list = []
        self.nothing_to_draw = False

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        model = getattr(pl_module, "model", pl_module)
        self.nothing_to_draw = not recording_modules(model)
        if self.nothing_to_draw:  # TSN, TSM: no learned kernel, attention or map
            name = getattr(model, "title", type(model).__name__)  # TSM, or TSM + TAM
            rank_zero_warn(f"KernelAttentionLogger: {name} has no temporal block "
                           "that records kernels, attention or maps (TAM, TEA, TDN, TCM and TRM "
                           "do): nothing to draw; GradCAMLogger works with any model")
            return
        super().setup(trainer, pl_module, stage)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not getattr(self, "nothing_to_draw", False):
            super().on_validation_epoch_end(trainer, pl_module)

    def draw(self, trainer: L.Trainer, model: nn.Module, fixed: FixedClips) -> None:
        outputs, logits = record_forward(model, fixed.clips)
        views = to_views(outputs, model, len(fixed.clips))
        if not views:
            return
        captions = clip_captions(fixed.names, fixed.labels, logits.cpu(), fixed.class_names)
        media = MediaBatch(trainer)
        if "kernel" in self.kinds:
            kernels = kernel_figure(select_views(views, "kernel", self.modules), style=self.style)
            if kernels is not None:
                media.add_images(f"{self.key}/kernels", [figure_to_array(kernels)],
                                 [f"epoch {trainer.current_epoch}, step {trainer.global_step}, "
                                  f"{len(fixed.clips)} clips"])
        frames = display_frames(fixed.clips, getattr(model, "frames_per_segment", 1),
                                self.mean, self.std)
        per_kind = clip_figures(views, frames, captions, [k for k in self.kinds if k != "kernel"],
                                self.modules, self.max_rows)
        arrays = {kind: [figure_to_array(f) for f in figs] for kind, figs in per_kind.items()}
        for kind, images in arrays.items():
            media.add_images(f"{self.key}/{kind}", images, captions)
        probs, names = logits.float().softmax(-1).cpu(), fixed.class_names
        rows = [[fixed.names[i], class_name(int(fixed.labels[i]), names),
                 class_name(int(probs[i].argmax()), names), round(float(probs[i].max()), 4),
                 *[arrays[k][i] for k in arrays]] for i in range(len(fixed.clips))]
        media.add_table(f"{self.key}/clips", ["video", "label", "pred", "confidence", *arrays],
                        rows)
        self.last_files = media.send()
