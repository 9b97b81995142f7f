"""``lightning-vid-data check``: every frame decoded, so damage anywhere in a file is found
whatever the file is called; its list, passed back as ``exclude``, leaves the data module only
readable videos."""

import json
import shutil
from pathlib import Path

import pytest

from lightning_vid.data.datasets import UCF101DataModule
from lightning_vid.data.frames_io import write_frame_folder
from lightning_vid.data.tools.command import main
from lightning_vid.data.video_io import write_video

CONFIGS = Path(__file__).resolve().parents[3] / "lightning_vid" / "configs" / "data"


def corrupt_middle(path: Path) -> None:
    """Overwrite a stretch in the middle of a file with garbage (the header stays intact)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["a", "zz", "clip_0007", "v_Archery_g01", "x" * 40, "01"])
def test_damage_in_the_middle_is_found_whatever_the_file_is_called(
        name, tmp_path, moving_texture):
    folder = tmp_path / name
    write_frame_folder(folder, moving_texture(30, 32, 32), quality=90)
    jpeg = folder / "img_00015.jpg"
    jpeg.write_bytes(jpeg.read_bytes()[:200])  # a truncated JPEG halfway through
    status = main(["check", str(tmp_path), "--workers", "0", "--no-progress",
                   "--bad-list", str(tmp_path / "bad.txt")])
    lines = (tmp_path / "bad.txt").read_text().splitlines()
    assert status == 1 and len(lines) == 2 and "img_00015.jpg" in lines[1]


def test_checker_lists_bad_files_and_the_data_module_excludes_them(benchmark_root, tmp_path,
                                                                   run_tool):
    root = tmp_path / "ucf101"
    shutil.copytree(benchmark_root / "ucf101", root)
    truncated = root / "UCF-101" / "Archery" / "v_Archery_g08_c03.avi"
    truncated.write_bytes(truncated.read_bytes()[:200])
    (root / "UCF-101" / "ApplyLipstick" / "v_ApplyLipstick_g01_c02.avi").unlink()
    run = run_tool("check", "--data-config", str(CONFIGS / "ucf101.yaml"), "--root", str(root),
                   "--bad-list", str(root / "bad_files.txt"), "--workers", "2", "--no-progress")
    assert run.returncode == 1, run.stderr
    assert "v_ApplyLipstick_g01_c02.avi" in run.stderr  # the missing file, told once
    assert "run's folder" not in run.stderr  # the checker has no run: its list holds them
    lines = (root / "bad_files.txt").read_text().splitlines()
    assert lines[0].startswith("# 2 bad of 10 checked")
    bad = {line.split("\t")[0]: line.split("\t")[1:] for line in lines[1:]}
    lipstick = str(root / "UCF-101/ApplyLipstick/v_ApplyLipstick_g01_c02.avi")
    assert bad[lipstick] == ["missing", f"{root / 'ucfTrainTestlist/testlist01.txt'}:2"]
    assert str(truncated) in bad
    report = json.loads((root / "bad_files_report.json").read_text())
    assert report["summary"]["bad"] == 2 and report["summary"]["done"] == 8
    dm = UCF101DataModule(str(root), exclude="bad_files.txt", num_workers=0)
    assert len(dm.records("fit")) == 5 and len(dm.records("test")) == 3
    assert not dm.skipped_files()  # nothing missing is left


def test_a_video_that_decodes_in_full_passes(tmp_path, moving_texture, run_tool):
    write_video(tmp_path / "ok.mp4", moving_texture(20), options={"crf": "23", "bf": "2"})
    run = run_tool("check", str(tmp_path / "ok.mp4"), "--bad-list", str(tmp_path / "bad.txt"),
                   "--workers", "0", "--no-progress")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "bad.txt").read_text().startswith("# 0 bad of 1 checked")


def test_the_fast_pass_finds_a_truncated_or_empty_file_and_passes_a_good_one(tmp_path,
                                                                           moving_texture):
    """``--fast`` (and ``--data.check true``) counts the frames and decodes the first and last."""
    write_video(tmp_path / "ok.mp4", moving_texture(20), options={"crf": "23", "bf": "2"})
    data = (tmp_path / "ok.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 3])
    (tmp_path / "empty.mp4").write_bytes(b"")
    status = main(["check", str(tmp_path), "--fast", "--workers", "0", "--no-progress",
                   "--bad-list", str(tmp_path / "bad.txt")])
    bad = [line.split("\t")[0] for line in (tmp_path / "bad.txt").read_text().splitlines()[1:]]
    assert status == 1 and sorted(Path(p).name for p in bad) == ["cut.mp4", "empty.mp4"]
