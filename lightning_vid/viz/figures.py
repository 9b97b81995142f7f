"""The figures of the papers, one function each, returning a matplotlib ``Figure``.

=======================  =================================================================
function                 what it draws (the paper figure it follows)
=======================  =================================================================
:func:`violins`          distributions per stage and per temporal offset (kernels, TAM
                         appendix A.4) or per frame (attention), several checkpoints side by
                         side; ``style="hist"`` draws histograms instead
:func:`channel_heatmaps` per-channel values over the frames of one clip, one row per block
                         (TEA appendix F's motion attention, TAM's importance map V)
:func:`frame_heatmaps`   spatial maps over the de-normalised frames, one row per block
                         (TRM Figs. 4-5: channel-averaged ``|R|``; TDN, TCM attention)
:func:`flow_fields`      displacement fields coloured like optical flow, with the colour key
                         (TCM's fast and slow displacement)
:func:`gradcam_figure`   Grad-CAM per frame and each frame's share (TCM Fig. 5, TDN Fig. 3)
=======================  =================================================================

Figures are built with ``matplotlib.figure.Figure`` (no pyplot state, safe in callbacks) at
a fixed size: ``figure_to_array`` gives exactly ``figsize * dpi`` pixels. Per-clip figures use
one colour scale per row (per video and block), so frames of a clip compare with each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Optional, Sequence

import numpy as np

from lightning_vid.viz._optional import require_matplotlib
from lightning_vid.viz.images import HEATMAP, colour_wheel_image, flow_to_rgb, overlay, upsample
from lightning_vid.viz.interpret import View

if TYPE_CHECKING:  # matplotlib is an optional extra
    from matplotlib.figure import Figure

DPI = 100
CELL = 1.35  # inches per frame column
LABEL_W = 1.5  # inches for row labels


def _figure(width: float, height: float, dpi: int = DPI):
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=dpi, layout="constrained")


def _row_label(view: View, extra: str = "") -> str:
    return f"{view.where}\n{view.block}\n{view.key}{extra}"


def _row_name(ax, text: str) -> None:
    """The name of a row, horizontal, left of its first panel."""
    ax.set_ylabel(text, fontsize=7, rotation=0, ha="right", va="center")


def _frame_row(fig, grid, frames: np.ndarray, row: int = 0, label: str = "frames") -> None:
    for t, frame in enumerate(frames):
        ax = fig.add_subplot(grid[row, t])
        ax.imshow(frame)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(f"t={t}", fontsize=8)
        if t == 0:
            _row_name(ax, label)


def _colorbar(fig, grid_cell, cmap: str, vmin: float, vmax: float, label: str = "") -> None:
    import matplotlib as mpl

    cax = fig.add_subplot(grid_cell)
    mappable = mpl.cm.ScalarMappable(mpl.colors.Normalize(vmin, vmax), cmap)
    bar = fig.colorbar(mappable, cax=cax)
    bar.ax.tick_params(labelsize=7)
    bar.set_label(label, fontsize=7)


def _positions(view: View) -> tuple[np.ndarray, list[str]]:
    """The x axis of a distribution: values per position ``(P, N)`` and the tick labels."""
    x = view.data
    if view.kind == "kernel":  # (B, C, K): offsets
        k = x.shape[-1]
        labels = [("t" if o == 0 else f"t{o:+d}") for o in range(-(k // 2), k - k // 2)]
        return x.permute(2, 0, 1).reshape(k, -1).numpy(), labels
    t = x.shape[1]  # (B, T, ...): frames
    return x.transpose(0, 1).reshape(t, -1).numpy(), [f"t={i}" for i in range(t)]


def violins(groups: Mapping[str, Sequence[View]], title: str = "",
            style: str = "violin") -> Figure:
    """Distributions of one kind of view per stage: one panel per stage, one violin (or
    histogram) per temporal offset (kernels) or frame (other kinds), each group (checkpoint)
    in its own colour. Values are pooled over the clips, channels and blocks of a stage."""
    stages = sorted({v.stage or 0 for vs in groups.values() for v in vs})
    if not stages:
        raise ValueError("violins needs at least one view")
    fig = _figure(0.6 + 3.4 * len(stages), 3.4)
    axes = fig.subplots(1, len(stages), squeeze=False)[0]
    colours = [f"C{i}" for i in range(len(groups))]
    width = 0.8 / max(1, len(groups))
    for ax, stage in zip(axes, stages):
        labels: list[str] = []
        for g, (name, views) in enumerate(groups.items()):
            chosen = [v for v in views if (v.stage or 0) == stage]
            if not chosen:
                continue
            per = [_positions(v) for v in chosen]
            labels = per[0][1]
            values = [np.concatenate([p[0][i] for p in per]) for i in range(len(labels))]
            _draw_distribution(ax, values, labels, g, width, colours[g],
                               name if len(groups) > 1 else "", style)
        nblocks = len({v.module for vs in groups.values() for v in vs if (v.stage or 0) == stage})
        ax.set_title(f"res{stage + 1} (layer{stage}), {nblocks} block(s)" if stage
                     else f"{nblocks} block(s)", fontsize=9)
        if style == "violin":
            ax.set_xticks(range(len(labels)), labels)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    _distribution_labels(fig, axes, groups, colours, style)
    fig.suptitle(title, fontsize=10)
    return fig


def _distribution_labels(fig, axes, groups: Mapping[str, Sequence[View]], colours: list[str],
                         style: str) -> None:
    """Axis labels and the key: positions in each panel (histograms), or the groups' colours
    once for all panels (violins of several checkpoints)."""
    kind = next(v for vs in groups.values() for v in vs).kind
    quantity = "kernel weight" if kind == "kernel" else "value"
    if style == "hist":
        for ax in axes:
            ax.set_xlabel(quantity, fontsize=8)
        axes[0].set_ylabel("count", fontsize=8)
        axes[0].legend(fontsize=7)
        return
    axes[0].set_ylabel(quantity, fontsize=8)
    if len(groups) > 1:
        from matplotlib.patches import Patch

        fig.legend(handles=[Patch(color=c, alpha=0.45, label=n) for c, n in zip(colours, groups)],
                   loc="outside right upper", fontsize=8)


def _draw_distribution(ax, values: list[np.ndarray], labels: list[str], group: int,
                       width: float, colour: str, name: str, style: str) -> None:
    if style == "hist":  # colour: the position; line style: the group
        for i, vals in enumerate(values):
            ax.hist(vals, bins=40, histtype="step", color=f"C{i}",
                    linestyle=("-", "--", ":", "-.")[group % 4], label=f"{name} {labels[i]}")
        return
    pos = np.arange(len(values)) - 0.4 + width * (group + 0.5)
    parts = ax.violinplot(values, positions=pos, widths=width * 0.95, showmedians=True)
    for body in parts["bodies"]:
        body.set_facecolor(colour), body.set_edgecolor(colour), body.set_alpha(0.45)
    for key in ("cmedians", "cmins", "cmaxes", "cbars"):
        parts[key].set_color(colour)


def _scale(values: np.ndarray) -> tuple[str, float, float]:
    """A colour map and range for one row (one clip, one block): signed data on a symmetric
    diverging map around 0, anything else on viridis over its own range (the colour bar
    gives the values: TAM's V sits near 0.5 early in training and varies by little)."""
    lo, hi = float(values.min()), float(values.max())
    if lo < 0 < hi:
        m = max(-lo, hi)
        return "RdBu_r", -m, m
    return "viridis", lo, max(hi, lo + 1e-6)


def channel_heatmaps(frames: np.ndarray, views: Sequence[tuple[View, np.ndarray]],
                     title: str = "") -> Figure:
    """Per-channel values of one clip: the frames, then per block a channels x frames map.

    Args:
        frames: ``(T, H, W, 3)`` in [0, 1].
        views: ``(view, values (T, C))`` for one clip, one row each.
        title: the figure title (video, classes).
    """
    t = len(frames)
    heights = [CELL] + [1.5] * len(views)
    fig = _figure(LABEL_W + CELL * t + 0.7, sum(heights) + 0.5)
    grid = fig.add_gridspec(1 + len(views), t + 1, height_ratios=heights,
                            width_ratios=[1] * t + [0.12])
    _frame_row(fig, grid, frames)
    for row, (view, values) in enumerate(views, start=1):
        cmap, lo, hi = _scale(values)
        ax = fig.add_subplot(grid[row, :t])
        ax.imshow(values.T, aspect="auto", cmap=cmap, vmin=lo, vmax=hi,
                  interpolation="nearest", extent=(-0.5, t - 0.5, values.shape[1] - 0.5, -0.5))
        ax.set_xticks(range(t), [f"t={i}" for i in range(t)])
        _row_name(ax, f"{_row_label(view)}\n(channel)")
        ax.tick_params(labelsize=7)
        _colorbar(fig, grid[row, t], cmap, lo, hi, view.quantity)
    fig.suptitle(title, fontsize=10)
    return fig


def frame_heatmaps(frames: np.ndarray, views: Sequence[tuple[View, np.ndarray]],
                   title: str = "", cmap: str = HEATMAP, alpha: float = 0.5) -> Figure:
    """Spatial maps of one clip over its frames: the frames, then one row per block, each
    row on its own scale ``[min, max]`` over the clip (frames compare), shown by its colour
    bar.

    Args:
        frames: ``(T, H, W, 3)`` in [0, 1].
        views: ``(view, maps (T, h, w))`` for one clip.
        title: the figure title.
        cmap: the matplotlib colour map.
        alpha: the weight of the heat map over the frame.
    """
    t = len(frames)
    fig = _figure(LABEL_W + CELL * t + 0.7, CELL * (1 + len(views)) + 0.5)
    grid = fig.add_gridspec(1 + len(views), t + 1, width_ratios=[1] * t + [0.12])
    _frame_row(fig, grid, frames)
    for row, (view, maps) in enumerate(views, start=1):
        vmin, vmax = float(maps.min()), float(maps.max())
        vmax = vmax if vmax > vmin else vmin + 1.0
        blended = overlay(frames, maps, vmax, cmap, alpha, vmin)
        for i in range(t):
            ax = fig.add_subplot(grid[row, i])
            ax.imshow(np.clip(blended[i], 0, 1))
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                zero = ", all 0" if not maps.any() else ""
                _row_name(ax, _row_label(view, f"\n{maps.shape[-2]}x{maps.shape[-1]} map{zero}"))
        _colorbar(fig, grid[row, t], cmap, vmin, vmax, view.quantity)
    fig.suptitle(title, fontsize=10)
    return fig


def flow_fields(frames: np.ndarray, views: Sequence[tuple[View, np.ndarray]],
                title: str = "") -> Figure:
    """Displacement fields of one clip coloured like optical flow (hue: direction,
    saturation: length, white: still), one row per field, the colour key on the right.

    Args:
        frames: ``(T, H, W, 3)`` in [0, 1].
        views: ``(view, flows (T, F, 2, h, w))`` for one clip; F = 2 reads fast, slow (TCM).
        title: the figure title.
    """
    t = len(frames)
    rows = [(v, f, fl[:, f], fl.shape[1]) for v, fl in views for f in range(fl.shape[1])]
    fig = _figure(LABEL_W + CELL * (t + 1), CELL * (1 + len(rows)) + 0.5)
    grid = fig.add_gridspec(1 + len(rows), t + 1)
    _frame_row(fig, grid, frames)
    for row, (view, f, flow, fields) in enumerate(rows, start=1):
        field = ("fast", "slow")[f] if fields == 2 else f"field {f}"
        norm = float(np.sqrt((flow**2).sum(1)).max()) or 1.0  # (T, h, w) lengths
        for i in range(t):
            ax = fig.add_subplot(grid[row, i])
            uv = np.stack([upsample(flow[i, c][None], frames.shape[1:3])[0] for c in (0, 1)])
            ax.imshow(flow_to_rgb(uv, norm))
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                _row_name(ax, _row_label(view, f"\n({field})"))
        key = fig.add_subplot(grid[row, t])
        key.imshow(colour_wheel_image(), extent=(-norm, norm, norm, -norm))
        key.set_title(f"max |d| {norm:.2g}", fontsize=7)
        key.tick_params(labelsize=6)
    fig.suptitle(title, fontsize=10)
    return fig


def gradcam_figure(frames: np.ndarray, cam: np.ndarray, shares: Optional[np.ndarray] = None,
                   title: str = "", layer: str = "", alpha: float = 0.5,
                   cmap: str = HEATMAP) -> Figure:
    """Grad-CAM of one clip: the frames, the CAM over each frame on one scale for the whole
    clip (so weak frames look weak), and each frame's share of the clip's CAM mass.

    Args:
        frames: ``(T, H, W, 3)`` in [0, 1].
        cam: ``(T, H, W)`` in [0, 1], normalised per video.
        shares: ``(T,)`` summing to 1; default from ``cam``.
        title: the figure title.
        layer: the target layer's name (row label).
        alpha: the weight of the heat map over the frame.
        cmap: the matplotlib colour map of the CAM.
    """
    t = len(frames)
    shares = cam.reshape(t, -1).sum(1) / max(cam.sum(), 1e-12) if shares is None else shares
    fig = _figure(LABEL_W + CELL * t + 0.7, CELL * 3 + 0.6)
    grid = fig.add_gridspec(3, t + 1, width_ratios=[1] * t + [0.12], height_ratios=[1, 1, 0.8])
    _frame_row(fig, grid, frames)
    blended = overlay(frames, cam, 1.0, cmap, alpha)
    for i in range(t):
        ax = fig.add_subplot(grid[1, i])
        ax.imshow(np.clip(blended[i], 0, 1))
        ax.set_xticks([]), ax.set_yticks([])
        if i == 0:
            _row_name(ax, f"Grad-CAM\n{layer}")
    _colorbar(fig, grid[1, t], cmap, 0.0, 1.0, "per-video scale")
    _share_bars(fig.add_subplot(grid[2, :t]), shares, empty=not cam.any())
    fig.suptitle(title, fontsize=10)
    return fig


def _share_bars(ax, shares: np.ndarray, empty: bool) -> None:
    """Each frame's share of the clip's CAM; an all-zero CAM is said in words."""
    t = len(shares)
    bars = ax.bar(range(t), shares, color="C0")
    ax.bar_label(bars, [f"{s:.0%}" for s in shares], fontsize=7)
    ax.set_xticks(range(t), [f"t={i}" for i in range(t)])
    ax.set_xlim(-0.5, t - 0.5)
    ax.set_ylim(0, float(shares.max()) * 1.25 if not empty else 1.0)
    if empty:
        ax.text((t - 1) / 2, 0.5, "the CAM is 0 everywhere: no activation at this layer raises "
                "the explained class's score", ha="center", va="center", fontsize=8)
    _row_name(ax, "share of the\nclip's CAM")
    ax.tick_params(labelsize=7)
