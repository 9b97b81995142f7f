"""TSN/TSM frame lists: frame counts kept, folder names with spaces, errors naming the line."""

from pathlib import Path

import pytest

from lightning_vid.data.annotations import VideoRecord
from lightning_vid.data.datasets.frame_lists import read_tsm_list

TSM = Path(__file__).resolve().parents[1] / "fixtures" / "tsm"


def test_tsm_list_keeps_frame_counts(tmp_path):
    records = read_tsm_list(TSM / "train_videofolder.txt", 3, "/frames")
    assert records[1] == VideoRecord("/frames/100218", 1, num_frames=30)
    assert records[1].source == f"{TSM / 'train_videofolder.txt'}:2"
    (tmp_path / "l.txt").write_text("a 10 0\nb x 1\n")
    with pytest.raises(ValueError, match=":2: num_frames and label must be integers"):
        read_tsm_list(tmp_path / "l.txt", 3)
    (tmp_path / "l.txt").write_text("folder with space 10 5\n")
    with pytest.raises(ValueError, match=r":1: label 5 outside \[0, 3\)"):
        read_tsm_list(tmp_path / "l.txt", 3)
