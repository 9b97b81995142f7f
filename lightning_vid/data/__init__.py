"""Data side: annotation file -> records -> index sampler -> decoder -> clip transform -> batch."""

from lightning_vid.data.sampling import segment_indices
from lightning_vid.data.video_io import count_frames, read_frames

__all__ = ["count_frames", "read_frames", "segment_indices"]
