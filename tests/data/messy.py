"""A messy dataset, generated: good videos of every kind next to every kind of broken file a
real dataset holds, written with PyAV into a folder with a ``path,label`` CSV listing them.

``write_messy(root)`` returns the :class:`Case` list: each case's name, the rows it adds to the
list and whether the loaders can read it. ``tests/data/test_datamodule_fuzz.py`` runs it
through the data module's public API; its report prints the case table.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import av
import numpy as np

from lightning_vid.data.frames_io import write_frame_folder
from lightning_vid.data.video_io import write_video

SIZE = 16


@dataclass
class Case:
    """One kind of file: its rows in the list, and what the loaders make of it: ``scored``
    (read), ``skipped`` (unreadable: named, counted) or ``partly`` (a damaged frame that a read
    hits or not, depending on the frames sampled; the checker lists it). A ``skipped`` case
    whose damage lies in the middle (``whole`` False) is skipped by the test's centre frames and
    by a training read only when its frames reach the damage."""

    name: str
    paths: list[str]  # as listed in the CSV (relative to the root, or absolute)
    outcome: str
    label: int = 0
    whole: bool = True
    lines: list[int] = field(default_factory=list)  # filled in by write_list


def frames(n: int, height: int = SIZE, width: int = SIZE, seed: int = 0) -> np.ndarray:
    """uint8 (n, H, W, 3): a texture sliding one pixel per frame."""
    texture = np.random.default_rng(seed).integers(40, 216, (height, width + n, 3), np.uint8)
    return np.stack([texture[:, n - t:n - t + width] for t in range(n)])


def write_av(path: Path, video: bool = True, audio: str = "aac") -> None:
    """A file with an audio stream (``aac``, or ``pcm_s16le`` for wav) and, if ``video``, a
    20-frame video stream beside it."""
    with av.open(str(path), "w") as container:
        sound = container.add_stream(audio, rate=8000)
        if video:
            stream = container.add_stream("libx264", rate=25)
            stream.width = stream.height = SIZE
            stream.pix_fmt, stream.options = "yuv420p", {"crf": "0"}
            for image in frames(20):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            container.mux(stream.encode(None))
        samples = np.zeros((1, 1024), np.float32 if audio == "aac" else np.int16)
        for i in range(4):
            chunk = av.AudioFrame.from_ndarray(samples, format="fltp" if audio == "aac" else "s16",
                                               layout="mono")
            chunk.sample_rate, chunk.pts = 8000, i * 1024
            container.mux(sound.encode(chunk))
        container.mux(sound.encode(None))


def write_zero_frames(path: Path) -> None:
    """A header with a video track and no frame in it."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        container.start_encoding()


def _cut(source: Path, target: Path, fraction: float) -> None:
    data = source.read_bytes()
    target.write_bytes(data[:int(len(data) * fraction)])


def _garble_middle(source: Path, target: Path) -> None:
    data = bytearray(source.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 200] = np.random.default_rng(1).integers(0, 256, 200, np.uint8).tobytes()
    target.write_bytes(bytes(data))


def _folder(path: Path, n: int = 20, damage: Callable[[Path], None] = lambda p: None) -> None:
    write_frame_folder(path, frames(n), quality=95)
    damage(path)


def _one_larger_frame(folder: Path) -> None:
    write_frame_folder(folder.with_name("_big"), frames(1, 24, 24))
    shutil.move(str(folder.with_name("_big") / "img_00001.jpg"), str(folder / "img_00007.jpg"))
    shutil.rmtree(folder.with_name("_big"))


