"""Benchmark sparse frame reading (TSN sampling) against decoding whole videos.

Writes a 10 s, 30 fps, 320x240 H.264 video with x264's defaults (preset medium, crf 23,
``g=250``, adaptive B-frames) to a temporary folder, then times, per clip of T=8 segment
centres:

- ``read_frames`` with the per-file index rebuilt every call (first epoch) and cached (later);
- decoding every frame and converting every frame to RGB (the naive baseline);
- decoding every frame from the start but converting only the kept frames.

All decoders use one thread, as in DataLoader workers. Methods alternate and each reports its
best of ``--repeats`` clips, which keeps the ranking stable on a machine shared with other jobs.
Prints a Markdown table. ``--gop 30`` shows the effect of shorter GOPs.

Usage: ``python scripts/bench_decode.py [--repeats 5] [--gop N]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Callable

import av
import numpy as np

from lightning_vid.data import video_io
from lightning_vid.data.video_io import count_frames, read_frames, write_video

FPS, SECONDS, HEIGHT, WIDTH, SEGMENTS = 30, 10, 240, 320, 8


def synthetic_clip(num_frames: int, height: int, width: int) -> np.ndarray:
    """uint8 (T, H, W, 3): a drifting colour texture with a moving square (camera-like motion)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    for t in range(num_frames):
        phase = 2 * np.pi * t / num_frames
        base = 128 + 60 * np.sin(x / 17 + 3 * phase) * np.cos(y / 23 - 2 * phase)
        frames[t] = np.stack([base, np.roll(base, t, axis=1), 255 - base], axis=-1).astype(np.uint8)
        top, left = int(80 + 60 * np.sin(phase)), int(120 + 100 * np.cos(phase))
        frames[t, top:top + 40, left:left + 40] = (240, 200, 40)
    return frames


def tsn_centres(num_frames: int, num_segments: int = SEGMENTS) -> list[int]:
    """Segment centres: ``int(n / T * (i + 0.5))`` for i in 0..T-1."""
    return [int(num_frames / num_segments * (i + 0.5)) for i in range(num_segments)]


def decode_all(path: str, wanted: list[int], convert_all: bool) -> np.ndarray:
    """Sequential decode from the start; RGB for every frame or only for ``wanted``."""
    keep, out = set(wanted), {}
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        for position, frame in enumerate(container.decode(stream)):
            if convert_all:
                rgb = frame.to_ndarray(format="rgb24")
                if position in keep:
                    out[position] = rgb
            elif position in keep:
                out[position] = frame.to_ndarray(format="rgb24")
    return np.stack([out[i] for i in wanted])


def read_cold(path: str, wanted: list[int]) -> np.ndarray:
    video_io.clear_index_cache()
    return read_frames(path, wanted).numpy()


def clips_per_second(methods: dict[str, Callable[[str, list[int]], np.ndarray]], path: str,
                     wanted: list[int], repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` clips/s per method; methods alternate so load changes hit all alike."""
    best = {name: float("inf") for name in methods}
    for round_ in range(repeats + 1):  # round 0 warms file and index caches, untimed
        for name, fn in methods.items():
            start = time.perf_counter()
            fn(path, wanted)
            if round_:
                best[name] = min(best[name], time.perf_counter() - start)
    return {name: 1.0 / seconds for name, seconds in best.items()}


def gop_summary(path: str) -> str:
    with av.open(path) as container:
        packets = [p for p in container.demux(video=0) if p.size]
    keys = [i for i, p in enumerate(packets) if p.is_keyframe]
    reordered = sum(p.pts != p.dts for p in packets)
    return f"{len(packets)} frames, keyframes at {keys}, {reordered} packets with pts != dts"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed clips per method")
    parser.add_argument("--gop", type=int, default=None, help="x264 GOP size (default: 250)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.mp4")
        frames = synthetic_clip(FPS * SECONDS, HEIGHT, WIDTH)
        options = {"crf": "23", "preset": "medium", **({"g": str(args.gop)} if args.gop else {})}
        write_video(path, frames, fps=FPS, options=options)
        wanted = tsn_centres(count_frames(path))
        reference = decode_all(path, wanted, convert_all=True)
        assert np.array_equal(read_frames(path, wanted).numpy(), reference)
        methods = {
            "decode all, RGB all (naive)": lambda p, w: decode_all(p, w, convert_all=True),
            "decode all, RGB kept only": lambda p, w: decode_all(p, w, convert_all=False),
            "read_frames (index rebuilt)": read_cold,
            "read_frames (index cached)": lambda p, w: read_frames(p, w).numpy(),
        }
        rates = clips_per_second(methods, path, wanted, args.repeats)
        print(f"video: {WIDTH}x{HEIGHT}, {FPS} fps, {os.path.getsize(path) // 1024} KiB H.264; "
              f"{gop_summary(path)}")
        print(f"clip: T={SEGMENTS} segment centres {wanted}; repeats={args.repeats}; "
              f"nproc={len(os.sched_getaffinity(0))}; av {av.__version__}\n")
        base = rates["decode all, RGB all (naive)"]
        print("| method | clips/s | speed-up vs decode-all |\n|---|---:|---:|")
        for name, rate in rates.items():
            print(f"| {name} | {rate:.1f} | {rate / base:.2f}x |")


if __name__ == "__main__":
    main()
