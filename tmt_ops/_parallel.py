"""Split one big elementwise pass over the batch axis and run the pieces on every core (private).

NumPy runs a ufunc or a copy on one core, but it releases the GIL while doing so: two threads
working on disjoint slices of the same arrays really run at once. BLAS already uses every core
for the matmuls; this helper does the same for the copies and slice-adds around them (col2im,
pooling), which is what PyTorch does with its own thread pool.

    def task(start, stop):                 # must only write rows start:stop of its outputs
        out[start:stop] = np.maximum(a[start:stop], b[start:stop])

    over_batch(len(out), out.size, task)

Small passes (under ``_MIN_ELEMENTS``) stay on the calling thread: handing work to a thread
costs tens of microseconds. ``TMT_NUM_THREADS`` sets the thread count (default: one per core,
at most 8; 1 turns this off).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

_MIN_ELEMENTS = 1 << 17  # below ~128k elements a pass takes < 0.1 ms: not worth a hand-off


def _threads() -> int:
    told = os.environ.get("TMT_NUM_THREADS", "")
    if told.isdigit() and int(told) > 0:
        return int(told)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(cores, 8)


class _Workers:
    """One pool per process: a child of ``fork`` gets a fresh pool (the parent's threads do
    not exist in the child)."""

    def __init__(self) -> None:
        self.pid = -1
        self.pool: ThreadPoolExecutor | None = None
        self.count = 1

    def get(self) -> tuple[ThreadPoolExecutor | None, int]:
        if self.pid != os.getpid():
            self.pid, self.count = os.getpid(), _threads()
            self.pool = ThreadPoolExecutor(self.count - 1, "tmt-ops") if self.count > 1 else None
        return self.pool, self.count


_WORKERS = _Workers()


def over_batch(length: int, elements: int, task: Callable[[int, int], None]) -> None:
    """Run ``task(start, stop)`` over ``range(length)`` cut into one contiguous chunk per
    thread (the calling thread takes the first). ``elements`` is the size of the pass."""
    pool, count = _WORKERS.get()
    count = min(count, length)
    if pool is None or count < 2 or elements < _MIN_ELEMENTS:
        task(0, length)
        return
    bounds = [length * i // count for i in range(count + 1)]
    pending = [pool.submit(task, bounds[i], bounds[i + 1]) for i in range(1, count)]
    task(bounds[0], bounds[1])
    for future in pending:
        future.result()  # re-raises an exception from the worker
