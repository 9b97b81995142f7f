"""Frame-accurate video decoding with PyAV: the only module of the project that imports ``av``
(in the functions that use it, so that a command which reads no video, ``lightning-vid
--help`` or a refused config, does not load FFmpeg's libraries).

Frames are addressed by their 0-based position in presentation order, i.e. the order in which
a sequential decode from the start of the file returns them. The approach:

1. **Index by demuxing.** One pass over the video stream's packets (demuxing reads the bytes
   but decodes nothing, so it costs milliseconds) collects each packet's ``pts`` and keyframe
   flag. Empty packets and packets the container marks as discarded (mp4 edit lists) are
   skipped, because the decoder emits no frame for them. Sorting the ``pts`` gives
   presentation order, so frame ``i`` has ``pts == sorted_pts[i]``. The index is kept in a
   per-process LRU cache keyed by (path, modification time, size); on a miss it is built from
   the container that :func:`read_frames` opened anyway, then the decoder seeks back. The
   file is opened without FFmpeg's stream probing, which decodes up to ~7 frames to guess a
   reorder delay the stream header usually gives anyway (see ``_open``); a read of reordered
   frames that fails so is made again after a full open.
2. **Count = index length.** :func:`count_frames` returns the number of packets in that index,
   never the container header (``stream.frames`` is absent in webm/mkv and wrong for truncated
   files). The count is exact for every file whose packets each hold one frame, which is what
   the muxers of mp4, mkv/webm and avi (without packed B-frames) write.
3. **Seek to a keyframe, decode forward.** The wanted indices are made unique and sorted and
   grouped by the last keyframe (in presentation order) at or before them. Each group is one
   run: seek by ``pts`` to that keyframe (``backward=True, any_frame=False``), decode forward
   until the group's last frame, and convert to RGB only the frames that are kept. Frames in
   the same GOP therefore share one seek, and a first run from frame 0 needs no seek when the
   index came from the cache. A run whose keyframe lies at most ``_SEEK_GAP`` frames past the
   last decoded frame is reached by decoding on rather than seeking, so a long GOP is decoded
   once from its keyframe, never re-sought per index. Packets of unwanted frames are decoded
   with ``skip_frame="NONREF"`` (``SKIP_NONREF``): the decoder drops the frames no other frame
   references (most B-frames), which is exact and saves about a third of the work on x264's
   defaults. Each kept frame is converted to RGB once, by one swscale context per call with
   one thread (PyAV's ``to_ndarray`` starts a thread per CPU for every frame), straight into
   its rows of the output in the requested order (repeats included): one copy, no stacking.
4. **Safety nets.** If a seek lands after a wanted frame (some demuxers search their index by
   ``dts``), the run is retried from earlier keyframes and finally from the first one. If some
   packet has no ``pts`` or two packets share one, the index cannot map positions to
   timestamps, and the file is decoded sequentially from the start instead (slow but exact).

Errors: a missing file raises :class:`FileNotFoundError`; any other problem (no video stream,
zero frames, unreadable or corrupt data, an index out of range, negative indices included)
raises :class:`VideoDecodeError`, a :class:`RuntimeError` whose message names the file, so a
dataset can catch it and skip the sample.

The container is opened per call and closed in ``finally``, which is safe in DataLoader workers;
the decoder uses one thread (``DECODER_THREADS``) because the workers already run in parallel.
:func:`verify` decodes every frame against the index (the dataset checker).
``scripts/bench_decode.py`` measures :func:`read_frames` against torchcodec and decord.

:func:`write_video` writes test and synthetic videos (libx264 lossless by default; mpeg4 for
``.avi``; VP9 or VP8 for ``.webm``). :func:`iter_frames` decodes every frame in order, resized
(frame extraction), and :func:`reencode` rewrites a video as short-side-256 H.264 with a short
GOP, the layout that makes sparse sampling fast (``lightning-vid-data reencode``).

The module is past the project's 400-line guide because every PyAV call lives here.
"""

from __future__ import annotations

