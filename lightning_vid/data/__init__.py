"""Data side: annotation file -> records -> index sampler -> decoder -> clip transform -> batch.

``read_frames`` and ``count_frames`` here read video files and frame folders alike (the one
dispatch point, :mod:`lightning_vid.data.media`); the video-only versions are in
:mod:`lightning_vid.data.video_io`, the frame-folder ones in :mod:`lightning_vid.data.frames_io`.
"""

from lightning_vid.data.media import MediaReader, check_media, count_frames, read_frames
from lightning_vid.data.protocol import EvalProtocol
from lightning_vid.data.sampling import ClipSampler, segment_indices

__all__ = ["ClipSampler", "EvalProtocol", "MediaReader", "check_media", "count_frames",
           "read_frames", "segment_indices"]
