"""``lightning-vid-data extract``: parallel, resumable, a report and an exit status."""

import json
import os

from lightning_vid.data import count_frames, read_frames
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
