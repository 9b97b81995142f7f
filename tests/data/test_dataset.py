"""Every kind of bad file a real dataset holds: never a crash or a hang; the sample of an
unreadable record is replaced deterministically by the next readable record, the file is named
in a warning, and the sample says it stands in (``skipped``, ``unreadable``), so an epoch counts
each unreadable record exactly once; the evaluation sampler partitions a dataset under DDP."""

import time
import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from lightning_vid.data.annotations import VideoRecord
from lightning_vid.data.dataset import ClipDataset, EvalDistributedSampler, collate
from lightning_vid.data.frames_io import write_frame_folder
from lightning_vid.data.media import MediaReader
from lightning_vid.data.sampling import ClipSampler
from lightning_vid.data.video_io import write_video

from messy import write_av, write_zero_frames


def flat(n: int, level: int = 0) -> np.ndarray:
    """uint8 (n, 16, 16, 3), frame t at grey level ``level + 4 t``."""
    return np.broadcast_to((level + 4 * np.arange(n, dtype=np.uint8))[:, None, None, None],
                           (n, 16, 16, 3)).copy()


def make_bad(kind: str, root) -> str:
    """A broken video or frame folder of the given kind; returns its path."""
    path = root / f"{kind}.mp4"
    if kind == "truncated":  # an mp4 cut before its index (moov) was written
        write_video(root / "full.mp4", flat(30))
        data = (root / "full.mp4").read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "zero_frames":  # a video track with no frame in it
        write_zero_frames(path)
    elif kind == "no_video_stream":
        path = root / "tone.wav"
        write_av(path, video=False, audio="pcm_s16le")
    elif kind == "missing":
        path = root / "never_downloaded.mp4"
    elif kind == "text":
        path.write_text("<html>404 Not Found</html>\n" * 20)
    elif kind == "corrupt_jpeg":
        path = root / "frames_bad"
        write_frame_folder(path, flat(10))
        (path / "img_00010.jpg").write_bytes((path / "img_00010.jpg").read_bytes()[:100])
    elif kind == "empty_folder":
        path = root / "frames_empty"
        path.mkdir()
    return str(path)


BAD = ["truncated", "zero_frames", "no_video_stream", "missing", "text", "corrupt_jpeg",
       "empty_folder"]


@pytest.fixture()
def good(tmp_path):
    """Two readable videos: a file of 30 frames and a frame folder of 3 (shorter than a clip)."""
    write_video(tmp_path / "good.mp4", flat(30, level=100))
    write_frame_folder(tmp_path / "short", flat(3, level=200))
    return [str(tmp_path / "good.mp4"), str(tmp_path / "short")]


def dataset(paths, **kwargs) -> ClipDataset:
    records = [VideoRecord(p, i) for i, p in enumerate(paths)]
    return ClipDataset(records, ClipSampler("centre", 8), **kwargs)


@pytest.mark.parametrize("kind", BAD)
def test_bad_file_is_skipped_named_and_replaced_by_the_next(kind, tmp_path, good):
    bad = make_bad(kind, tmp_path)
    data = dataset([bad, *good])
    with pytest.warns(UserWarning, match=f"skipping unreadable video {bad}"):
        sample = data[0]
    # the sample of record 0 stands in for it with record 1's clip and label
    assert (sample["index"], sample["label"], sample["skipped"]) == (0, 1, 1)
    assert sample["unreadable"] and sample["clip"].shape == (8, 3, 16, 16)
    assert torch.equal(sample["clip"], data[1]["clip"])
    assert (data[1]["skipped"], data[1]["unreadable"]) == (0, "")


