"""``GradCAMLogger``: Grad-CAM per frame of fixed validation clips (pytorch-grad-cam)."""

from __future__ import annotations

from typing import Literal, Optional, Sequence

import lightning as L
from torch import nn

from lightning_vid.callbacks._clips import ClipCallback, FixedClips
from lightning_vid.callbacks._media import MediaBatch
from lightning_vid.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from lightning_vid.viz._optional import require_gradcam, require_matplotlib
from lightning_vid.viz.gradcam import clip_gradcam, find_layer
from lightning_vid.viz.images import figure_to_array
from lightning_vid.viz.interpret import display_frames
from lightning_vid.viz.report import class_name, clip_captions, gradcam_animation, gradcam_figures


class GradCAMLogger(ClipCallback):
    """Logs Grad-CAM of a fixed small batch of validation clips chosen at setup.

    Each clip goes through the model whole and folded (its frames together, so the temporal
    blocks see the full context); every frame gets its own channel weights, and the maps are
    scaled once per video, so the figure shows which frames matter (``lightning_vid.viz.gradcam``).
    It runs at the end of every ``every_n_epochs``-th validation epoch (not the sanity check),
    on rank zero, inside Lightning's validation (no_grad during fit, inference mode in
    ``validate``): it restores the model's train/eval state, parameter gradients and
    ``requires_grad``, and removes its hooks.

    Logged: ``<key>/frames`` (one figure per clip: frames, CAM overlays, per-frame shares,
    captioned with video, true and predicted class), ``<key>/clips`` (a table, one row per
    clip) and, with ``log_videos``, ``<key>/video`` (GIFs of each frame next to its CAM). To
    W&B with a WandbLogger, to PNG/GIF/CSV files under ``<log_dir>/media/<key>/`` otherwise.

    Args:
        num_clips: how many validation clips (evenly spaced over the set).
        indices: explicit validation-set indices instead (overrides ``num_clips``).
        target_layer: dotted name inside the video model (default the last stage,
            ``trunk.layer4``; a ``model.`` prefix is accepted).
        target: explain the predicted class (``pred``) or the true one (``label``).
        every_n_epochs: log after every n-th validation epoch.
        log_videos: also log animated GIFs.
        fps: frames per second of the GIFs.
        key: the W&B key prefix and folder name.
        mean, std: the normalisation to undo for display.

    Example (YAML, under ``trainer.callbacks``; needs ``pip install 'lightning_vid[viz]'``)::

        - class_path: lightning_vid.callbacks.GradCAMLogger
          init_args:
            num_clips: 4
            target_layer: trunk.layer4
            target: label
            log_videos: true
    """

    def __init__(
        self,
        num_clips: int = 4,
        indices: Optional[Sequence[int]] = None,
        target_layer: Optional[str] = None,
        target: Literal["pred", "label"] = "pred",
        every_n_epochs: int = 1,
        log_videos: bool = False,
        fps: float = 2.0,
        key: str = "gradcam",
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        require_matplotlib(), require_gradcam()  # fail when the config is read, not later
        if target not in ("pred", "label"):
            raise ValueError(f"target must be 'pred' or 'label', got {target!r}")
        super().__init__(num_clips, indices, every_n_epochs, mean, std)
        self.target_layer, self.target = target_layer, target
        self.log_videos, self.fps, self.key = log_videos, fps, key
        self.last_files: list = []

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        find_layer(getattr(pl_module, "model", pl_module), self.target_layer)  # fail early
        super().setup(trainer, pl_module, stage)

    def draw(self, trainer: L.Trainer, model: nn.Module, fixed: FixedClips) -> None:
        layer, _ = find_layer(model, self.target_layer)
        use_labels = self.target == "label" and bool((fixed.labels >= 0).all())
        result = clip_gradcam(model, fixed.clips, layer,
                              fixed.labels.tolist() if use_labels else None)
        captions = clip_captions(fixed.names, fixed.labels, result.logits, fixed.class_names)
        frames = display_frames(fixed.clips, getattr(model, "frames_per_segment", 1),
                                self.mean, self.std)
        images = [figure_to_array(f) for f in
                  gradcam_figures(result, frames, captions, layer, fixed.class_names)]
        media = MediaBatch(trainer)
        media.add_images(f"{self.key}/frames", images, captions)
        probs = result.logits.softmax(-1)
        names = fixed.class_names
        rows = [[fixed.names[i], class_name(int(fixed.labels[i]), names),
                 class_name(int(probs[i].argmax()), names), round(float(probs[i].max()), 4),
                 class_name(int(result.targets[i]), names),
                 " ".join(f"{s:.2f}" for s in result.shares[i].tolist()), images[i]]
                for i in range(len(images))]
        media.add_table(f"{self.key}/clips", ["video", "label", "pred", "confidence", "explained",
                                              "frame_shares", "gradcam"], rows)
        if self.log_videos:
            videos = [gradcam_animation(result, frames, i) for i in range(len(images))]
            media.add_videos(f"{self.key}/video", videos, captions, self.fps)
        self.last_files = media.send()
