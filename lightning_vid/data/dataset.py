"""The clip dataset: composes records, an index sampler, a frame reader and transforms.

It holds no logic of its own beyond the composition and the bad-file policy. A record whose
video cannot be read stands in for nothing: its sample is replaced, deterministically, by the
next readable record (so the epoch keeps its length and DDP ranks stay in step), and the sample
says so: ``skipped`` is 1 and ``unreadable`` holds the reason, while ``index`` stays the record
it was asked for. Summed over an epoch, ``skipped`` is exactly the number of unreadable records
(each record is asked for once), and evaluation leaves these samples out of its metrics, so
every readable video counts once.

Two kinds of unreadable record:

- **missing** files, found with one ``stat`` per record when the data module sets the split up
  and passed in as ``missing``: reported there once, then passed over without a read or a
  warning;
- files that exist but do not decode (truncated, zero frames, no video stream, corrupt or
  missing JPEGs, a gap in a frame folder's numbering) or take longer than ``time_limit``
  seconds: a warning names the file and its list line; a process remembers them, so a worker
  never pays for a bad file twice. More than ``max_skips`` of them in a row (after a sample's
  own record) is an error naming their list lines: a dataset that broken needs
  ``lightning-vid-data check``.

Videos shorter than the clip are not errors: the samplers repeat frames.

Samples hold one clip ``(T*L, C, H, W)`` or, for multi-view testing, all V views of a video
``(V, T*L, C, H, W)``, depending on the sampler and transform it is given.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Callable, Collection, Iterator, Optional, Sequence, Union

import torch
from torch import Tensor
from torch.utils.data import Dataset, DistributedSampler
from torchdata.stateful_dataloader.sampler import StatefulDistributedSampler

from lightning_vid.data.annotations import VideoRecord
from lightning_vid.data.deadline import time_limit
from lightning_vid.data.media import MediaReader
from lightning_vid.data.video_io import VideoDecodeError

#: ``sampler(num_frames) -> indices``: ``(T*L,)`` for one clip, ``(K, T*L)`` for K clips.
IndexSampler = Callable[[int], Tensor]
#: ``joint(clip, label) -> (clip, label)``, e.g. a flip that swaps left/right labels.
JointTransform = Callable[[Tensor, int], "tuple[Tensor, int]"]
MISSING = "missing"


def where(record: VideoRecord) -> str:
    """``path`` and, when known, the list line it comes from."""
    return f"{record.path} ({record.source})" if record.source else record.path


class ClipDataset(Dataset):
    """Decoded, transformed clips with their labels.

    Args:
        records: the videos (files or frame folders) and labels.
        sampler: maps a video's frame count to the indices to decode.
        transform: maps uint8 ``(T*L, C, H, W)`` (or ``(K, T*L, C, H, W)``) to float.
        max_skips: how many records that exist but do not decode may follow one another
            before a sample gives up (missing records do not count).
        reader: reads frames from video files and frame folders.
        joint_transform: applied to ``(clip, label)`` after ``transform`` (label-aware flip).
        time_limit: seconds allowed to read one video before it counts as unreadable
            (``None``: no limit; effective in the main thread of a process, e.g. a worker).
        missing: positions of records whose file is known to be missing (skipped unread).

    Each item is a dict: ``clip`` float, ``label`` int, ``index`` (the record asked for),
    ``skipped`` (1 when that record is unreadable and ``clip``/``label`` come from the next
    readable record, else 0) and ``unreadable`` (why, or ``""``).
    """

    def __init__(
        self,
        records: Sequence[VideoRecord],
        sampler: IndexSampler,
        transform: Optional[Callable[[Tensor], Tensor]] = None,
        max_skips: int = 16,
        reader: Optional[MediaReader] = None,
        joint_transform: Optional[JointTransform] = None,
        time_limit: Optional[float] = None,
        missing: Collection[int] = (),
    ) -> None:
        if not records:
            raise ValueError("the dataset has no records")
        self.records = list(records)
        self.sampler = sampler
        self.transform = transform
        self.max_skips = max_skips
        self.reader = reader or MediaReader()
        self.joint_transform = joint_transform
        self.time_limit = time_limit
        self.known_bad: dict[int, str] = dict.fromkeys(missing, MISSING)  # per process
        if len(self.known_bad) == len(self.records):
            raise ValueError(f"every one of the {len(self.records)} listed videos is missing, "
                             f"e.g. {where(self.records[0])}")

    def __len__(self) -> int:
        return len(self.records)

    def load(self, record: VideoRecord) -> Tensor:
        """Decode the sampled frames of one video: uint8 ``(T*L, C, H, W)`` or
        ``(K, T*L, C, H, W)``, following the sampler's index shape."""
        count = record.num_frames
        if count is None:
            count = self.reader.count_frames(record.path)
        elif count < 1:
            raise VideoDecodeError(record.path, f"the list gives {count} frames")
        indices = self.sampler(count)
        frames = self.reader.read_frames(record.path, indices.reshape(-1), record.num_frames)
        frames = frames.permute(0, 3, 1, 2)  # (M, H, W, C) -> (M, C, H, W)
        return frames.reshape(*indices.shape, *frames.shape[1:])

    def _try(self, i: int) -> Optional[Tensor]:
        """The clip of record ``i``, or ``None`` (remembered) when it cannot be read."""
        if i in self.known_bad:
            return None
        record = self.records[i]
        try:
            with time_limit(self.time_limit, f"reading {record.path}"):
                return self.load(record)
        except (OSError, VideoDecodeError) as err:  # TimeoutError is an OSError
            reason = getattr(err, "reason", None) or f"{type(err).__name__}: {err}"
            self.known_bad[i] = " ".join(str(reason).split())
            return None

    def __getitem__(self, item: Union[int, tuple[int, int]]) -> dict:
        """The sample of record ``item``, or of ``item = (index, seed)`` (what
        :class:`TrainingSampler` yields) with every random draw of its sampling and
        augmentation made from ``seed``, leaving the process's random state untouched."""
        if not isinstance(item, tuple):
            return self._sample(item)
        index, seed = item
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self._sample(index)

    def _sample(self, index: int) -> dict:
        clip = self._try(index)
        reason = self.known_bad.get(index, "")
        if clip is None and reason != MISSING:
            warnings.warn(f"skipping unreadable video {where(self.records[index])}: {reason}",
                          stacklevel=2)
        used, failed = index, []
        while clip is None:  # the next readable record stands in
            used = (used + 1) % len(self)
            if used == index:
                raise RuntimeError(f"no readable video among the {len(self)} listed")
            clip = self._try(used)
            if clip is None and self.known_bad[used] != MISSING:
                failed.append(used)
                if len(failed) > self.max_skips:
                    raise RuntimeError(self._too_many(index, failed))
        label = self.records[used].label
        if self.transform is not None:
            clip = self.transform(clip)
        if self.joint_transform is not None:
            clip, label = self.joint_transform(clip, label)
        return {"clip": clip, "label": label, "index": index, "skipped": int(used != index),
                "unreadable": reason}

    def _too_many(self, index: int, failed: list[int]) -> str:
        lines = ", ".join(self.records[i].source or self.records[i].path for i in failed)
        first = self.records[failed[0]]
        return (f"{len(failed)} videos in a row that exist but do not decode, after "
                f"{where(self.records[index])}: {lines} (first: {first.path}: "
                f"{self.known_bad[failed[0]]}); list the bad files with `lightning-vid-data "
                "check` and pass its list as the data module's `exclude`")


