"""``lightning-vid-data reencode``: a short GOP, the same frames in the same order, resumable."""

import av
import torch

from lightning_vid.data import count_frames, read_frames
from lightning_vid.data.tools.command import main


def test_reencode_gives_short_gop_same_frames_and_resumes(videos, tmp_path):
    (videos / "broken.mp4").unlink()
    out = tmp_path / "short_gop"
    assert main(["reencode", str(videos), "--out", str(out), "--short-side", "32", "--gop", "8",
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
    assert main(["reencode", str(videos), "--out", str(out), "--workers", "0",
                 "--no-progress"]) == 0
    assert path.stat().st_mtime_ns == before  # skipped, not redone
