"""How many threads tmt's ops run on: ``set_num_threads(n)`` and ``get_num_threads()``, as
``torch.set_num_threads`` / ``torch.get_num_threads``.

By default the ops use one thread per core (at most 8), or ``TMT_NUM_THREADS`` when it is set
(``TMT_NUM_THREADS=1`` turns tmt's threads off and leaves NumPy's BLAS with its own threads).
``set_num_threads(n)`` takes over from both, at once, from then on: the ops run
on ``n`` threads and BLAS on one (tmt splits the big matmuls over its own threads), so
``set_num_threads(1)`` keeps the whole process on one core. ``fit(..., processes=2)`` does that
in each of its processes.

This module only holds the number; the op families' thread pool (tmt_ops) reads it.
"""

from __future__ import annotations

import os

__all__ = ["set_num_threads", "get_num_threads", "default_num_threads", "usable_cores"]

MAX_DEFAULT = 8

requested = 0  # set by set_num_threads; 0: not set, the default applies


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_num_threads() -> int:
    """``TMT_NUM_THREADS`` when it is a positive integer, else one per usable core (at most 8)."""
    told = os.environ.get("TMT_NUM_THREADS", "")
    if told.isdigit() and int(told) > 0:
        return int(told)
    return min(usable_cores(), MAX_DEFAULT)


def set_num_threads(n: int) -> None:
    """Run tmt's ops on ``n`` threads (and BLAS on one) from now on."""
    global requested
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be an integer >= 1, got {n!r}")
    requested = n


def get_num_threads() -> int:
    """The threads tmt's ops run on: what :func:`set_num_threads` set, else the default."""
    return requested or default_num_threads()
