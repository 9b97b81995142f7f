"""The dataset tools run as a user runs them: the installed ``lightning-vid-data`` command."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lightning_vid.data.video_io import write_video


def lightning_vid_data(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """The installed ``lightning-vid-data`` in a subprocess (its exit status is checked)."""
    command = shutil.which("lightning-vid-data", path=os.path.dirname(sys.executable))
    assert command, "lightning-vid-data is not installed next to this Python"
    return subprocess.run([command, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture()
def run_tool():
    return lightning_vid_data


@pytest.fixture()
def videos(tmp_path, moving_texture) -> Path:
    src = tmp_path / "videos"
    (src / "a").mkdir(parents=True)
    write_video(src / "a" / "one.mp4", moving_texture(24), options={"g": "250"})
    write_video(src / "two.webm", moving_texture(20))
    (src / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    return src
