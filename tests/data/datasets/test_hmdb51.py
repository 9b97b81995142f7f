"""HMDB51: the 51 x 3 split files (roles, class order, errors naming file and line)."""

import shutil
from pathlib import Path

import pytest

from lightning_vid.data.datasets.hmdb51 import hmdb51_class_names, read_hmdb51_split

HMDB = Path(__file__).resolve().parents[1] / "fixtures" / "hmdb51" / "testTrainMulti_7030_splits"


def test_hmdb51_splits_roles_and_class_order():
    classes = hmdb51_class_names(HMDB)
    assert classes == ["brush_hair", "cartwheel", "sword", "sword_exercise"]  # no prefix mix-up
    train = read_hmdb51_split(HMDB, 1, "train", classes, "/h")
    test = read_hmdb51_split(HMDB, 1, "test", classes, "/h")
    assert {Path(r.path).name for r in train} & {Path(r.path).name for r in test} == set()
    assert "Blonde_being_brushed_brush_hair_f_nm_np2_ri_med_0.avi" not in {
        Path(r.path).name for r in train + test}  # role 0: unused in split 1
    assert train[0].path == "/h/brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi"
    assert train[0].source == f"{HMDB / 'brush_hair_test_split1.txt'}:1"
    assert [r.label for r in test] == [0, 1, 2, 3]
    other = read_hmdb51_split(HMDB, 2, "test", classes, "/h", "{class_name}/{stem}")
    assert other[0].path == "/h/brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0"


def test_hmdb51_bad_role_and_missing_split_file(tmp_path):
    shutil.copytree(HMDB, tmp_path / "s")
    path = tmp_path / "s" / "cartwheel_test_split2.txt"
    path.write_text(path.read_text() + "Extra_video.avi 3 \n")
    with pytest.raises(ValueError, match=rf"{path}:3: expected '<video> 0\|1\|2'"):
        read_hmdb51_split(tmp_path / "s", 2, "train", hmdb51_class_names(tmp_path / "s"), "/h")
    (tmp_path / "s" / "sword_test_split3.txt").unlink()
    with pytest.raises(ValueError, match=r"without all three split files: \['sword'\]"):
        hmdb51_class_names(tmp_path / "s")
