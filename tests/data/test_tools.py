"""The dataset tools in scripts/: frame extraction, re-encoding and the checker, end to end
(parallel, resumable, exit status and report), and the checker's list feeding ``exclude``."""

import importlib.util
import json
import os
import shutil
from pathlib import Path

import av
import pytest
import torch

from lightning_vid.data import count_frames, read_frames
from lightning_vid.data.benchmarks import UCF101DataModule
from lightning_vid.data.video_io import write_video

from conftest import moving_texture

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def videos(tmp_path):
    src = tmp_path / "videos"
    (src / "a").mkdir(parents=True)
    write_video(src / "a" / "one.mp4", moving_texture(24), options={"g": "250"})
    write_video(src / "two.webm", moving_texture(20))
    (src / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    return src


def test_extract_frames_parallel_resumable_with_report(videos, tmp_path):
    out = tmp_path / "frames"
    status = script("extract_frames").main([str(videos), "--out", str(out), "--short-side", "32",
                                            "--workers", "2", "--no-progress"])
    assert status == 1  # broken.mp4 failed, the others were extracted
    report = json.loads((out / "extract_report.json").read_text())
    assert report["summary"] == {"total": 3, "done": 2, "skipped": 0, "bad": 0, "failed": 1}
    assert report["problems"][0]["item"].endswith("broken.mp4")
    assert sorted(os.listdir(out / "a" / "one"))[0] == "img_00001.jpg"
    assert count_frames(out / "a" / "one") == 24 and count_frames(out / "two") == 20
    assert read_frames(out / "a" / "one", [0]).shape == (1, 32, 43, 3)  # short side 32
    assert not list(out.rglob("*.part"))
    (videos / "broken.mp4").unlink()
    status = script("extract_frames").main([str(videos), "--out", str(out), "--workers", "0",
                                            "--no-progress"])
    report = json.loads((out / "extract_report.json").read_text())
    assert status == 0 and report["summary"]["skipped"] == 2  # resumed: nothing redone


def test_reencode_gives_short_gop_same_frames_and_resumes(videos, tmp_path):
    (videos / "broken.mp4").unlink()
    out = tmp_path / "short_gop"
    run = script("reencode_videos").main
    assert run([str(videos), "--out", str(out), "--short-side", "32", "--gop", "8",
                "--workers", "0", "--no-progress"]) == 0
    path = out / "a" / "one.mp4"
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (44, 32)  # short side 32, even width
        packets = [p for p in container.demux(stream) if p.size]
    keys = [i for i, packet in enumerate(packets) if packet.is_keyframe]
    assert keys[:3] == [0, 8, 16]  # a keyframe every 8 frames (the original: only frame 0)
    assert count_frames(path) == 24 and count_frames(out / "two.mp4") == 20
    wanted = [0, 12, 23]  # frame i of the output is frame i of the input, resized
    small = read_frames(path, wanted).permute(0, 3, 1, 2).float()
    large = read_frames(videos / "a" / "one.mp4", wanted).permute(0, 3, 1, 2).float()
    large = torch.nn.functional.interpolate(large, size=(32, 44), mode="area")
    errors = (small[:, None] - large[None]).abs().mean(dim=(2, 3, 4))  # (output, input)
    assert errors.argmin(dim=1).tolist() == [0, 1, 2]
    before = path.stat().st_mtime_ns
    assert run([str(videos), "--out", str(out), "--workers", "0", "--no-progress"]) == 0
    assert path.stat().st_mtime_ns == before  # skipped, not redone


def test_checker_lists_bad_files_and_the_data_module_excludes_them(benchmark_root, tmp_path):
    root = tmp_path / "ucf101"
    shutil.copytree(benchmark_root / "ucf101", root)
    truncated = root / "UCF-101" / "Archery" / "v_Archery_g08_c03.avi"
    truncated.write_bytes(truncated.read_bytes()[:200])
    (root / "UCF-101" / "ApplyLipstick" / "v_ApplyLipstick_g01_c02.avi").unlink()
    config = Path(__file__).resolve().parents[2] / "lightning_vid/configs/data/ucf101.yaml"
    status = script("check_dataset").main(["--data-config", str(config), "--root", str(root),
                                           "--bad-list", str(root / "bad_files.txt"),
                                           "--workers", "2", "--no-progress"])
    assert status == 1
    lines = (root / "bad_files.txt").read_text().splitlines()
    assert lines[0].startswith("# 2 bad of 10 checked")
    bad = dict(line.split("\t") for line in lines[1:])
    assert bad[str(root / "UCF-101/ApplyLipstick/v_ApplyLipstick_g01_c02.avi")] == "missing"
    assert str(truncated) in bad
    report = json.loads((root / "bad_files_report.json").read_text())
    assert report["summary"]["bad"] == 2 and report["summary"]["done"] == 8
    dm = UCF101DataModule(str(root), exclude="bad_files.txt", num_workers=0)
    assert len(dm.records["fit"]) == 5 and len(dm.records["test"]) == 3
