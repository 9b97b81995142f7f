"""The clip dataset: composes records, an index sampler, the decoder and a transform.

It holds no logic of its own beyond the composition and the bad-file policy: a video
that is missing or cannot be decoded is skipped with a warning naming the file, and the
sample is replaced deterministically by the next readable record (so DDP ranks stay in
step); the number of records skipped to produce a sample travels with it as
``sample["skipped"]`` so the training loop can count them per epoch across workers.
"""

from __future__ import annotations

import warnings
from typing import Callable, Optional, Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset

from lightning_vid.data.annotations import VideoRecord
from lightning_vid.data.sampling import segment_indices
from lightning_vid.data.video_io import VideoDecodeError, count_frames, read_frames

#: ``sampler(num_frames) -> 1-D index tensor`` of length T*L.
IndexSampler = Callable[[int], Tensor]


class ClipDataset(Dataset):
    """Decoded, transformed clips with their labels.

    Args:
        records: the videos and labels.
        sampler: maps a video's frame count to the indices to decode.
        transform: maps a uint8 clip ``(T*L, C, H, W)`` to a float clip.
        max_skips: how many following records to try before giving up on a sample.

    Each item is a dict: ``clip`` float ``(T*L, C, H, W)``, ``label`` int, ``index`` (the
    record actually used) and ``skipped`` (records skipped to produce it).
    """

    def __init__(
        self,
        records: Sequence[VideoRecord],
        sampler: IndexSampler,
        transform: Optional[Callable[[Tensor], Tensor]] = None,
        max_skips: int = 16,
    ) -> None:
        if not records:
            raise ValueError("the dataset has no records")
        self.records = list(records)
        self.sampler = sampler
        self.transform = transform
        self.max_skips = max_skips

    def __len__(self) -> int:
        return len(self.records)

    def load(self, record: VideoRecord) -> Tensor:
        """Decode the sampled frames of one video: uint8 ``(T*L, C, H, W)``."""
        indices = self.sampler(count_frames(record.path))
        return read_frames(record.path, indices).permute(0, 3, 1, 2)  # (N,H,W,C)->(N,C,H,W)

    def __getitem__(self, index: int) -> dict:
        for skipped in range(min(self.max_skips, len(self)) + 1):
            i = (index + skipped) % len(self)
            record = self.records[i]
            try:
                clip = self.load(record)
            except (OSError, VideoDecodeError) as err:
                warnings.warn(f"skipping unreadable video {record.path}: {err}", stacklevel=2)
                continue
            if self.transform is not None:
                clip = self.transform(clip)
            return {"clip": clip, "label": record.label, "index": i, "skipped": skipped}
        raise RuntimeError(
            f"{self.max_skips + 1} consecutive unreadable videos from {self.records[index].path}"
        )


class SegmentSampler:
    """TSN sparse sampling as an :data:`IndexSampler` (picklable for DataLoader workers).

    In training the offsets are random (torch's generator, seeded per worker by the
    DataLoader); in evaluation they are the deterministic segment centres.
    """

    def __init__(self, num_segments: int, frames_per_segment: int = 1, train: bool = False):
        self.num_segments = num_segments
        self.frames_per_segment = frames_per_segment
        self.train = train

    def __call__(self, num_frames: int) -> Tensor:
        return segment_indices(num_frames, self.num_segments, self.frames_per_segment,
                               train=self.train)


def collate(samples: list[dict]) -> dict:
    """Stack clips into ``(B, T*L, C, H, W)``; labels, indices and skip counts to tensors."""
    return {
        "clip": torch.stack([s["clip"] for s in samples]),
        "label": torch.tensor([s["label"] for s in samples]),
        "index": torch.tensor([s["index"] for s in samples]),
        "skipped": torch.tensor([s["skipped"] for s in samples]),
    }
