"""Annotation readers on files in each dataset's published format (``fixtures/``): records,
class names, label maps, and errors that name the file and the line."""

import json
import shutil
from pathlib import Path

import pytest

from lightning_vid.data.annotations import (exclude_records, left_right_pairs, read_path_list,
                                            VideoRecord)
from lightning_vid.data.formats import (hmdb51_class_names, kinetics_class_names,
                                        read_hmdb51_split, read_kinetics_csv, read_ssv2_labels,
                                        read_ssv2_list, read_tsm_list, read_ucf101_classes,
                                        read_ucf101_list)

FIXTURES = Path(__file__).parent / "fixtures"
K400, SSV2 = FIXTURES / "kinetics400" / "annotations", FIXTURES / "sthv2" / "labels"
HMDB = FIXTURES / "hmdb51" / "testTrainMulti_7030_splits"
UCF = FIXTURES / "ucf101" / "ucfTrainTestlist"


def test_kinetics_classes_are_sorted_train_labels_and_paths_follow_the_template():
    classes = kinetics_class_names(K400 / "train.csv")
    assert classes == ["abseiling", "air drumming", "passing American football (in game)"]
    val = read_kinetics_csv(K400 / "val.csv", classes, "/k400")
    assert [r.label for r in val] == [0, 1, 2]
    assert val[0].path == "/k400/val/-3B32lodo2M_000059_000069.mp4"
    by_class = read_kinetics_csv(K400 / "train.csv", classes, "/k",
                                 "{label_underscored}/{youtube_id}_{time_start:06d}_{time_end:06d}")
    assert by_class[2].path == "/k/air_drumming/--nQbRBEz2s_000104_000114"  # a frame folder
    test = read_kinetics_csv(K400 / "test.csv", classes, "/k400")  # no label column
    assert [r.label for r in test] == [-1, -1]
    assert test[1].path == "/k400/test/-0y1-zF0qpA_000233_000243.mp4"


def test_kinetics_unknown_label_names_file_and_line(tmp_path):
    bad = tmp_path / "val.csv"
    bad.write_text((K400 / "val.csv").read_text() + "yoga,abcdefghijk,1,11,val,0\n")
    with pytest.raises(ValueError, match=rf"{bad}:5: label 'yoga' is not one of the 3"):
        read_kinetics_csv(bad, kinetics_class_names(K400 / "train.csv"), "/k")
    bad.write_text("label,video,start\nabseiling,x,1\n")
    with pytest.raises(ValueError, match=":1: missing columns"):
        read_kinetics_csv(bad, ["abseiling"], "/k")


def test_ssv2_labels_templates_and_the_left_right_label_map():
    classes = read_ssv2_labels(SSV2 / "labels.json")
    assert len(classes) == 174 and classes[0] == "Approaching something with your camera"
    # the pairs the TAM/TDN/mmaction2 flip swaps, derived from the names of the labels file
    assert left_right_pairs(classes) == {86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}
    train = read_ssv2_list(SSV2 / "train.json", classes, "/ss")
    assert [classes[r.label] for r in train[:3]] == [
        "Holding something next to something", "Spreading something onto something",
        "Pulling something from left to right"]
    assert train[0].path == "/ss/78687.webm"
    assert [r.label for r in read_ssv2_list(SSV2 / "test.json", classes, "/ss")] == [-1, -1]
    assert read_ssv2_list(SSV2 / "validation.json", classes, "/f", "{id}")[1].path == "/f/116154"


def test_ssv2_errors_name_the_file_and_item(tmp_path):
    classes = read_ssv2_labels(SSV2 / "labels.json")
    items = json.loads((SSV2 / "train.json").read_text())
    items[2]["template"] = "Pulling [something] sideways"
    (tmp_path / "train.json").write_text(json.dumps(items))
    with pytest.raises(ValueError, match=r"train.json: item 2 \(id 100218\).*not in the labels"):
        read_ssv2_list(tmp_path / "train.json", classes, "/ss")
    (tmp_path / "labels.json").write_text('{"a": "0", "b": "2"}')
    with pytest.raises(ValueError, match="not 0..1"):
        read_ssv2_labels(tmp_path / "labels.json")


def test_hmdb51_splits_roles_and_class_order():
    classes = hmdb51_class_names(HMDB)
    assert classes == ["brush_hair", "cartwheel", "sword", "sword_exercise"]  # no prefix mix-up
    train = read_hmdb51_split(HMDB, 1, "train", classes, "/h")
    test = read_hmdb51_split(HMDB, 1, "test", classes, "/h")
    assert {Path(r.path).name for r in train} & {Path(r.path).name for r in test} == set()
    assert "Blonde_being_brushed_brush_hair_f_nm_np2_ri_med_0.avi" not in {
        Path(r.path).name for r in train + test}  # role 0: unused in split 1
    assert train[0].path == "/h/brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi"
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


def test_ucf101_class_index_lists_and_handstand_spelling():
    classes = read_ucf101_classes(UCF / "classInd.txt")  # CRLF line endings
    assert classes == ["ApplyEyeMakeup", "ApplyLipstick", "Archery", "HandstandPushups"]
    train = read_ucf101_list(UCF / "trainlist01.txt", classes, "/u")
    test = read_ucf101_list(UCF / "testlist01.txt", classes, "/u")
    assert [r.label for r in train] == [0, 0, 1, 2, 3, 3]
    assert [r.label for r in test] == [0, 1, 2, 3]
    assert test[3].path == "/u/HandstandPushups/v_HandStandPushups_g01_c01.avi"


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


def test_tsm_list_keeps_frame_counts(tmp_path):
    records = read_tsm_list(FIXTURES / "tsm" / "train_videofolder.txt", 3, "/frames")
    assert records[1] == VideoRecord("/frames/100218", 1, num_frames=30)
    (tmp_path / "l.txt").write_text("a 10 0\nb x 1\n")
    with pytest.raises(ValueError, match=":2: num_frames and label must be integers"):
        read_tsm_list(tmp_path / "l.txt", 3)
    (tmp_path / "l.txt").write_text("folder with space 10 5\n")
    with pytest.raises(ValueError, match=r":1: label 5 outside \[0, 3\)"):
        read_tsm_list(tmp_path / "l.txt", 3)


def test_exclude_list_from_the_checker(tmp_path):
    (tmp_path / "bad.txt").write_text("# 2 bad\n/v/a.mp4\tmissing\n\n/v/./c.mp4\tno video stream\n")
    assert read_path_list(tmp_path / "bad.txt") == ["/v/a.mp4", "/v/./c.mp4"]
    records = [VideoRecord(f"/v/{n}.mp4", 0) for n in "abc"]
    kept = exclude_records(records, read_path_list(tmp_path / "bad.txt"))
    assert [r.path for r in kept] == ["/v/b.mp4"]
