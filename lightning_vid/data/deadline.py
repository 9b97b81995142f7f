"""A time limit for one decode, so a pathological file cannot hang a worker.

:func:`time_limit` arms ``SIGALRM`` for the duration of a block and raises
:class:`TimeoutError` (an ``OSError``, so the dataset's bad-file policy skips the sample) when
it runs out. PyAV hands control back to Python between packets, where the signal lands.
Signals reach only the main thread of a process: in DataLoader workers and in a single-process
loop that is where decoding runs; anywhere else (threads, Windows, or when another timer is
already armed) the block runs without a limit.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator, Optional


@contextmanager
def time_limit(seconds: Optional[float], what: str = "operation") -> Iterator[None]:
    """Raise ``TimeoutError(f"{what}: no result after {seconds} s")`` if the block runs longer.

    >>> with time_limit(5, "decoding"):
    ...     pass
    """
    usable = (
        seconds is not None and seconds > 0 and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0  # do not steal someone else's timer
    )
    if not usable:
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"{what}: no result after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
