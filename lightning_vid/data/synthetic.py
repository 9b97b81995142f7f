"""Synthetic motion benchmark: 8 classes that only temporal modelling can separate.

Each clip shows one textured object moving over a static background. The classes come in
four time-reversal pairs, adjacent in index order::

    0 move_left        1 move_right
    2 move_up          3 move_down
    4 grow             5 shrink
    6 rotate_clockwise 7 rotate_anticlockwise

Only the first class of a pair is ever rendered: a clip of its partner is an independently
drawn clip of the first class with its frame order reversed (``render_clip`` does exactly
this). Single frames, and even the set of frames of a clip, therefore have the same
distribution in both classes of a pair. A model without temporal modelling (TSN: a 2D CNN
applied per frame, logits averaged over T) is a function of the frame set, blind to order,
so it is at chance within each pair: at most 50 % top-1, less since a single frame says
little about the pair either. A temporal module (TSM, TAM, TEA, ...) can reach ~100 %: the
``make demo`` / ``make bench`` tables in docs/measurements.md give the measured figures.

Per clip, drawn at random: the shape (square, disc, triangle, cross, L, arrow, half disc;
rotation uses only L, arrow and half disc, which have no rotational symmetry), the texture
(plain, stripes, checker; fixed to the object so it moves, scales and turns with it) and
colours, the size, the amount of motion over the whole clip at constant speed, the start
position, and the background (solid, gradient or low-contrast noise, with up to three static
faint blobs). At 64 px: translations of 28-44 px of 10-20 px objects, growth by 2.2-3.0x
from 9-14 px, rotations of 100-150 degrees of 30-38 px objects; the whole object stays in
the frame. The amounts are what a ResNet-18 trained from scratch in a few CPU epochs can
learn (4 sampled frames, 48 px crops): with rotations of 20-28 px objects, rotation direction
stayed at chance after 8 epochs while every other pair reached 100 %. The object is always a
light tint over a darker background: with both polarities a small TSM stalled at chance on
rotation for as long as we trained it.

Layout written by ``generate`` / ``lightning-vid-data synthetic --out DIR`` (or
``python -m lightning_vid.data.synthetic --out DIR``)::

    DIR/classes.txt                          one class name per line, in index order
    DIR/{train,val,test}.csv                 header ``path,label``; rows
                                             ``videos/train/00000_move_left.mp4,0``
    DIR/videos/{split}/{index:05d}_{class}.mp4   H.264, yuv420p, crf 18, GOP 16
    DIR/meta.json                            the settings; written last, so its presence
                                             marks a complete benchmark

Labels cycle through the classes (``index % 8``), so the splits are balanced. Every clip
is seeded from ``(seed, split, index)``: the clips do not depend on ``--workers`` (the H.264
bytes may: libx264 is not bit-reproducible from run to run here).
Run again with the same settings it only checks the files and prints "already generated".

The default is 48 frames per clip. The synthetic configs sample T=4 segments (TDN: 4 segments
of L=5 consecutive frames; 8 x 5 would need at least 40 frames, ``--frames``): a sampled step
then spans about a quarter of the motion. With T=8 (half the motion per step) a ResNet-18 TSM
from scratch reached 48 % test top-1 in the same 8 epochs, against ~90 % with T=4.
"""

from __future__ import annotations

import argparse
import colorsys
import csv
import json
import multiprocessing
import os
import shutil
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Callable, Sequence

import av
import numpy as np

CLASSES = (
    "move_left",
    "move_right",
    "move_up",
    "move_down",
    "grow",
    "shrink",
    "rotate_clockwise",
    "rotate_anticlockwise",
)
SPLITS = ("train", "val", "test")
FORMAT_VERSION = 2  # 2: larger motions (2026-11)
_SUPERSAMPLE = 2  # anti-aliasing: SxS samples per pixel
_REACH = 1.3  # every shape lies within this radius of its centre, in units of its half-size

# Shapes as inside-tests on object coordinates (u, v) of shape (..., 2), unit half-size.
_TRIANGLE_NORMALS = np.array(
    [[np.cos(a), np.sin(a)] for a in np.deg2rad([-90.0, 30.0, 150.0])], dtype=np.float32
)


