"""``lightning-vid-data extract``: parallel, resumable, a report and an exit status."""

import json
import os
import shutil
import subprocess

import pytest

from lightning_vid.data import count_frames, frames_io, read_frames
from lightning_vid.data.tools.command import main


def test_extract_frames_parallel_resumable_with_report(videos, tmp_path, run_tool):
    out = tmp_path / "frames"
    run = run_tool("extract", str(videos), "--out", str(out), "--short-side", "32",
                   "--workers", "2", "--no-progress")
    assert run.returncode == 1, run.stderr  # broken.mp4 failed, the others were extracted
    report = json.loads((out / "extract_report.json").read_text())
    assert report["summary"] == {"total": 3, "done": 2, "skipped": 0, "bad": 0, "failed": 1}
    assert report["problems"][0]["item"].endswith("broken.mp4")
    assert sorted(os.listdir(out / "a" / "one"))[0] == "img_00001.jpg"
    assert count_frames(out / "a" / "one") == 24 and count_frames(out / "two") == 20
    assert read_frames(out / "a" / "one", [0]).shape == (1, 32, 43, 3)  # short side 32
    assert not list(out.rglob("*.part"))
    (videos / "broken.mp4").unlink()
    status = main(["extract", str(videos), "--out", str(out), "--workers", "0", "--no-progress"])
    report = json.loads((out / "extract_report.json").read_text())
    assert status == 0 and report["summary"]["skipped"] == 2  # resumed: nothing redone


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="the presets run FFmpeg")
@pytest.mark.parametrize("preset, height, template", [("tsm-sthv2", 256, "{:06d}.jpg"),
                                                      ("tsm-kinetics", 331, "img_{:05d}.jpg")])
def test_a_preset_writes_the_authors_frames_byte_for_byte(videos, tmp_path, preset, height,
                                                           template):
    """The TSM tools' command (``ffmpeg -i V -threads 1 -vf scale=-1:H -q:v 0 DIR/PATTERN``,
    typed here as their vid2img_*.py formats it) and ``extract --preset`` give the same files."""
    (videos / "broken.mp4").unlink()
    out = tmp_path / "frames"
    assert main(["extract", str(videos), "--out", str(out), "--preset", preset,
                 "--workers", "0", "--no-progress"]) == 0
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    pattern = template.replace("{:06d}", "%06d").replace("{:05d}", "%05d")
    subprocess.run(f'ffmpeg -loglevel error -i "{videos / "two.webm"}" -threads 1 -vf '
                   f'scale=-1:{height} -q:v 0 "{theirs}/{pattern}"', shell=True, check=True)
    names = sorted(os.listdir(theirs))
    assert names == sorted(os.listdir(out / "two")) and len(names) == 20
    assert all((theirs / n).read_bytes() == (out / "two" / n).read_bytes() for n in names)
    assert frames_io.count_frames(out / "two", template) == 20
    assert frames_io.read_frames(out / "two", [0], template).shape[1] == height