import errno
import itertools
import os
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence, Union

import numpy as np
import torch

__all__ = ["VIDEO_EXTENSIONS", "VideoDecodeError", "clear_index_cache", "count_frames",
           "iter_frames", "read_frames", "reencode", "scaled_size", "verify", "write_video"]

PathLike = Union[str, "os.PathLike[str]"]
IndexLike = Union[Sequence[int], np.ndarray, torch.Tensor]

#: File suffixes taken for videos when folders are searched (and by ``predict_list``).
VIDEO_EXTENSIONS = (".mp4", ".webm", ".avi", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".flv")
#: Decoder threads per call; DataLoader workers parallelise across videos.
DECODER_THREADS = 1
#: Earlier keyframes tried after a seek overshoots, before decoding from the first keyframe.
_SEEK_RETRIES = 2
#: A keyframe at most this many frames ahead of the decoder is reached by decoding, not seeking.
_SEEK_GAP = 8
#: Skip decoding unwanted non-reference frames (``skip_frame="NONREF"``); exact, and faster.
SKIP_NONREF = True
_INDEX_CACHE_SIZE = 512
#: format options of a quick open: read no packet to probe the streams (see ``_open``)
_QUICK_PROBE = {"probesize": "32", "analyzeduration": "0"}
_INDEX_CACHE: "OrderedDict[tuple[str, int, int], _FrameIndex]" = OrderedDict()  # LRU per process
_CACHE_LOCK = threading.Lock()


class VideoDecodeError(RuntimeError):
    """A video that exists but cannot give the requested frames.

    Args:
        path: the video file.
        reason: what went wrong, in words.
    """

    def __init__(self, path: PathLike, reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"cannot decode video {self.path!r}: {reason}")

    def __reduce__(self) -> tuple:  # picklable across DataLoader worker processes
        return type(self), (self.path, self.reason)


@dataclass(frozen=True)
class _FrameIndex:
    """Per-file index: ``pts[i]`` is frame i's timestamp, ``keys`` the keyframes' positions."""

    count: int
    pts: Optional[np.ndarray]  # (count,) sorted; None when frames cannot be mapped to pts
    keys: np.ndarray  # sorted positions (into pts) of keyframe packets
    reordered: bool = True  # packets come out of presentation order (B-frames)


# --------------------------------------------------------------------------------------------
# opening and indexing
# --------------------------------------------------------------------------------------------


def _why(err: Exception) -> str:
    """FFmpeg's reason without the errno and the path the message already names."""
    return getattr(err, "strerror", None) or str(err)


def _open(path: PathLike, quick: bool = False) -> Any:
    """Open ``path`` for reading, with the project's error types.

    ``quick`` skips the stream probing that decodes frames before any is asked for (FFmpeg's
    ``find_stream_info`` decodes up to ~7 frames to guess an H.264 stream's reorder delay when
    its header does not say: 16 ms of a 720p clip's 350). The guess matters only for reordered
    frames in a stream whose header omits the delay, where a read may fail and is then made
    again after a full open (:func:`_quick_then_full`); a container whose streams are only
    known by probing (no video stream or no size without it) is opened again in full.
    """
    import av

    if not os.path.isfile(path):
        raise FileNotFoundError(errno.ENOENT, "video file not found", os.fspath(path))
    try:
        container = av.open(os.fspath(path), mode="r", options=_QUICK_PROBE if quick else None)
    except (av.FFmpegError, UnicodeDecodeError) as err:
        raise VideoDecodeError(path, f"cannot open container ({_why(err)})") from err
    if quick and not (container.streams.video and container.streams.video[0].width):
        container.close()
        return _open(path)
    return container


def _video_stream(container: Any, path: PathLike) -> Any:
    """The first video stream of ``container``, set up for single-threaded decoding."""
    if not container.streams.video:
        raise VideoDecodeError(path, "no video stream")
    stream = container.streams.video[0]
    stream.codec_context.thread_count = DECODER_THREADS
    return stream