def _square(p: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(p[..., 0]), np.abs(p[..., 1])) <= 0.85


def _disc(p: np.ndarray) -> np.ndarray:
    return (p**2).sum(-1) <= 1.0


def _triangle(p: np.ndarray) -> np.ndarray:
    return (p @ _TRIANGLE_NORMALS.T <= 0.55).all(-1)


def _cross(p: np.ndarray) -> np.ndarray:
    a, b = np.abs(p[..., 0]), np.abs(p[..., 1])
    return ((a <= 0.33) & (b <= 1.0)) | ((b <= 0.33) & (a <= 1.0))


def _l_shape(p: np.ndarray) -> np.ndarray:
    u, v = p[..., 0], p[..., 1]
    box = (np.abs(u) <= 0.9) & (np.abs(v) <= 0.9)
    return box & ((u <= -0.25) | (v >= 0.25))


def _arrow(p: np.ndarray) -> np.ndarray:
    u, v = p[..., 0], p[..., 1]
    head = (u >= 0.0) & (u <= 1.0) & (np.abs(v) <= 0.9 * (1.0 - u))
    stem = (u >= -1.0) & (u < 0.0) & (np.abs(v) <= 0.3)
    return head | stem


def _half_disc(p: np.ndarray) -> np.ndarray:
    return _disc(p) & (p[..., 1] >= -0.25)


SHAPES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "square": _square,
    "disc": _disc,
    "triangle": _triangle,
    "cross": _cross,
    "l_shape": _l_shape,
    "arrow": _arrow,
    "half_disc": _half_disc,
}
# Rotation steps between sampled frames reach ~75 degrees (T=4): only shapes without symmetry.
ROTATION_SHAPES = ("l_shape", "arrow", "half_disc")


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), dtype=np.float32)


def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """Object colour, background colour and background brightness.

    The object is always the brighter one, in every channel: a light tint (min channel >= 0.32)
    over a dark background (max channel <= 0.35). One polarity makes the motion easy to learn
    from scratch (with random polarity a small TSM stalled at chance on rotation).
    """
    obj = _hsv(rng.random(), rng.uniform(0.2, 0.6), rng.uniform(0.8, 1.0))
    v_bg = float(rng.uniform(0.05, 0.35))
    bg = _hsv(rng.random(), rng.uniform(0.0, 0.8), v_bg)
    return obj, bg, v_bg


def _render_background(
    rng: np.random.Generator, size: int, bg: np.ndarray, v_bg: float
) -> np.ndarray:
    """Solid, gradient or low-contrast noise, plus 0-3 static low-contrast blobs: (H, W, 3)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size  # (H, W) each
    kind = rng.integers(3)
    img = np.broadcast_to(bg, (size, size, 3)).astype(np.float32)
    if kind == 1:  # gradient towards a colour of similar brightness
        v_other = float(np.clip(v_bg + rng.uniform(-0.1, 0.1), 0.0, 1.0))
        other = _hsv(rng.random(), rng.uniform(0.0, 0.8), v_other)
        a = rng.uniform(0, 2 * np.pi)
        t = (np.cos(a) * (xx - 0.5) + np.sin(a) * (yy - 0.5)) / np.sqrt(0.5) + 0.5  # (H, W)
        img = img + (other - bg) * np.clip(t, 0, 1)[..., None]
    elif kind == 2:  # smooth noise: bilinear upsampling of a coarse random grid
        g = rng.integers(4, 9)
        coarse = rng.uniform(-0.08, 0.08, size=(g, g, 3)).astype(np.float32)
        gy, gx = yy * (g - 1), xx * (g - 1)
        y0, x0 = np.minimum(gy.astype(int), g - 2), np.minimum(gx.astype(int), g - 2)
        fy, fx = (gy - y0)[..., None], (gx - x0)[..., None]
        top = coarse[y0, x0] * (1 - fx) + coarse[y0, x0 + 1] * fx
        bottom = coarse[y0 + 1, x0] * (1 - fx) + coarse[y0 + 1, x0 + 1] * fx
        img = img + top * (1 - fy) + bottom * fy
    for _ in range(rng.integers(4)):  # static blobs, smaller and fainter than the object
        cy, cx = rng.uniform(0, 1, size=2)
        ry, rx = rng.uniform(0.03, 0.08, size=2)
        shift = rng.choice([-1.0, 1.0]) * rng.uniform(0.05, 0.15)
        blob = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0)[..., None]
        img = np.where(blob, img + shift, img)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def _texture(rng: np.random.Generator, obj: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Maps object coordinates (..., 2) to colours (..., 3): plain, stripes or checker."""
    kind = rng.integers(3)
    second = obj * 0.7  # darker, still brighter than the background on average
    period = rng.uniform(0.4, 0.8)
    a = rng.uniform(0, np.pi)
    direction = np.array([np.cos(a), np.sin(a)], dtype=np.float32)

    def plain(p: np.ndarray) -> np.ndarray:
        return np.broadcast_to(obj, p.shape[:-1] + (3,))

    def stripes(p: np.ndarray) -> np.ndarray:
        on = np.floor(p @ direction / period) % 2 == 0
        return np.where(on[..., None], obj, second)

    def checker(p: np.ndarray) -> np.ndarray:
        cells = np.floor(p / period).sum(-1) % 2 == 0
        return np.where(cells[..., None], obj, second)

    return (plain, stripes, checker)[kind]


