"""Annotation lists: records, class names, and errors naming file and line."""

import pytest

from lightning_vid.data.annotations import (VideoRecord, duplicates, exclude_records,
                                            read_class_names, read_csv_list, read_path_list)


def test_reads_relative_paths_against_the_list_folder(tmp_path):
    (tmp_path / "train.csv").write_text("path,label\nvideos/a.mp4,1\n\n/abs/b.mp4,0\n")
    records = read_csv_list(tmp_path / "train.csv", num_classes=2)
    assert [r.label for r in records] == [1, 0]
    assert records[0].path == str(tmp_path / "videos/a.mp4") and records[1].path == "/abs/b.mp4"
    assert [r.source for r in records] == [f"{tmp_path / 'train.csv'}:2",
                                           f"{tmp_path / 'train.csv'}:4"]


def test_a_path_only_list_is_unlabelled(tmp_path):
    (tmp_path / "todo.csv").write_text("path\na.mp4\nb.mp4\n")
    assert [r.label for r in read_csv_list(tmp_path / "todo.csv", num_classes=2)] == [-1, -1]
    (tmp_path / "todo.csv").write_text("path\na.mp4,1\n")
    with pytest.raises(ValueError, match=":2: expected 'path'"):
        read_csv_list(tmp_path / "todo.csv", num_classes=2)


@pytest.mark.parametrize("body,where", [
    ("path,label\na.mp4,1\nb.mp4\n", ":3: expected 'path,label'"),
    ("path,label\na.mp4,x\n", ":2: label 'x' is not an index 0..2 (3 classes)"),
    ("path,label\na.mp4,0\nb.mp4,5\n", ":3: label 5 outside"),
    ("file,class\na.mp4,0\n", ":1: expected the header"),
])
def test_malformed_lines_name_file_and_line(tmp_path, body, where):
    path = tmp_path / "list.csv"
    path.write_text(body)
    with pytest.raises(ValueError) as err:
        read_csv_list(path, num_classes=3)
    assert str(path) + where in str(err.value)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_csv_list(tmp_path / "nope.csv", 2)
    with pytest.raises(FileNotFoundError, match="classes.txt"):
        read_class_names(tmp_path / "classes.txt")


def test_class_names(tmp_path):
    (tmp_path / "c.txt").write_text("left\nright\n\n")
    assert read_class_names(tmp_path / "c.txt") == ["left", "right"]
    (tmp_path / "d.txt").write_text("left\nleft\n")
    with pytest.raises(ValueError, match="duplicate"):
        read_class_names(tmp_path / "d.txt")


def test_exclude_list_from_the_checker(tmp_path):
    (tmp_path / "bad.txt").write_text("# 2 bad\n/v/a.mp4\tmissing\tl.csv:2\n\n"
                                      "/v/./c.mp4\tno video stream\n")
    assert read_path_list(tmp_path / "bad.txt") == ["/v/a.mp4", "/v/./c.mp4"]
    records = [VideoRecord(f"/v/{n}.mp4", 0) for n in "abc"]
    kept = exclude_records(records, read_path_list(tmp_path / "bad.txt"))
    assert [r.path for r in kept] == ["/v/b.mp4"]


def test_duplicates_are_found_under_any_spelling():
    records = [VideoRecord(p, 0, source=f"l:{i}") for i, p in
               enumerate(["v/a.mp4", "v/b.mp4", "v/../v/a.mp4", "v/a.mp4"], start=2)]
    assert [(a.source, b.source) for a, b in duplicates(records)] == [("l:2", "l:4"),
                                                                      ("l:2", "l:5")]