def test_replacement_is_deterministic_and_wraps_around(tmp_path, good):
    paths = [good[0], make_bad("missing", tmp_path), make_bad("text", tmp_path), good[1],
             make_bad("zero_frames", tmp_path)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = [(s["label"], s["skipped"]) for s in map(dataset(paths).__getitem__, range(5))]
        second = [(s["label"], s["skipped"]) for s in map(dataset(paths).__getitem__, range(5))]
    # records 1 and 2 take record 3's clip (label 3); record 4 wraps to record 0
    assert first == second == [(0, 0), (3, 1), (3, 1), (3, 0), (0, 1)]


def test_videos_shorter_than_the_clip_repeat_frames(good):
    sampler = ClipSampler("tsn", 8, frames_per_segment=5)  # T*L = 40 frames from 3
    clip = ClipDataset([VideoRecord(good[1], 0)], sampler)[0]["clip"]
    assert clip.shape == (40, 3, 16, 16)
    levels = clip[:, 0, 8, 8].view(8, 5).float()  # each segment: frames 0, 1, 2, 2, 2
    assert (levels - torch.tensor([200.0, 204, 208, 208, 208])).abs().max() <= 2


def test_a_hanging_read_times_out_and_is_skipped(tmp_path, good):
    class Stuck(MediaReader):
        def read_frames(self, path, indices, num_frames=None):
            if path.endswith("good.mp4"):
                time.sleep(30)  # a pathological file; interrupted by the time limit
            return super().read_frames(path, indices, num_frames)

    data = dataset(good, reader=Stuck(), time_limit=0.5)
    start = time.perf_counter()
    with pytest.warns(UserWarning, match="good.mp4.*no result after 0.5 s"):
        sample = data[0]
    assert time.perf_counter() - start < 5 and sample["label"] == 1 and sample["skipped"] == 1


def test_too_many_undecodable_files_in_a_row_is_an_error_naming_their_lines(tmp_path, good):
    text = make_bad("text", tmp_path)
    records = [VideoRecord(text, 0, source=f"l.csv:{n}") for n in range(2, 6)]
    records += [VideoRecord(p, 0) for p in good]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=r"3 videos in a row that exist but do not decode, "
                                               r"after .*text.mp4 \(l.csv:2\): l.csv:3, l.csv:4, "
                                               r"l.csv:5 .*lightning-vid-data check"):
            ClipDataset(records, ClipSampler("centre", 8), max_skips=2)[0]


def test_known_missing_files_are_passed_over_unread_and_do_not_count_to_the_limit(tmp_path, good):
    missing = [make_bad("missing", tmp_path)] * 17  # a class folder that was not copied
    data = ClipDataset([VideoRecord(p, 0) for p in missing + good], ClipSampler("centre", 8),
                       max_skips=2, missing=range(17))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the data module reported them already
        samples = [data[i] for i in range(len(data))]
    assert [s["skipped"] for s in samples] == [1] * 17 + [0, 0]
    assert {s["unreadable"] for s in samples[:17]} == {"missing"}
    with pytest.raises(ValueError, match="every one of the 2 listed videos is missing"):
        ClipDataset([VideoRecord(p, 0) for p in missing[:2]], ClipSampler("centre", 8),
                    missing=[0, 1])


def test_worker_processes_decode_every_kind_of_bad_file(tmp_path, good):
    paths = [make_bad(kind, tmp_path) for kind in BAD] + good
    loader = DataLoader(dataset(paths), batch_size=3, num_workers=2, collate_fn=collate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batches = list(loader)
    skipped = torch.cat([b["skipped"] for b in batches])
    index = torch.cat([b["index"] for b in batches])
    reasons = [r for b in batches for r in b["unreadable"]]
    assert index.tolist() == list(range(len(paths)))
    assert skipped.tolist() == [1] * 7 + [0, 0]  # 7 bad records in a row count 7, not 28
    assert all(reasons[:7]) and reasons[7:] == ["", ""]


@pytest.mark.parametrize("size,world", [(10, 2), (11, 2), (7, 3), (2, 4)])
def test_eval_sampler_partitions_the_dataset(size, world):
    parts = [list(EvalDistributedSampler(range(size), world, rank)) for rank in range(world)]
    flat = sorted(i for part in parts for i in part)
    assert flat == list(range(size))  # every video exactly once: no padding, no repeats
    lengths = [len(EvalDistributedSampler(range(size), world, r)) for r in range(world)]
    assert lengths == [len(p) for p in parts] and max(lengths) - min(lengths) <= 1
