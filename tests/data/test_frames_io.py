"""Frame folders behind the video API: the 1-based file / 0-based index boundary, the
dispatch between folders and files, a count that follows the numbering, and every way a
folder can be broken (found by ``verify``, the checker's full decode, as well)."""

import os

import numpy as np
import pytest
import torch
from PIL import Image

from lightning_vid.data import count_frames, frames_io, read_frames
from lightning_vid.data.frames_io import frame_path, write_frame_folder
from lightning_vid.data.media import MediaReader
from lightning_vid.data.video_io import VideoDecodeError, write_video


def levels(n: int) -> np.ndarray:
    """uint8 (n, 16, 16, 3); frame t is flat grey 10 + 20 t (survives JPEG exactly enough)."""
    return np.broadcast_to((10 + 20 * np.arange(n, dtype=np.uint8))[:, None, None, None],
                           (n, 16, 16, 3)).copy()


def frame_ids(frames: torch.Tensor) -> list[int]:
    return [round((float(f.float().mean()) - 10) / 20) for f in frames]


@pytest.fixture()
def folder(tmp_path):
    write_frame_folder(tmp_path / "v", levels(12), quality=95)
    return tmp_path / "v"


def test_index_zero_is_file_one(folder):
    assert sorted(os.listdir(folder))[:2] == ["img_00001.jpg", "img_00002.jpg"]
    assert frame_path(folder, 0) == str(folder / "img_00001.jpg")
    assert count_frames(folder) == 12
    assert frame_ids(read_frames(folder, [0, 11, 5, 0])) == [0, 11, 5, 0]  # no off-by-one
    assert frame_ids(read_frames(folder, torch.tensor([3]))) == [3]
    with pytest.raises(VideoDecodeError, match=r"frame index 12 out of range \[0, 12\)"):
        read_frames(folder, [12])


def test_the_same_video_as_file_and_as_folder_gives_the_same_frames(tmp_path):
    write_video(tmp_path / "v.mp4", levels(12))
    write_frame_folder(tmp_path / "v", levels(12), quality=95)
    wanted = [11, 0, 6, 6]
    assert count_frames(tmp_path / "v.mp4") == count_frames(tmp_path / "v") == 12
    assert frame_ids(read_frames(tmp_path / "v.mp4", wanted)) == frame_ids(
        read_frames(tmp_path / "v", wanted)) == wanted


def test_other_templates_and_a_gap_is_a_bad_folder_never_a_shorter_video(tmp_path):
    reader = MediaReader("{:06d}.jpg")
    write_frame_folder(tmp_path / "s", levels(20), template="{:06d}.jpg")
    (tmp_path / "s" / "flow_x_000001.jpg").write_bytes(b"")  # other files are not frames
    assert sorted(os.listdir(tmp_path / "s"))[0] == "000001.jpg"
    assert reader.count_frames(tmp_path / "s") == 20
    assert frame_ids(reader.read_frames(tmp_path / "s", [4])) == [4]
    os.remove(tmp_path / "s" / "000010.jpg")
    for read in (reader.count_frames, reader.verify):  # the count follows the numbering
        with pytest.raises(VideoDecodeError, match="1 of 20 frames missing .*: 000010.jpg"):
            read(tmp_path / "s")
    with pytest.raises(VideoDecodeError, match="cannot read frame 000010.jpg"):
        reader.read_frames(tmp_path / "s", [9], num_frames=20)  # a list that trusts its count
    os.remove(tmp_path / "s" / "000001.jpg")  # the first frame lost is a gap too
    with pytest.raises(VideoDecodeError, match="2 of 20 frames missing .*: 000001.jpg, 000010"):
        reader.count_frames(tmp_path / "s")


def test_write_is_atomic_and_refuses_to_overwrite(tmp_path):
    def broken():
        yield levels(1)[0]
        raise RuntimeError("decoder died")

    with pytest.raises(RuntimeError, match="decoder died"):
        write_frame_folder(tmp_path / "v", broken())
    assert os.listdir(tmp_path) == []  # neither the folder nor its .part
    write_frame_folder(tmp_path / "v", levels(2))
    with pytest.raises(FileExistsError):
        write_frame_folder(tmp_path / "v", levels(2))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_corrupt_jpeg_names_folder_and_file(folder, damage):
    path = folder / "img_00007.jpg"  # a middle frame
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"not a jpeg" * 20,
                      "empty": b""}[damage])
    assert frame_ids(read_frames(folder, [2])) == [2]  # the other frames still read
    with pytest.raises(VideoDecodeError, match="img_00007.jpg") as err:
        read_frames(folder, [6])
    assert err.value.path == str(folder)
    with pytest.raises(VideoDecodeError, match="img_00007.jpg"):
        MediaReader().verify(folder)  # the checker's full decode finds it too


def test_missing_empty_and_unreadable_folders(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="nope"):
        count_frames(tmp_path / "nope.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoDecodeError, match="no frame 'img_00001.jpg'"):
        count_frames(tmp_path / "empty")
    write_frame_folder(tmp_path / "locked", levels(3))

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(frames_io.os, "listdir", denied)  # chmod does not stop root
    with pytest.raises(VideoDecodeError, match="cannot list the frame folder"):
        count_frames(tmp_path / "locked")
    with pytest.raises(FileNotFoundError):
        MediaReader().verify(tmp_path / "nope")


def test_frames_of_different_sizes(tmp_path):
    write_frame_folder(tmp_path / "v", levels(3))
    Image.new("RGB", (8, 8)).save(tmp_path / "v" / "img_00002.jpg")
    with pytest.raises(VideoDecodeError, match="different sizes"):
        read_frames(tmp_path / "v", [0, 1])
    with pytest.raises(VideoDecodeError, match="different sizes"):
        MediaReader().verify(tmp_path / "v")


def test_verify_holds_a_folder_to_the_count_its_list_gives(tmp_path):
    write_frame_folder(tmp_path / "v", levels(5))
    assert MediaReader().verify(tmp_path / "v") == MediaReader().verify(tmp_path / "v", 5) == 5
    with pytest.raises(VideoDecodeError, match="the list gives 6 frames, the folder holds 5"):
        MediaReader().verify(tmp_path / "v", 6)