def _build_index(container: Any, stream: Any) -> _FrameIndex:
    """Demux (without decoding) the video packets and index them by ``pts``."""
    pts, keys = [], []
    for packet in container.demux(stream):
        if packet.size == 0 or packet.is_discard:
            continue  # the flush packet at EOF, or a frame the decoder will drop
        pts.append(packet.pts)
        keys.append(bool(packet.is_keyframe))
    count = len(pts)
    if count == 0 or any(p is None for p in pts) or len(set(pts)) != count:
        return _FrameIndex(count=count, pts=None, keys=np.zeros(0, dtype=np.int64))
    in_order = np.asarray(pts, dtype=np.int64)
    order = np.argsort(in_order, kind="stable")
    sorted_pts = in_order[order]
    keys_pos = np.flatnonzero(np.asarray(keys, dtype=bool)[order])
    sorted_pts.flags.writeable = False
    keys_pos.flags.writeable = False
    reordered = bool((np.diff(in_order) < 0).any())
    return _FrameIndex(count=count, pts=sorted_pts, keys=keys_pos, reordered=reordered)


def _index_key(path: PathLike) -> tuple[str, int, int]:
    """Cache key ``(absolute path, mtime_ns, size)``: a rewritten file gets a new index."""
    path = os.path.abspath(os.fspath(path))
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "video file not found", path) from None
    return path, stat.st_mtime_ns, stat.st_size


def _cached(key: tuple[str, int, int]) -> Optional[_FrameIndex]:
    with _CACHE_LOCK:
        index = _INDEX_CACHE.get(key)
        if index is not None:
            _INDEX_CACHE.move_to_end(key)
        return index


def _new_index(key: tuple[str, int, int], path: PathLike, container: Any,
               stream: Any) -> _FrameIndex:
    """The index of ``container`` (demuxed to its end), cached under ``key``."""
    import av

    try:
        index = _build_index(container, stream)
    except av.FFmpegError as err:
        raise VideoDecodeError(path, f"demuxing failed ({_why(err)})") from err
    if index.count == 0:
        raise VideoDecodeError(path, "the video stream has no frames")
    with _CACHE_LOCK:
        _INDEX_CACHE[key] = index
        while len(_INDEX_CACHE) > _INDEX_CACHE_SIZE:
            _INDEX_CACHE.popitem(last=False)
    return index


def _open_indexed(path: PathLike, quick: bool) -> tuple[Any, Any, _FrameIndex, bool]:
    """Open ``path`` (``quick``: see :func:`_open`) with its frame index: ``(container, stream,
    index, at_start)``; ``at_start``: nothing was read yet (else the index was just built by
    demuxing to the end)."""
    key = _index_key(path)
    index = _cached(key)
    container = _open(path, quick)
    try:
        stream = _video_stream(container, path)
        if index is not None:
            return container, stream, index, True
        return container, stream, _new_index(key, path, container, stream), False
    except BaseException:
        container.close()
        raise


def _quick_then_full(path: PathLike, read: Callable[[bool], Any]) -> Any:
    """``read(quick=True)``; for a stream with reordered frames whose quick read failed (a
    decoder that had to guess the reorder delay can hand frames out of order, which the reads
    detect: frames are matched by pts, never by arrival), ``read(quick=False)``."""
    try:
        return read(True)
    except VideoDecodeError:
        index = _cached(_index_key(path))
        if index is None or not index.reordered:
            raise
    return read(False)


def clear_index_cache() -> None:
    """Forget every cached frame index (they are also refreshed when a file changes)."""
    with _CACHE_LOCK:
        _INDEX_CACHE.clear()


def count_frames(path: PathLike) -> int:
    """Number of frames :func:`read_frames` can return for ``path``.

    Counted as the non-empty, non-discarded video packets found by demuxing the file (cheap:
    nothing is decoded; cached per process), not read from the header.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        VideoDecodeError: no video stream, zero frames, or an unreadable container.
    """
    key = _index_key(path)
    index = _cached(key)
    if index is not None:
        return index.count
    container = _open(path, quick=True)  # demuxing needs no decoder
    try:
        return _new_index(key, path, container, _video_stream(container, path)).count
    finally:
        container.close()


