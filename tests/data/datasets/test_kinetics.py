"""Kinetics-400: DeepMind's CSVs (classes, templates, unlabelled test rows, errors that name the
file and line) and the data module on the fixture layout."""

from pathlib import Path

import pytest

from lightning_vid.data.datasets.kinetics import (Kinetics400DataModule, kinetics_class_names,
                                                  read_kinetics_csv)

K400 = Path(__file__).resolve().parents[1] / "fixtures" / "kinetics400" / "annotations"


def test_kinetics_classes_are_sorted_train_labels_and_paths_follow_the_template():
    classes = kinetics_class_names(K400 / "train.csv")
    assert classes == ["abseiling", "air drumming", "passing American football (in game)"]
    val = read_kinetics_csv(K400 / "val.csv", classes, "/k400")
    assert [r.label for r in val] == [0, 1, 2]
    assert val[0].path == "/k400/val/-3B32lodo2M_000059_000069.mp4"
    assert val[0].source == f"{K400 / 'val.csv'}:2"
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


def test_the_unlabelled_test_csv_is_the_predict_list(benchmark_root):
    dm = Kinetics400DataModule(str(benchmark_root / "kinetics400"), num_workers=0,
                               predict_list="annotations/test.csv")
    assert [r.label for r in dm.records("predict")] == [-1, -1]
    assert len(dm.records("test")) == 3  # the validation set, as the papers report
