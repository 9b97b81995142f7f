"""Data side: annotation file -> records -> index sampler -> decoder -> clip transform -> batch.

The runtime pipeline, in the order of the flow:

- :mod:`.annotations`: records (``VideoRecord``), the generic ``path,label`` CSV, class names;
- :mod:`.sampling`: which frames a clip is made of (pure functions);
- :mod:`.media` (dispatch), :mod:`.video_io` (all PyAV code), :mod:`.frames_io` (JPEG
  folders), :mod:`.deadline` (a time limit per read): decoding;
- :mod:`.transforms`, :mod:`.protocol`: clip transforms and evaluation views;
- :mod:`.lists` (a stage's list checked once), :mod:`.dataset`, :mod:`.datamodule`: the
  composition, the bad-file policy, the loaders; :mod:`.workers`: the loader workers' setup.

Beside it: :mod:`.datasets` (one file per benchmark: its reader and its data module),
:mod:`.synthetic` (the embedded synthetic benchmark) and :mod:`.tools` (the offline tools behind
``lightning-vid-data {extract,reencode,check,synthetic}``).

``read_frames`` and ``count_frames`` here read video files and frame folders alike.
"""

from lightning_vid.data.media import MediaReader, count_frames, read_frames
from lightning_vid.data.protocol import EvalProtocol
from lightning_vid.data.sampling import ClipSampler, segment_indices

__all__ = ["ClipSampler", "EvalProtocol", "MediaReader", "count_frames", "read_frames",
           "segment_indices"]
