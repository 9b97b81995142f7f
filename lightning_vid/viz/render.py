"""``lightning-vid-render``: the figures of a checkpoint on video files, without training.

For papers and talks::

    lightning-vid-render --ckpt runs/tam/version_0/checkpoints/last.ckpt --video a.mp4 \\
        b.mp4 --out figures/ [--format pdf --dpi 300] [--gif] [--mp4] [--target label --label 3 5]
    python -m lightning_vid.viz.render ...   # the same, without the console script

The model is rebuilt by :func:`lightning_vid.load_checkpoint` (from the model's config the CLI
keeps in the checkpoint, or ``--config``). Each video is sampled as in evaluation (segment
centres, short side resized to ``--scale-size``, centre crop ``--crop-size``; both default to
the checkpoint's data config). Written into ``--out``, as
``--format`` ``png`` (``--dpi``, default 100: screen size; 300 for print), ``svg`` or ``pdf``
(vector: sharp text and lines at any size), heat maps in the perceptually uniform ``--cmap``
(default ``inferno``):

- ``kernels.<format>``: kernel distributions per stage and offset over all the videos (TAM);
- ``<video>_channel.<format>``, ``<video>_spatial.<format>``, ``<video>_flow.<format>``:
  whichever the model's temporal blocks record (see ``lightning_vid.viz.interpret``);
- ``<video>_gradcam.<format>``: Grad-CAM per frame (``--no-gradcam`` skips);
- with ``--gif`` / ``--mp4``: ``<video>_gradcam.gif|mp4`` (each frame next to its CAM) and
  ``<video>_maps.gif|mp4`` (each frame next to every spatial map and flow field).

The written paths are printed, one per line.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import torch
from torch import Tensor

from lightning_vid.viz.images import HEATMAP, save_animation, save_figure


def load_clip(path: str, num_segments: int, frames_per_segment: int = 1, crop_size: int = 224,
              scale_size: int = 256) -> Tensor:
    """One video as the model sees it in evaluation: float ``(T*L, C, H, W)``."""
    from lightning_vid.data import count_frames, read_frames, segment_indices
    from lightning_vid.data.transforms import eval_transform

    indices = segment_indices(count_frames(path), num_segments, frames_per_segment, train=False)
    frames = read_frames(path, indices).permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
    return eval_transform(crop_size, scale_size)(frames)


def _class_index(value: str, class_names: Optional[Sequence[str]]) -> int:
    if value.lstrip("-").isdigit():
        return int(value)
    if class_names and value in class_names:
        return list(class_names).index(value)
    raise SystemExit(f"error: unknown class {value!r}; give an index or one of {class_names}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lightning-vid-render", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", required=True, help="a VideoClassifier checkpoint")
    p.add_argument("--video", required=True, nargs="+", help="one or more video files")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--config",
                   help="a run's lightning_config.yaml (default: the checkpoint's own)")
    p.add_argument("--crop-size", type=int, help="frame size (default: the checkpoint's)")
    p.add_argument("--scale-size", type=int, help="short side before the crop")
    p.add_argument("--label", nargs="+", help="true class of each video (index or name)")
    p.add_argument("--target", default="pred",
                   help="Grad-CAM class: pred, label, or a class index or name")
    p.add_argument("--target-layer", help="Grad-CAM layer, dotted (default trunk.layer4)")
    p.add_argument("--no-gradcam", action="store_true", help="skip Grad-CAM")
    p.add_argument("--modules", nargs="+", help="fnmatch patterns over block names")
    p.add_argument("--max-rows", type=int, default=8, help="blocks per figure at most")
    p.add_argument("--style", choices=("violin", "hist"), default="violin")
    p.add_argument("--format", choices=("png", "svg", "pdf"), default="png",
                   help="file format of the figures (svg, pdf: vector)")
    p.add_argument("--dpi", type=float, help="resolution of png figures (default 100; 300 for "
                                             "print)")
    p.add_argument("--cmap", default=HEATMAP,
                   help="matplotlib colour map of the heat maps (default: inferno)")
    p.add_argument("--gif", action="store_true", help="also write animated GIFs")
    p.add_argument("--mp4", action="store_true", help="also write MP4 videos")
    p.add_argument("--fps", type=float, default=2.0, help="frames per second of GIF/MP4")
    return p


@dataclass
class _Clips:
    """The videos as rendered: clips ``(B, T*L, C, H, W)``, display frames, captions."""

    clips: Tensor
    labels: Optional[Tensor]
    frames: Tensor
    captions: list[str]
    stems: list[str]
    class_names: Optional[list[str]]


def render(args: argparse.Namespace) -> list[Path]:
    """Everything of the module docstring for parsed ``args``; returns the written paths."""
    from lightning_vid.checkpoint import load_checkpoint
    from lightning_vid.viz.interpret import display_frames, record_forward, to_views
    from lightning_vid.viz.report import (clip_captions, clip_figures, frame_maps_animation,
                                          kernel_figure)

    system = load_checkpoint(args.ckpt, config=args.config)
    model, names = system.model, system.class_names
    data = system.data_config
    crop = args.crop_size or data.get("crop_size") or 224
    scale = args.scale_size or data.get("scale_size") or max(crop, 256 * crop // 224)
    lps = getattr(model, "frames_per_segment", 1)
    clips = torch.stack([load_clip(v, model.num_segments, lps, crop, scale) for v in args.video])
    labels = torch.tensor([_class_index(x, names) for x in args.label]) if args.label else None
    if labels is not None and len(labels) != len(args.video):
        raise SystemExit("error: give one --label per --video")
    out, stems = Path(args.out), [Path(v).stem for v in args.video]
    outputs, logits = record_forward(model, clips)
    views = to_views(outputs, model, len(clips))
    batch = _Clips(clips, labels, display_frames(clips, lps),
                   clip_captions(stems, labels, logits, names), stems, names)
    written: list[Path] = []
    fig = kernel_figure(views, style=args.style)
    if fig is not None:
        written.append(save_figure(fig, out / f"kernels.{args.format}", args.dpi))
    for kind, figs in clip_figures(views, batch.frames, batch.captions, modules=args.modules,
                                   max_rows=args.max_rows, cmap=args.cmap).items():
        written += [save_figure(f, out / f"{s}_{kind}.{args.format}", args.dpi)
                    for s, f in zip(stems, figs)]
    suffixes = [s for s, on in ((".gif", args.gif), (".mp4", args.mp4)) if on]
    for i, stem in enumerate(stems if suffixes else []):
        video = frame_maps_animation(views, batch.frames, i)
        if video is not None:
            written += [save_animation(video, out / f"{stem}_maps{s}", args.fps) for s in suffixes]
    if not args.no_gradcam:
        written += _gradcam(args, model, batch, out, suffixes)
    return written


def _gradcam(args: argparse.Namespace, model: torch.nn.Module, batch: _Clips, out: Path,
             suffixes: Sequence[str]) -> list[Path]:
    from lightning_vid.viz.gradcam import clip_gradcam, find_layer
    from lightning_vid.viz.report import gradcam_animation, gradcam_figures

    if args.target == "label":
        if batch.labels is None:
            raise SystemExit("error: --target label needs --label")
        targets = batch.labels.tolist()
    elif args.target == "pred":
        targets = None
    else:
        targets = [_class_index(args.target, batch.class_names)] * len(batch.clips)
    layer, _ = find_layer(model, args.target_layer)
    result = clip_gradcam(model, batch.clips, layer, targets)
    figs = gradcam_figures(result, batch.frames, batch.captions, layer, batch.class_names,
                           cmap=args.cmap)
    written = []
    for i, (stem, fig) in enumerate(zip(batch.stems, figs)):
        written.append(save_figure(fig, out / f"{stem}_gradcam.{args.format}", args.dpi))
        for s in suffixes:
            written.append(save_animation(gradcam_animation(result, batch.frames, i),
                                          out / f"{stem}_gradcam{s}", args.fps))
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``lightning-vid-render``; ``argv`` replaces ``sys.argv[1:]``."""
    args = parser().parse_args(argv)
    try:
        written = render(args)
    except (FileNotFoundError, ValueError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
