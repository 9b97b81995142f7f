"""All figures for a batch of clips, as the callbacks, the render command and the notebooks
draw them: one entry point per source (temporal blocks, Grad-CAM) and the shared captions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from lightning_vid.viz import figures
from lightning_vid.viz.gradcam import ClipCAM
from lightning_vid.viz.interpret import View, select_views

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Per-clip figure kinds and the function drawing each.
CLIP_FIGURES = {"channel": figures.channel_heatmaps, "spatial": figures.frame_heatmaps,
                "flow": figures.flow_fields}


def class_name(index: int, class_names: Optional[Sequence[str]] = None) -> str:
    """``move_left`` when the names are known, else ``class 3``; empty for no label (< 0)."""
    if index < 0:
        return ""
    if class_names is not None and 0 <= index < len(class_names):
        return str(class_names[index])
    return f"class {index}"


def clip_captions(names: Sequence[str], labels: Optional[Tensor], logits: Tensor,
                  class_names: Optional[Sequence[str]] = None) -> list[str]:
    """``video 00003_move_up | true move_up | pred move_left (p 0.41)`` per clip."""
    probs = logits.float().softmax(-1)
    conf, pred = probs.max(-1)
    captions = []
    for i, name in enumerate(names):
        true = "" if labels is None or int(labels[i]) < 0 else (
            f" | true {class_name(int(labels[i]), class_names)}")
        captions.append(f"video {name}{true} | pred {class_name(int(pred[i]), class_names)} "
                        f"(p {float(conf[i]):.2f})")
    return captions


def kernel_figure(views: Sequence[View], title: str = "", style: str = "violin",
                  label: str = "") -> Optional[Figure]:
    """Kernel distributions per stage and offset over all clips (None without kernels)."""
    kernels = [v for v in views if v.kind == "kernel"]
    if not kernels:
        return None
    names = sorted({v.block for v in kernels})
    title = title or f"{', '.join(names)} kernel weights per stage and temporal offset"
    return figures.violins({label or "kernels": kernels}, title, style)


def clip_figures(views: Sequence[View], frames: Tensor, captions: Sequence[str],
                 kinds: Sequence[str] = tuple(CLIP_FIGURES),
                 modules: Optional[Sequence[str]] = None,
                 max_rows: Optional[int] = 8, cmap: Optional[str] = None
                 ) -> dict[str, list[Figure]]:
    """``{kind: one figure per clip}`` for the per-clip kinds present in ``views``.

    Args:
        views: from :func:`~lightning_vid.viz.interpret.to_views` of B clips.
        frames: ``(B, T, H, W, 3)`` in [0, 1] (:func:`~lightning_vid.viz.interpret.display_frames`).
        captions: one title per clip.
        kinds: which of ``channel``, ``spatial``, ``flow``.
        modules: fnmatch patterns over module names (default: all).
        max_rows: at most this many blocks per figure, spread over the network.
        cmap: the colour map of the spatial heat maps (default ``images.HEATMAP``).
    """
    out: dict[str, list[Figure]] = {}
    for kind in kinds:
        chosen = select_views(views, kind, modules, max_rows)
        if not chosen:
            continue
        draw = CLIP_FIGURES[kind]
        options = {"cmap": cmap} if cmap and kind == "spatial" else {}
        out[kind] = [draw(frames[i].numpy(), [(v, v.data[i].numpy()) for v in chosen], caption,
                          **options) for i, caption in enumerate(captions)]
    return out


def gradcam_figures(result: ClipCAM, frames: Tensor, captions: Sequence[str], layer: str = "",
                    class_names: Optional[Sequence[str]] = None,
                    cmap: Optional[str] = None) -> list[Figure]:
    """One Grad-CAM figure per clip; the caption gains the explained class."""
    options = {"cmap": cmap} if cmap else {}
    return [figures.gradcam_figure(
        frames[i].numpy(), result.cam[i].numpy(), result.shares[i].numpy(),
        f"{caption} | Grad-CAM for {class_name(int(result.targets[i]), class_names)}", layer,
        **options) for i, caption in enumerate(captions)]


def gradcam_animation(result: ClipCAM, frames: Tensor, index: int, alpha: float = 0.5,
                      min_side: int = 160) -> np.ndarray:
    """uint8 ``(T, H', 2W', 3)``: each frame next to its Grad-CAM overlay (for GIF/MP4)."""
    from lightning_vid.viz.images import enlarge, overlay, to_uint8

    f = frames[index].numpy()
    blended = overlay(f, result.cam[index].numpy(), 1.0, alpha=alpha)
    return to_uint8(enlarge(np.concatenate([f, np.clip(blended, 0, 1)], axis=2), min_side))


def frame_maps_animation(views: Sequence[View], frames: Tensor, index: int,
                         min_side: int = 160) -> Optional[np.ndarray]:
    """uint8 ``(T, H', W', 3)``: each frame next to every spatial map and flow field of clip
    ``index`` in view order (one scale per map over the clip), None when there are none."""
    from lightning_vid.viz.images import enlarge, flow_to_rgb, overlay, to_uint8, upsample

    f = frames[index].numpy()
    size = f.shape[1:3]
    panels = [f]
    for v in views:
        data = v.data[index].numpy()
        if v.kind == "spatial":
            lo, hi = float(data.min()), float(data.max())  # as in the figures: [min, max]
            panels.append(np.clip(overlay(f, data, hi, vmin=lo), 0, 1))
        elif v.kind == "flow":
            for field in range(data.shape[1]):
                uv = torch.stack([torch.from_numpy(upsample(data[:, field, c], size))
                                  for c in (0, 1)], 1).numpy()  # (T, 2, H, W)
                norm = float(np.sqrt((uv**2).sum(1)).max()) or 1.0
                panels.append(np.stack([flow_to_rgb(uv[t], norm) for t in range(len(f))]))
    if len(panels) == 1:
        return None
    return to_uint8(enlarge(np.concatenate(panels, axis=2), min_side))
