"""DataLoader worker setup: one thread, flat memory, and no death by the signals that stop a run.

Every loader of the data modules (and the checker's job processes) starts its workers with
:func:`worker_init`.

Ctrl-C reaches the whole foreground process group, and SLURM and Kubernetes send SIGTERM to
every process of a job: a worker ignores Ctrl-C and its first SIGTERM and keeps serving its
main process, which stops where it can, saves and shuts the workers down
(:class:`~lightning_vid.callbacks.StopOnSignal`); a second SIGTERM (the loader's
``terminate()`` of a worker that did not stop) ends it. A worker killed by the signal made the
main process fail with ``DataLoader worker (pid ...) is killed by signal``. A process that
simply ends with its loaders' persistent workers alive (a script or notebook that read a few
batches) would then wait forever: Python's exit sends each daemonic child one SIGTERM and joins
it. :func:`end_workers_at_exit`, which every loader with workers calls, sends the second.

glibc raises its mmap threshold to the size of the largest buffer freed so far, after which
decoded frames and clips (hundreds of KiB to a few MiB) are carved from the heap, which then
grows by fragmentation and by copy-on-write of the pages a forked worker inherits. Fixing the
threshold at 128 KiB (``mallopt(M_MMAP_THRESHOLD)``) keeps such buffers mapped per allocation
and returned when freed: worker memory stays flat over an epoch (``scripts/bench_data.py``
measures it). Elsewhere than glibc this part does nothing.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import time
from typing import Any

_M_MMAP_THRESHOLD = -3  # <malloc.h>
MMAP_THRESHOLD = 128 * 1024


def _on_worker_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second one (the loader's shutdown) ends it


_exit_hook_registered = False


def end_workers_at_exit() -> None:
    """In the main process: at exit, end the loader workers still alive (once per process).

    Registered after ``multiprocessing``'s own exit hook, it runs before it (``atexit`` runs
    last-registered first): each daemonic child gets its first SIGTERM (which the worker's
    handler turns back to the default), then a second one that ends it; one still alive after
    2 s is killed. Daemonic children are ended at exit anyway; this only adds the second signal.
    """
    global _exit_hook_registered
    if not _exit_hook_registered:
        atexit.register(_end_workers)
        _exit_hook_registered = True


def _end_workers() -> None:
    children = [c for c in multiprocessing.active_children() if c.daemon]
    for child in children:
        child.terminate()
    time.sleep(0.1)  # the handler runs as soon as the worker's wait is interrupted
    for child in children:
        if child.is_alive():
            child.terminate()
    for child in children:
        child.join(2)
        if child.is_alive():
            child.kill()
            child.join()


def fixed_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``size`` bytes; False where the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, size))
    except (OSError, AttributeError):  # not glibc
        return False


def worker_init(_: int = 0) -> None:
    """A DataLoader worker's ``worker_init_fn``: see the module docstring."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_worker_sigterm)
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    fixed_mmap_threshold()
