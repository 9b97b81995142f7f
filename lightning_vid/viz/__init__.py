"""Seeing inside the temporal modules: interpretable tensors, Grad-CAM and their figures.

- :mod:`~lightning_vid.viz.interpret`: :func:`collect_interpretables` (any block with
  ``record``/``last_outputs``), :func:`to_views` (four plot layouts), :func:`display_frames`.
- :mod:`~lightning_vid.viz.gradcam`: :func:`clip_gradcam` on whole folded clips.
- :mod:`~lightning_vid.viz.figures`: the papers' figures, one function each.
- :mod:`~lightning_vid.viz.report`: all figures of a batch of clips, with captions.
- :mod:`~lightning_vid.viz.render`: ``lightning-vid-render``, figures for a checkpoint and a
  video file without training.

matplotlib (``pip install 'lightning_vid[viz]'``) and pytorch-grad-cam
(``pip install 'lightning_vid[viz]'``) are imported on first use.
"""

from lightning_vid.viz.gradcam import ClipCAM, clip_gradcam, find_layer
from lightning_vid.viz.images import figure_to_array, flow_to_rgb, save_animation, save_png
from lightning_vid.viz.interpret import (
    View,
    collect_interpretables,
    display_frames,
    record_forward,
    recording_modules,
    select_views,
    to_views,
)

__all__ = [
    "ClipCAM",
    "View",
    "clip_gradcam",
    "collect_interpretables",
    "display_frames",
    "figure_to_array",
    "find_layer",
    "flow_to_rgb",
    "record_forward",
    "recording_modules",
    "save_animation",
    "save_png",
    "select_views",
    "to_views",
]