class TrainingSampler(StatefulDistributedSampler):
    """The training order and augmentation, functions of ``(seed, epoch)`` alone.

    Each epoch is a permutation drawn from ``seed + epoch`` (``DistributedSampler``'s rule, with
    its DDP sharding: rank r takes every R-th sample), and each sample comes with a seed of
    its own, drawn from ``(seed, epoch, index)``, from which :class:`ClipDataset` makes every
    random draw of that sample (segment offsets, crops). So what a training step sees never
    depends on the history of a process or of its DataLoader workers: a run resumed from a
    checkpoint, at an epoch's end or in its middle (the position is part of the loader's
    state), gets the batches of the uninterrupted run, with any number of workers. Lightning
    calls :meth:`set_epoch` before each epoch; it leaves a ``DistributedSampler`` in place
    under DDP.

    Yields ``(index, sample_seed)``.
    """

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        for index in super().__iter__():  # lazy: the epoch is read at the first sample
            yield index, sample_seed(self.seed, self.epoch, index)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "epoch": self.epoch}

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self.epoch = state_dict.get("epoch", self.epoch)


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed for one sample of one epoch.

    >>> sample_seed(0, 1, 7) == sample_seed(0, 1, 7) != sample_seed(0, 2, 7)
    True
    """
    digest = hashlib.blake2b(f"{seed}/{epoch}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class EvalDistributedSampler(DistributedSampler):
    """Evaluation under DDP: rank r reads samples r, r + R, r + 2R, ... in order.

    Every sample is seen by exactly one rank and none twice; unlike ``DistributedSampler``
    (and Lightning's default, which pads with repeats so all ranks get equal batches) the
    ranks may differ by one sample. Safe for evaluation, where no gradients are synchronised.
    """

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False)
        self.total_size = len(dataset)
        self.num_samples = len(range(rank, self.total_size, num_replicas))

    def __iter__(self):
        return iter(range(self.rank, self.total_size, self.num_replicas))

    def __len__(self) -> int:
        return self.num_samples


def collate(samples: list[dict]) -> dict:
    """Stack clips into ``(B, T*L, C, H, W)`` (or ``(B, V, T*L, C, H, W)``); labels, indices
    and skip flags to tensors; the reasons stay a list of strings."""
    return {
        "clip": torch.stack([s["clip"] for s in samples]),
        "label": torch.tensor([s["label"] for s in samples]),
        "index": torch.tensor([s["index"] for s in samples]),
        "skipped": torch.tensor([s["skipped"] for s in samples]),
        "unreadable": [s["unreadable"] for s in samples],
    }