def _trajectory(
    rng: np.random.Generator, pair: int, size: int, frames: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Forward motion of the first class of ``pair``: centres (T, 2) as (x, y) px, half-sizes
    (T,) px and angles (T,) rad (increasing = clockwise on screen, y points down), and a shape."""
    unit = size / 64.0  # all distances are specified at 64 px
    t = np.linspace(0.0, 1.0, frames, dtype=np.float32)  # (T,)
    shape = str(rng.choice(ROTATION_SHAPES if pair == 3 else list(SHAPES)))
    angle0 = rng.uniform(0, 2 * np.pi)
    angles = np.full(frames, angle0, dtype=np.float32)
    if pair in (0, 1):  # move_left / move_up: the position along the axis decreases
        half = rng.uniform(5.0, 10.0) * unit
        lo, hi = _REACH * half + unit, size - _REACH * half - unit
        dist = rng.uniform(28.0 * unit, min(44.0 * unit, hi - lo))
        start = rng.uniform(lo + dist, hi)  # both directions cover [lo, hi] the same way
        along = start - dist * t
        across = np.full(frames, rng.uniform(lo, hi), dtype=np.float32)
        centres = np.stack([along, across] if pair == 0 else [across, along], axis=-1)
        halves = np.full(frames, half, dtype=np.float32)
    elif pair == 2:  # grow: geometric interpolation of the size
        half0 = rng.uniform(4.5, 7.0) * unit
        factor = rng.uniform(2.2, min(3.0, 20.0 * unit / half0))
        halves = half0 * factor**t
        lo, hi = _REACH * halves[-1] + unit, size - _REACH * halves[-1] - unit
        centres = np.broadcast_to(rng.uniform(lo, hi, size=2), (frames, 2))
    else:  # rotate_clockwise
        half = rng.uniform(15.0, 19.0) * unit
        lo, hi = _REACH * half + unit, size - _REACH * half - unit
        centres = np.broadcast_to(rng.uniform(lo, hi, size=2), (frames, 2))
        halves = np.full(frames, half, dtype=np.float32)
        angles = angle0 + np.deg2rad(rng.uniform(100.0, 150.0)) * t
    return np.asarray(centres, np.float32), np.asarray(halves, np.float32), angles, shape


def _draw_object(
    frame: np.ndarray,
    centre: np.ndarray,
    half: float,
    angle: float,
    shape: Callable[[np.ndarray], np.ndarray],
    texture: Callable[[np.ndarray], np.ndarray],
) -> None:
    """Composite the object into ``frame`` (H, W, 3) in place, anti-aliased by supersampling
    the pixels of its bounding box only."""
    size, s = frame.shape[0], _SUPERSAMPLE
    reach = _REACH * half + 1.0
    x0, y0 = (max(int(c - reach), 0) for c in centre)
    x1, y1 = (min(int(c + reach) + 1, size) for c in centre)
    xs = (np.arange(x0 * s, x1 * s, dtype=np.float32) + 0.5) / s - centre[0]  # (w*S,)
    ys = (np.arange(y0 * s, y1 * s, dtype=np.float32) + 0.5) / s - centre[1]  # (h*S,)
    dy, dx = np.meshgrid(ys, xs, indexing="ij")  # (h*S, w*S)
    cos, sin = np.float32(np.cos(angle) / half), np.float32(np.sin(angle) / half)
    p = np.stack([cos * dx + sin * dy, cos * dy - sin * dx], axis=-1)  # (h*S, w*S, 2)
    inside = shape(p)[..., None]  # (h*S, w*S, 1)
    premultiplied = np.where(inside, texture(p), np.float32(0.0))  # (h*S, w*S, 3)
    rgba = np.concatenate([premultiplied, inside.astype(np.float32)], axis=-1)
    # Mean over the SxS samples of each pixel: (h, S, w, S, 4) -> (h, w, 4).
    rgba = rgba.reshape(y1 - y0, s, x1 - x0, s, 4).sum(axis=3).sum(axis=1) / (s * s)
    crop = frame[y0:y1, x0:x1]
    crop *= 1.0 - rgba[..., 3:]
    crop += rgba[..., :3]


def render_clip(
    class_index: int, rng: np.random.Generator, size: int = 64, frames: int = 48
) -> np.ndarray:
    """Render one clip of class ``class_index`` as uint8 ``(T, H, W, 3)``.

    Class ``2k + 1`` is class ``2k`` rendered from the same rng state, reversed in time.

    >>> a = render_clip(0, np.random.default_rng(1), size=32, frames=8)
    >>> b = render_clip(1, np.random.default_rng(1), size=32, frames=8)
    >>> a.shape, a.dtype, bool((a[::-1] == b).all())
    ((8, 32, 32, 3), dtype('uint8'), True)
    """
    if not 0 <= class_index < len(CLASSES):
        raise ValueError(f"class_index must be in [0, {len(CLASSES)}), got {class_index}")
    obj, bg, v_bg = _colours(rng)
    background = _render_background(rng, size, bg, v_bg)  # (H, W, 3)
    texture = _texture(rng, obj)
    centres, halves, angles, shape = _trajectory(rng, class_index // 2, size, frames)

    clip = np.repeat(background[None], frames, axis=0)  # (T, H, W, 3)
    for frame, centre, half, angle in zip(clip, centres, halves, angles):
        _draw_object(frame, centre, half, angle, SHAPES[shape], texture)
    clip = np.round(np.clip(clip, 0.0, 1.0) * 255.0).astype(np.uint8)
    return clip[::-1].copy() if class_index % 2 else clip


def _write_mp4(path: Path, frames: np.ndarray, fps: int, crf: int = 18) -> None:
    """Encode uint8 ``(T, H, W, 3)`` RGB frames as H.264 (yuv420p, GOP 16) with PyAV."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "g": "16", "threads": "1"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def _clip_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLITS.index(split), index])


def sample_clip(split: str, index: int, seed: int = 0, size: int = 64,
                frames: int = 48) -> np.ndarray:
    """The clip ``generate`` writes as sample ``index`` of ``split`` (before encoding):
    class ``index % 8``, drawn from ``(seed, split, index)`` alone.

    >>> clip = sample_clip("train", 9, size=32, frames=8)
    >>> clip.shape, bool((clip == sample_clip("train", 9, size=32, frames=8)).all())
    ((8, 32, 32, 3), True)
    """
    return render_clip(index % len(CLASSES), _clip_rng(seed, split, index), size, frames)


def _video_path(split: str, index: int) -> str:
    return f"videos/{split}/{index:05d}_{CLASSES[index % len(CLASSES)]}.mp4"


def _make_one(job: tuple[str, str, int, int, int, int, int]) -> None:
    out, split, index, seed, size, frames, fps = job
    clip = sample_clip(split, index, seed, size, frames)
    _write_mp4(Path(out) / _video_path(split, index), clip, fps)


def _read_meta(out: Path) -> dict | None:
    try:
        return json.loads((out / "meta.json").read_text())
    except (OSError, ValueError):
        return None


def _files_complete(out: Path, meta: dict) -> bool:
    try:
        if (out / "classes.txt").read_text().split() != list(CLASSES):
            return False
    except OSError:
        return False
    names = [f"{split}.csv" for split in SPLITS]
    names += [_video_path(split, i) for split in SPLITS for i in range(meta[f"num_{split}"])]
    return all((out / name).is_file() for name in names)


def generate(
    out: str | os.PathLike,
    num_train: int = 1200,
    num_val: int = 200,
    num_test: int = 400,
    size: int = 64,
    frames: int = 48,
    fps: int = 25,
    seed: int = 0,
    workers: int | None = None,
    overwrite: bool = False,
    verbose: bool = True,
) -> Path:
    """Write the benchmark under ``out`` (layout in the module docstring) and return it.

    Does nothing if ``out`` already holds a complete benchmark with the same settings.
    Files left by an interrupted run (no ``meta.json``) are replaced; a benchmark with other
    settings (a different ``meta.json``) is an error unless ``overwrite``. ``workers``
    processes render and encode in parallel (default: all cores; 1: in this process).
    """
    if size % 2 or size < 16:
        raise ValueError(f"size must be even and >= 16 (H.264 4:2:0), got {size}")
    if frames < 2:
        raise ValueError(f"frames must be >= 2, got {frames}")
    out = Path(out)
    counts = {"train": num_train, "val": num_val, "test": num_test}
    meta = {"format_version": FORMAT_VERSION, "size": size, "frames": frames, "fps": fps}
    meta["seed"] = seed
    meta.update({f"num_{split}": n for split, n in counts.items()})
    log = print if verbose else (lambda *a, **k: None)
    existing = _read_meta(out)
    if not overwrite and existing == meta and _files_complete(out, meta):
        log(f"{out}: already generated")
        return out
    if not overwrite and existing not in (None, meta):
        raise FileExistsError(
            f"{out} holds a benchmark with other settings {existing}; "
            "pass overwrite=True (--overwrite) to replace it"
        )
    (out / "meta.json").unlink(missing_ok=True)  # written again last: marks completion
    shutil.rmtree(out / "videos", ignore_errors=True)

    workers = workers or os.cpu_count() or 1
    (out / "classes.txt").parent.mkdir(parents=True, exist_ok=True)
    (out / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    pool = multiprocessing.Pool(workers) if workers > 1 else None
    try:
        for split, n in counts.items():
            start = time.perf_counter()
            (out / "videos" / split).mkdir(parents=True, exist_ok=True)
            jobs = [(str(out), split, i, seed, size, frames, fps) for i in range(n)]
            if pool is None:
                for job in jobs:
                    _make_one(job)
            else:
                for _ in pool.imap_unordered(_make_one, jobs, chunksize=8):
                    pass
            with open(out / f"{split}.csv", "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["path", "label"])
                writer.writerows((_video_path(split, i), i % len(CLASSES)) for i in range(n))
            seconds = time.perf_counter() - start
            log(f"{split}: {n} videos {size}x{size}x{frames} in {seconds:.1f} s")
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


def main(argv: Sequence[str] | None = None,
         prog: str = "python -m lightning_vid.data.synthetic") -> int:
    """The command line (also ``lightning-vid-data synthetic``); returns the exit status."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Write the synthetic motion benchmark (8 classes in time-reversal pairs).",
    )
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--num-train", type=int, default=1200)
    parser.add_argument("--num-val", type=int, default=200)
    parser.add_argument("--num-test", type=int, default=400)
    parser.add_argument("--size", type=int, default=64, help="frame height and width (even)")
    parser.add_argument(
        "--frames", type=int, default=48, help="frames per video; TDN (8 segments x 5) needs >= 40"
    )
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="parallel processes")
    parser.add_argument("--overwrite", action="store_true", help="replace a different benchmark")
    args = parser.parse_args(argv)
    try:
        generate(
            args.out,
            num_train=args.num_train,
            num_val=args.num_val,
            num_test=args.num_test,
            size=args.size,
            frames=args.frames,
            fps=args.fps,
            seed=args.seed,
            workers=args.workers,
            overwrite=args.overwrite,
        )
    except (FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
