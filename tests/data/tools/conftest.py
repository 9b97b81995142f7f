"""Videos for the dataset tools: two good ones (one with a long GOP) and a broken one."""

from pathlib import Path

import pytest

from lightning_vid.data.video_io import write_video


@pytest.fixture()
def videos(tmp_path, moving_texture) -> Path:
    src = tmp_path / "videos"
    (src / "a").mkdir(parents=True)
    write_video(src / "a" / "one.mp4", moving_texture(24), options={"g": "250"})
    write_video(src / "two.webm", moving_texture(20))
    (src / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    return src
