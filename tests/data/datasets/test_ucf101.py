"""UCF101: the class index and split lists (CRLF files, the HandStandPushups spelling, an index
that disagrees with its folder)."""

from pathlib import Path

import pytest

from lightning_vid.data.datasets.ucf101 import read_ucf101_classes, read_ucf101_list

UCF = Path(__file__).resolve().parents[1] / "fixtures" / "ucf101" / "ucfTrainTestlist"


def test_ucf101_class_index_lists_and_handstand_spelling():
    classes = read_ucf101_classes(UCF / "classInd.txt")  # CRLF line endings
    assert classes == ["ApplyEyeMakeup", "ApplyLipstick", "Archery", "HandstandPushups"]
    train = read_ucf101_list(UCF / "trainlist01.txt", classes, "/u")
    test = read_ucf101_list(UCF / "testlist01.txt", classes, "/u")
    assert [r.label for r in train] == [0, 0, 1, 2, 3, 3]
    assert [r.label for r in test] == [0, 1, 2, 3]
    assert test[3].path == "/u/HandstandPushups/v_HandStandPushups_g01_c01.avi"
    assert test[3].source == f"{UCF / 'testlist01.txt'}:4"


def test_ucf101_index_that_disagrees_with_the_folder_is_caught(tmp_path):
    classes = read_ucf101_classes(UCF / "classInd.txt")
    bad = tmp_path / "trainlist01.txt"
    bad.write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\n"
                   "Archery/v_Archery_g08_c03.avi 2\r\n")
    with pytest.raises(ValueError, match=rf"{bad}:2: index 2 disagrees with class 'Archery'"):
        read_ucf101_list(bad, classes, "/u")
    bad.write_text("Juggling/v_Juggling_g01_c01.avi\n")
    with pytest.raises(ValueError, match=":1: class folder 'Juggling'"):
        read_ucf101_list(bad, classes, "/u")