# --------------------------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------------------------


def _as_indices(indices: IndexLike, path: PathLike, count: int) -> np.ndarray:
    """``indices`` as a 1-D int64 array, each checked to be in ``[0, count)``."""
    array = indices.detach().cpu().numpy() if torch.is_tensor(indices) else np.asarray(indices)
    array = array.reshape(-1) if array.ndim == 0 else array
    if array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"indices must be a 1-D sequence of integers, got {array.dtype}")
    array = array.astype(np.int64)
    bad = array[(array < 0) | (array >= count)]
    if bad.size:
        raise VideoDecodeError(path, f"frame index {int(bad[0])} out of range [0, {count})")
    return array


def _runs(index: _FrameIndex, wanted: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Group sorted unique positions by the keyframe run they belong to.

    Returns ``(k, positions)`` pairs where ``k`` indexes ``index.keys`` (-1: before any keyframe).
    """
    key_of = np.searchsorted(index.keys, wanted, side="right") - 1
    starts = np.flatnonzero(np.diff(key_of, prepend=-2))
    return [(int(key_of[s]), wanted[s:e]) for s, e in zip(starts, [*starts[1:], len(wanted)])]


class _Frames:
    """The output of one read, uint8 ``(N, H, W, 3)``, filled in place as frames are decoded.

    Each wanted frame is converted to RGB once, by one swscale context for the whole read with
    one thread (PyAV's ``frame.to_ndarray(format="rgb24")`` builds a new context per frame whose
    default is one thread per CPU, started for each frame: 0.84 against 0.06 ms of CPU per
    320x240 frame here), and copied straight into its row(s) of the output: no stacking and
    no reordering copy afterwards.

    Args:
        path: the video (for error messages).
        inverse: for each output row, the rank of its frame among the sorted unique positions.
    """

    def __init__(self, path: PathLike, inverse: np.ndarray) -> None:
        from av.video.reformatter import VideoReformatter

        self.path = path
        self.reformatter = VideoReformatter()
        order = np.argsort(inverse, kind="stable")
        counts = np.bincount(inverse)
        self.rows = np.split(order, np.cumsum(counts)[:-1])  # rows[k]: output rows of rank k
        self.size = len(inverse)
        self.out: Optional[np.ndarray] = None

    def rgb(self, frame: Any) -> np.ndarray:
        """``frame`` as an RGB array (a view of a buffer that the next call may reuse)."""
        return self.reformatter.reformat(frame, format="rgb24", threads=1).to_ndarray()

    def store(self, rank: int, frame: Any) -> None:
        """Convert ``frame`` (the ``rank``-th unique wanted position) into its output rows."""
        rgb = self.rgb(frame)
        if self.out is None:
            self.out = np.empty((self.size, *rgb.shape), dtype=np.uint8)
        elif rgb.shape != self.out.shape[1:]:
            raise VideoDecodeError(self.path, f"frames of different sizes ({rgb.shape[:2]} "
                                              f"after {self.out.shape[1:3]})")
        rows = self.rows[rank]
        if len(rows) == 1:
            self.out[rows[0]] = rgb
        else:
            self.out[rows] = rgb


class _Cursor:
    """Decodes forward from the container's position and hands out frames in output order.

    Frames decoded from one packet but not consumed yet stay in ``pending``, so a later run can
    go on decoding without a seek. Packets of frames outside ``keep`` (pts) are decoded with
    ``skip_frame="NONREF"``: the decoder drops frames no other frame references (most
    B-frames), which changes no other frame; wanted frames are always decoded.
    """

    def __init__(self, container: Any, stream: Any, keep: np.ndarray) -> None:
        self.container, self.stream = container, stream
        self.keep = set(keep.tolist())
        self.context = stream.codec_context
        self.skip = SKIP_NONREF and self.context.thread_count == 1  # per-packet switch is exact
        self.skipping = False
        self.restart()

    def restart(self) -> None:
        """After a seek: read packets from the new position, drop what was pending."""
        self.packets = self.container.demux(self.stream)
        self.pending: deque = deque()

    def frames(self) -> Iterator[Any]:
        while True:
            while self.pending:
                yield self.pending.popleft()
            packet = next(self.packets, None)
            if packet is None:
                return
            if self.skip:
                skip = packet.pts not in self.keep
                if skip != self.skipping:  # switch only on a change: most packets keep it
                    self.context.skip_frame = "NONREF" if skip else "DEFAULT"
                    self.skipping = skip
            self.pending.extend(packet.decode())

    def collect(self, targets: list[int], first: int, sink: _Frames) -> int:
        """Decode forward and store the frames whose pts are ``targets`` (sorted) as ranks
        ``first``, ``first + 1``, ...; returns how many were stored before a target was passed
        without being seen (the seek overshot) or the stream ended."""
        done, target = 0, targets[0]
        for frame in self.frames():
            pts = frame.pts
            if pts is None or pts < target:
                continue  # before the wanted frame (or a leading frame of an open GOP)
            if pts > target:
                return done
            sink.store(first + done, frame)
            done += 1
            if done == len(targets):
                return done
            target = targets[done]
        return done


def _seek_plan(index: _FrameIndex, key: int) -> list[int]:
    """Positions to start decoding from for keyframe run ``key``, best first: the run's
    keyframe, up to ``_SEEK_RETRIES`` earlier keyframes, then frame 0."""
    plan = [int(index.keys[k]) for k in range(key, max(key - _SEEK_RETRIES, 0) - 1, -1)]
    return list(dict.fromkeys([*plan, 0]))


def _decode_run(cursor: _Cursor, index: _FrameIndex, key: int, targets: list[int], first: int,
                sink: _Frames, position: Optional[int]) -> int:
    """Store the frames with pts ``targets`` (sorted) of keyframe run ``key``; returns how
    many were found (all of them, unless the file is damaged).

    ``position`` is the last frame the cursor decoded (-1: none yet, the container is at its
    start; ``None``: unknown). When the run's keyframe is at most ``_SEEK_GAP`` frames ahead
    of it, decoding simply goes on (a seek would cost more); otherwise it seeks to the
    keyframe, retrying from earlier positions if the seek landed after a target.
    """
    keyframe = int(index.keys[key]) if key >= 0 else 0
    done = 0
    if position is not None and keyframe - position <= _SEEK_GAP:
        done = cursor.collect(targets, first, sink)
        if done == len(targets):
            return done
    for start in _seek_plan(index, key):
        cursor.container.seek(int(index.pts[start]), backward=True, any_frame=False,
                              stream=cursor.stream)
        cursor.restart()
        done = cursor.collect(targets, first, sink)
        if done == len(targets):
            return done
    return done


def _decode_indexed(container: Any, stream: Any, index: _FrameIndex, path: PathLike,
                    wanted: np.ndarray, sink: _Frames, at_start: bool) -> None:
    """Store the frames at the sorted unique positions ``wanted``, at most one seek per
    keyframe run; ``at_start``: the container was not read yet, so decoding can begin
    without a seek."""
    cursor = _Cursor(container, stream, index.pts[wanted])
    position: Optional[int] = -1 if at_start else None
    first = 0
    for key, positions in _runs(index, wanted):
        targets = index.pts[positions].tolist()
        done = _decode_run(cursor, index, key, targets, first, sink, position)
        if done < len(targets):
            raise VideoDecodeError(path, f"frame {int(positions[done])} was not produced by "
                                         "the decoder")
        position = int(positions[-1])
        first += len(targets)


def _decode_sequential(container: Any, stream: Any, path: PathLike, wanted: np.ndarray,
                       sink: _Frames) -> None:
    """Store the frames at the sorted unique positions ``wanted``, decoding from the start."""
    todo = wanted.tolist()
    done = 0
    for position, frame in enumerate(container.decode(stream)):
        if position == todo[done]:
            sink.store(done, frame)
            done += 1
            if done == len(todo):
                return
    raise VideoDecodeError(path, f"frame {todo[done]} was not produced by the decoder")


def read_frames(path: PathLike, indices: IndexLike) -> torch.Tensor:
    """Frames of ``path`` at 0-based presentation-order positions ``indices``.

    Args:
        path: a video file PyAV can read.
        indices: 1-D integers in ``[0, count_frames(path))``, in any order, repeats allowed
            (list, tuple, numpy array or tensor).

    Returns:
        uint8 tensor ``(len(indices), H, W, 3)``, RGB, in the order of ``indices``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        VideoDecodeError: no video stream, zero frames, corrupt data or an index out of range.

    Example:
        >>> import tempfile, numpy as np
        >>> video = np.zeros((6, 16, 16, 3), dtype=np.uint8)
        >>> video[:] = (np.arange(6) * 40).reshape(6, 1, 1, 1)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     write_video(f"{tmp}/v.mp4", video)
        ...     clip = read_frames(f"{tmp}/v.mp4", [5, 0, 5])
        >>> tuple(clip.shape), clip[:, 8, 8, 0].tolist()
        ((3, 16, 16, 3), [200, 0, 200])
    """
    return _quick_then_full(path, lambda quick: _read(path, indices, quick))


def _read(path: PathLike, indices: IndexLike, quick: bool) -> torch.Tensor:
    import av

    container, stream, index, at_start = _open_indexed(path, quick)
    try:
        wanted = _as_indices(indices, path, index.count)
        if wanted.size == 0:
            return torch.empty((0, stream.height, stream.width, 3), dtype=torch.uint8)
        unique, inverse = np.unique(wanted, return_inverse=True)
        sink = _Frames(path, inverse.reshape(-1))
        if index.pts is not None:
            _decode_indexed(container, stream, index, path, unique, sink, at_start)
        else:
            if not at_start:  # demuxed to the end: reopen rather than trust a seek to 0
                container.close()
                container = _open(path, quick)
                stream = _video_stream(container, path)
            _decode_sequential(container, stream, path, unique, sink)
    except av.FFmpegError as err:
        raise VideoDecodeError(path, f"decoding failed ({_why(err)})") from err
    finally:
        container.close()
    return torch.from_numpy(sink.out)


def verify(path: PathLike) -> int:
    """Decode every frame of ``path`` in order and convert each to RGB, checking each against
    the frame index :func:`read_frames` uses; returns the number of frames.

    A file that passes gives every frame to :func:`read_frames`; one that does not raises
    the error a read of the failing frame would raise (the dataset checker runs this).

    Raises:
        FileNotFoundError, VideoDecodeError: as :func:`read_frames`, naming the first frame
            that cannot be decoded.
    """
    return _quick_then_full(path, lambda quick: _verify(path, quick))


def _verify(path: PathLike, quick: bool) -> int:
    import av

    container, stream, index, at_start = _open_indexed(path, quick)
    position = 0
    try:
        if not at_start:  # demuxed to the end: decode from a fresh start
            container.close()
            container = _open(path, quick)
            stream = _video_stream(container, path)
        sink = _Frames(path, np.zeros(1, dtype=np.int64))
        expected = index.pts.tolist() if index.pts is not None else None
        for frame in container.decode(stream):
            if position >= index.count:
                break  # more frames than packets: read_frames never asks for these
            if expected is not None and frame.pts != expected[position]:
                raise VideoDecodeError(path, f"frame {position} was not produced by the "
                                             f"decoder (pts {frame.pts}, expected "
                                             f"{expected[position]})")
            sink.store(0, frame)
            position += 1
    except av.FFmpegError as err:
        raise VideoDecodeError(path, f"decoding failed at frame {position} ({_why(err)})") from err
    finally:
        container.close()
    if position < index.count:
        raise VideoDecodeError(path, f"frame {position} was not produced by the decoder "
                                     f"(the stream has {index.count} packets)")
    return index.count


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------

_CODEC_BY_SUFFIX = {".avi": "mpeg4", ".webm": "libvpx-vp9"}
_DEFAULT_OPTIONS: dict[str, dict[str, str]] = {
    "libx264": {"crf": "0", "preset": "veryfast"},
    "libx264rgb": {"crf": "0", "preset": "veryfast"},
    "mpeg4": {"qmin": "1", "qmax": "2"},
    "libvpx-vp9": {"lossless": "1", "deadline": "good", "cpu-used": "5"},
    "libvpx": {"crf": "4", "b": "20M", "deadline": "realtime", "cpu-used": "8"},
}
_PIX_FMT = {"libx264rgb": "rgb24"}


def _pick_codec(path: PathLike, codec: Optional[str]) -> str:
    """``codec`` or the default for the file suffix; checks the av build has it."""
    import av

    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if codec is None:
        codec = _CODEC_BY_SUFFIX.get(suffix, "libx264")
        if codec == "libvpx-vp9" and codec not in av.codecs_available:
            codec = "libvpx"
    if codec not in av.codecs_available:
        raise ValueError(f"codec {codec!r} is not available in this PyAV build")
    return codec


def write_video(path: PathLike,
                frames: Union[np.ndarray, torch.Tensor, Iterable[np.ndarray]],
                fps: Union[int, float, Fraction] = 25, codec: Optional[str] = None,
                options: Optional[Mapping[str, str]] = None) -> None:
    """Write uint8 RGB ``frames`` ``(T, H, W, 3)`` to ``path`` with PyAV.

    Args:
        path: output file; its suffix picks the container.
        frames: uint8 ``(T, H, W, 3)`` array or tensor, or an iterable of ``(H, W, 3)``
            arrays (long videos without holding them in memory).
        fps: frame rate.
        codec: encoder name; ``None`` picks ``mpeg4`` for ``.avi``, ``libvpx-vp9`` (else
            ``libvpx``) for ``.webm`` and ``libx264`` otherwise.
        options: encoder options merged over the codec's defaults, e.g. ``{"g": "250",
            "bf": "2"}`` for long GOPs with B-frames. Defaults are near-lossless: x264
            ``crf=0`` (lossless in YUV 4:2:0; ``libx264rgb`` is lossless in RGB), mpeg4 with
            quantiser 1-2, lossless VP9, VP8 at high bit rate. Lossless x264 never uses
            B-frames: pass ``crf`` > 0 (and ``"x264-params": "b-adapt=0"`` to force them).

    Every codec but ``libx264rgb`` stores yuv420p, which needs even ``H`` and ``W``.
    """
    import av

    if torch.is_tensor(frames):
        frames = frames.detach().cpu().numpy()
    images = iter(frames)
    first = next(images, None)
    first = np.asarray(first) if first is not None else np.zeros((0, 0, 0), np.uint8)
    if first.dtype != np.uint8 or first.ndim != 3 or first.shape[-1] != 3:
        shape = (len(frames), *first.shape) if hasattr(frames, "__len__") else first.shape
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {first.dtype} {shape}")
    codec = _pick_codec(path, codec)
    pix_fmt = _PIX_FMT.get(codec, "yuv420p")
    height, width = first.shape[:2]
    if pix_fmt == "yuv420p" and (height % 2 or width % 2):
        raise ValueError(f"{codec} writes yuv420p, which needs even H and W, got {height}x{width}")
    with av.open(os.fspath(path), mode="w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = {**_DEFAULT_OPTIONS.get(codec, {}), **(options or {})}
        for image in itertools.chain([first], images):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


# --------------------------------------------------------------------------------------------
# sequential decoding with resizing: frame extraction and re-encoding
# --------------------------------------------------------------------------------------------


def scaled_size(width: int, height: int, short_side: Optional[int],
                even: bool = False) -> tuple[int, int]:
    """``(width, height)`` rescaled so the shorter side is ``short_side`` (aspect kept, rounded;
    ``None`` or 0 keeps the size); ``even`` rounds both up to even numbers (yuv420p).

    >>> scaled_size(640, 360, 256), scaled_size(360, 640, 256, even=True), scaled_size(7, 5, None)
    ((455, 256), (256, 456), (7, 5))
    """
    if short_side:
        scale = short_side / min(width, height)
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
    if even:
        width, height = width + width % 2, height + height % 2
    return width, height


def _frames_in_order(container: Any, stream: Any, path: PathLike) -> Iterator[Any]:
    """Every decoded frame; decoder failures as :class:`VideoDecodeError`."""
    import av

    try:
        yield from container.decode(stream)
    except av.FFmpegError as err:
        raise VideoDecodeError(path, f"decoding failed ({_why(err)})") from err


def iter_frames(path: PathLike, short_side: Optional[int] = None) -> Iterator[np.ndarray]:
    """Every frame of ``path`` in presentation order as RGB uint8 ``(H, W, 3)``.

    Args:
        path: a video file.
        short_side: resize so the shorter side has this length (area interpolation);
            ``None`` keeps the decoded size.

    Raises:
        FileNotFoundError, VideoDecodeError: as :func:`read_frames` (possibly after some frames).
    """
    from av.video.reformatter import VideoReformatter

    container = _open(path)
    try:
        stream = _video_stream(container, path)
        size, reformatter = None, VideoReformatter()  # one swscale context, one thread
        for frame in _frames_in_order(container, stream, path):
            size = size or scaled_size(frame.width, frame.height, short_side)
            yield reformatter.reformat(frame, width=size[0], height=size[1], format="rgb24",
                                       interpolation="AREA", threads=1).to_ndarray()
    finally:
        container.close()


def reencode(src: PathLike, dst: PathLike, short_side: Optional[int] = 256, gop: int = 16,
             crf: int = 23, preset: str = "veryfast", codec: str = "libx264") -> int:
    """Re-encode the video stream of ``src`` to ``dst``: resized, constant frame rate, a
    keyframe at least every ``gop`` frames; audio is dropped.

    The frames keep their order and number, so frame ``i`` of ``dst`` is frame ``i`` of
    ``src`` and annotations stay valid. A short GOP bounds what sparse sampling decodes per
    wanted frame to ``gop`` frames.

    Args:
        src: input video.
        dst: output file (its suffix picks the container, e.g. ``.mp4``).
        short_side: the shorter side of the output (rounded up to even; ``None``: keep).
        gop: maximum keyframe interval (x264 may add keyframes at scene cuts).
        crf, preset: x264 quality and speed.
        codec: the encoder.

    Returns:
        The number of frames written.

    Raises:
        FileNotFoundError, VideoDecodeError: ``src`` is missing or cannot be decoded.
    """
    import av
    from av.video.reformatter import VideoReformatter

    codec = _pick_codec(dst, codec)
    source = _open(src)
    written = 0
    try:
        in_stream = _video_stream(source, src)
        rate = in_stream.average_rate or in_stream.guessed_rate or Fraction(25)
        reformatter = VideoReformatter()  # one swscale context, one thread
        with av.open(os.fspath(dst), mode="w") as sink:
            out = sink.add_stream(codec, rate=Fraction(rate).limit_denominator(1001))
            out.pix_fmt = "yuv420p"
            out.options = {"crf": str(crf), "preset": preset, "g": str(gop)}
            for frame in _frames_in_order(source, in_stream, src):
                if not written:
                    out.width, out.height = scaled_size(frame.width, frame.height, short_side,
                                                        even=True)
                image = reformatter.reformat(frame, width=out.width, height=out.height,
                                             format="yuv420p", interpolation="AREA", threads=1)
                image.pts, image.time_base = written, 1 / out.average_rate  # constant rate
                sink.mux(out.encode(image))
                written += 1
            if not written:
                raise VideoDecodeError(src, "the video stream has no frames")
            sink.mux(out.encode(None))
    finally:
        source.close()
    return written
