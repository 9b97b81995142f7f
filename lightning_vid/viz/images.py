"""Array-level picture helpers: colour maps, overlays, optical-flow colours, files.

Frames are float ``(T, H, W, 3)`` in [0, 1]; images written to disk are uint8 ``(H, W, 3)``.
Colour maps come from matplotlib (the ``notebooks`` extra); flow colours use the Middlebury
colour wheel (S. Baker et al., "A Database and Evaluation Methodology for Optical Flow",
IJCV 2011), the convention of optical-flow papers: hue is the direction, saturation the
length relative to ``max_norm``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F

from lightning_vid.viz._optional import require_matplotlib

PathLike = Union[str, "os.PathLike[str]"]

#: heat maps over frames (Grad-CAM, relocation and attention maps): perceptually uniform,
#: readable in greyscale and by colour-blind readers (not jet, whose bright bands invent edges)
HEATMAP = "inferno"
#: file formats :func:`save_figure` writes
FigureFormat = Literal["png", "svg", "pdf"]


def colorize(values: np.ndarray, cmap: str = HEATMAP, vmin: float = 0.0,
             vmax: float = 1.0) -> np.ndarray:
    """``values`` of any shape -> RGB ``(*shape, 3)`` in [0, 1] through a matplotlib map."""
    mpl = require_matplotlib()
    scaled = (np.asarray(values, dtype=np.float32) - vmin) / max(vmax - vmin, 1e-12)
    return mpl.colormaps[cmap](np.clip(scaled, 0, 1))[..., :3].astype(np.float32)


def upsample(maps: Union[np.ndarray, torch.Tensor], size: tuple[int, int]) -> np.ndarray:
    """``(N, h, w)`` -> ``(N, H, W)``, bilinear (the frames' size)."""
    x = torch.as_tensor(np.asarray(maps, dtype=np.float32))[:, None]  # (N, 1, h, w)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)[:, 0].numpy()


def overlay(frames: np.ndarray, maps: np.ndarray, vmax: Optional[float] = None,
            cmap: str = HEATMAP, alpha: float = 0.5, vmin: float = 0.0) -> np.ndarray:
    """Heat maps ``(T, h, w)`` over frames ``(T, H, W, 3)``, one colour scale for all T
    (``[vmin, vmax]``, default ``[0, the maps' maximum]``: one video, one scale)."""
    maps = upsample(maps, frames.shape[1:3])
    vmax = float(maps.max()) if vmax is None else vmax
    if vmax <= vmin:
        vmax = vmin + 1.0
    return (1 - alpha) * frames + alpha * colorize(maps, cmap, vmin, vmax)


def _colour_wheel() -> np.ndarray:
    """The Middlebury wheel: 55 colours, red -> yellow -> green -> cyan -> blue -> magenta."""
    # (colours in the segment, the channel that changes, rising or falling)
    segments = [(15, 1, True), (6, 0, False), (4, 2, True), (11, 1, False), (13, 0, True),
                (6, 2, False)]
    colour, wheel = np.array([1.0, 0.0, 0.0]), []  # starts at red
    for n, channel, rising in segments:
        for i in range(n):
            c = colour.copy()
            c[channel] = i / n if rising else 1 - i / n
            wheel.append(c)
        colour[channel] = 1.0 if rising else 0.0
    return np.array(wheel, dtype=np.float32)


_WHEEL = _colour_wheel()


def flow_to_rgb(flow: np.ndarray, max_norm: Optional[float] = None) -> np.ndarray:
    """A displacement field ``(2, h, w)`` (u right, v down) -> RGB ``(h, w, 3)`` in [0, 1].

    White is no motion; the hue gives the direction, the saturation the length relative to
    ``max_norm`` (default the field's largest length); longer vectors are darkened.
    """
    u, v = np.asarray(flow[0], np.float32), np.asarray(flow[1], np.float32)
    rad = np.sqrt(u**2 + v**2)
    rad = rad / max(max_norm if max_norm is not None else float(rad.max()), 1e-12)
    angle = np.arctan2(-v, -u) / np.pi  # [-1, 1]
    pos = (angle + 1) / 2 * (len(_WHEEL) - 1)
    k0 = np.floor(pos).astype(int)
    k1 = (k0 + 1) % len(_WHEEL)
    frac = (pos - k0)[..., None]
    col = (1 - frac) * _WHEEL[k0] + frac * _WHEEL[k1]  # (h, w, 3)
    r = rad[..., None]
    inside = r <= 1 + 1e-5  # the longest vector of a field is 1 up to rounding
    return np.where(inside, 1 - np.minimum(r, 1) * (1 - col), col * 0.75).astype(np.float32)


def colour_wheel_image(size: int = 64) -> np.ndarray:
    """The flow colour key: RGB ``(size, size, 3)``, white outside the unit disc."""
    g = np.linspace(-1, 1, size, dtype=np.float32)
    u, v = np.meshgrid(g, g)  # (size, size), v down
    img = flow_to_rgb(np.stack([u, v]), max_norm=1.0)
    img[u**2 + v**2 > 1] = 1.0
    return img


def figure_to_array(fig) -> np.ndarray:
    """Draw a matplotlib Figure: uint8 ``(H, W, 3)`` of exactly ``figsize * dpi`` pixels."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_figure(fig, path: PathLike, dpi: Optional[float] = None) -> Path:
    """Write a matplotlib Figure as PNG, SVG or PDF (by the suffix of ``path``), at ``dpi``
    (default the figure's own: 100, screen size; 300 for print). Vector formats keep text and
    lines sharp at any size."""
    require_matplotlib()
    path = Path(path)
    if path.suffix.lstrip(".").lower() not in ("png", "svg", "pdf"):
        raise ValueError(f"{path}: figures are written as .png, .svg or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi or fig.dpi)
    return path


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float in [0, 1] (or uint8) -> uint8."""
    if image.dtype == np.uint8:
        return image
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


def save_png(image: np.ndarray, path: PathLike) -> Path:
    """Write an RGB image ``(H, W, 3)`` (uint8 or float in [0, 1]) as PNG; returns the path."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(to_uint8(image)).save(path)
    return path


def enlarge(frames: np.ndarray, min_side: int = 224) -> np.ndarray:
    """Frames ``(T, H, W, 3)`` scaled up (nearest, an integer factor) to a visible size."""
    factor = max(1, -(-min_side // min(frames.shape[1:3])))
    return frames.repeat(factor, axis=1).repeat(factor, axis=2)


def save_animation(frames: np.ndarray, path: PathLike, fps: float = 2.0) -> Path:
    """Write ``(T, H, W, 3)`` frames as a looping GIF (``.gif``, Pillow) or a video (``.mp4``
    and other suffixes, PyAV through :func:`lightning_vid.data.video_io.write_video`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = to_uint8(frames)
    if path.suffix.lower() == ".gif":
        from PIL import Image

        images = [Image.fromarray(f) for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:],
                       duration=int(1000 / fps), loop=0)
        return path
    from lightning_vid.data.video_io import write_video

    h, w = frames.shape[1] // 2 * 2, frames.shape[2] // 2 * 2  # yuv420p: even sides
    write_video(path, np.ascontiguousarray(frames[:, :h, :w]), fps=fps,
                options={"crf": "18"})
    return path