def write_messy(root: Path) -> list[Case]:
    """Write the media under ``root/media`` and return the cases (no CSV yet)."""
    media = root / "media"
    media.mkdir(parents=True)
    lossy = {"crf": "23", "bf": "3", "g": "250"}
    write_video(media / "h264.mp4", frames(40))
    write_video(media / "h264_bframes.mp4", frames(40), options=lossy)
    write_video(media / "h264_gop4.mp4", frames(40), options={"crf": "20", "g": "4"})
    write_video(media / "vp9.webm", frames(30))
    write_video(media / "vp8.webm", frames(30), codec="libvpx")
    write_video(media / "mpeg4.avi", frames(30))
    write_video(media / "h264.mkv", frames(30), options=lossy)
    write_video(media / "h264.mov", frames(30))
    write_video(media / "rgb_odd_size.mkv", frames(20, 17, 33), codec="libx264rgb")
    write_video(media / "portrait.mp4", frames(20, 32, 16))
    write_video(media / "three_frames.mp4", frames(3))
    write_video(media / "one_frame.mp4", frames(1))
    write_av(media / "with_audio.mp4")
    write_video(media / "vidéo un,deux.mp4", frames(20))
    _folder(media / "frames")

    write_video(media / "long.mp4", frames(60), options={**lossy, "movflags": "faststart"})
    (media / "empty.mp4").write_bytes(b"")
    (media / "not_found.mp4").write_text("<html>404 Not Found</html>\n" * 20)
    _cut(media / "h264.mp4", media / "truncated_no_index.mp4", 1 / 3)
    _cut(media / "long.mp4", media / "truncated_after_index.mp4", 0.6)
    _cut(media / "vp9.webm", media / "truncated.webm", 0.6)
    _cut(media / "mpeg4.avi", media / "truncated.avi", 0.5)
    _garble_middle(media / "long.mp4", media / "garbled_middle.mp4")
    (media / "header_only.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    write_av(media / "audio_only.mp4", video=False)
    write_av(media / "audio_only.wav", video=False, audio="pcm_s16le")
    write_zero_frames(media / "zero_frames.mp4")
    _folder(media / "frames_gap", damage=lambda p: (p / "img_00010.jpg").unlink())
    _folder(media / "frames_no_first", damage=lambda p: (p / "img_00001.jpg").unlink())
    _folder(media / "frames_truncated_jpeg", damage=lambda p: (p / "img_00011.jpg").write_bytes(
        (p / "img_00011.jpg").read_bytes()[:120]))
    _folder(media / "frames_empty_jpeg", damage=lambda p: (p / "img_00005.jpg").write_bytes(b""))
    (media / "frames_empty").mkdir()
    _folder(media / "frames_sizes", damage=_one_larger_frame)
    (media / "not_frames").mkdir()
    (media / "not_frames" / "notes.txt").write_text("frames went elsewhere\n")

    def m(name: str) -> str:
        return f"media/{name}"

    good = ["h264.mp4", "h264_bframes.mp4", "h264_gop4.mp4", "vp9.webm", "vp8.webm", "mpeg4.avi",
            "h264.mkv", "h264.mov", "rgb_odd_size.mkv", "portrait.mp4", "three_frames.mp4",
            "one_frame.mp4", "with_audio.mp4", "vidéo un,deux.mp4", "frames",
            "truncated.webm"]  # webm headers carry no frame count: the frames before the cut
    good_cases = [Case(name, [m(name)], "scored", label=i % 2) for i, name in enumerate(good)]
    good_cases.append(Case("absolute path", [str((media / "long.mp4").resolve())], "scored", 1))
    good_cases.append(Case("'..' in the path", ["./media/../media/h264_gop4.mp4"], "scored", 1))
    bad = ["empty.mp4", "not_found.mp4", "truncated_no_index.mp4", "truncated_after_index.mp4",
           "truncated.avi", "garbled_middle.mp4", "header_only.mp4", "audio_only.mp4",
           "audio_only.wav", "zero_frames.mp4", "frames_gap", "frames_no_first", "frames_empty",
           "not_frames", "never_downloaded.mp4"]
    bad_cases = [Case(name, [m(name)], "skipped", whole=name != "garbled_middle.mp4")
                 for name in bad]
    bad_cases += [Case(name, [m(name)], "partly") for name in
                  ("frames_truncated_jpeg", "frames_empty_jpeg", "frames_sizes")]
    bad_cases.append(Case("17 missing in a row (a class folder not copied)",
                          [m(f"lost_class/{i:02d}.mp4") for i in range(17)], "skipped"))
    cases = []  # good and bad alternate, as in a real dataset
    for i in range(max(len(good_cases), len(bad_cases))):
        cases += good_cases[i:i + 1] + bad_cases[i:i + 1]
    return cases


def write_list(root: Path, cases: list[Case], name: str = "list.csv") -> Path:
    """The ``path,label`` CSV of every case's rows (header on line 1); fills ``Case.lines``."""
    import csv

    rows, line = [], 2
    for case in cases:
        case.lines = list(range(line, line + len(case.paths)))
        rows += [(path, case.label) for path in case.paths]
        line += len(case.paths)
    target = root / name
    with open(target, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("path", "label"), *rows])
    return target
