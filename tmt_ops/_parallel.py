"""One pool of threads for the heavy passes of the ops: copies, elementwise passes, matmuls
(private).

NumPy runs a ufunc or a copy on one core, but it releases the GIL while doing so: two threads
working on disjoint slices of the same arrays really run at once. :func:`over_batch` splits
one big pass over the batch axis and runs the pieces on every core, which is what PyTorch does
with its intra-op thread pool:

    def task(start, stop):                 # must only write rows start:stop of its outputs
        out[start:stop] = np.maximum(a[start:stop], b[start:stop])

    over_batch(len(out), out.size, task)

The matmuls go through the same pool (:func:`matmul`, :func:`matmuls`: a Tensor's ``@``, the
linear layers): at the first of those or the first split pass, NumPy's OpenBLAS is set to one
thread (``_blas`` says how), for three reasons. Its idle threads spin on the cores tmt's
threads want. It runs small products slower on two threads than on one (a 128x128x64 product:
26 against 21 µs). And a layer's weight that BLAS threads read on both cores must be taken
back from the other core's cache when the optimizer writes it: the SGD step of an MLP
(784-128-64-10, batch 128) took 150 µs after a two-thread forward pass, 50 µs after a
one-thread one, and the whole step 0.72 -> 0.67 ms. Big products are split over tmt's threads
instead. Where BLAS cannot be set (not OpenBLAS, not Linux) it keeps its own threads, and
:func:`matmul` is plain ``a @ b``.

Small passes (under ``_MIN_ELEMENTS``) stay on the calling thread: handing work to a thread
costs tens of microseconds. The thread count is :func:`tmt_core.threads.get_num_threads`'s:
``TMT_NUM_THREADS`` or one per core (at most 8), where ``TMT_NUM_THREADS=1`` turns tmt's threads
off and leaves BLAS's threads alone; ``tmt_core.set_num_threads(n)`` overrides it at any time,
BLAS then on one thread whatever ``n``.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Callable

import numpy as np

from tmt_core import threads as _told

from ._blas import set_threads as set_blas_threads

_MIN_ELEMENTS = 1 << 17  # below ~128k elements a pass takes < 0.1 ms: not worth a hand-off
_MIN_MATMUL = 1 << 24  # multiply-adds; below ~16M, splitting costs more than it saves (each
# thread packs the whole right operand: measured on the 128x784x128 matmul of an MLP layer)
_MIN_SIDE_BY_SIDE = 1 << 23  # multiply-adds of each of several products run side by side


class _Workers:
    """The process's pool, started on first use. A child of ``fork`` starts its own."""

    def __init__(self) -> None:
        self.pool: ThreadPoolExecutor | None = None
        self.count = 1
        self.default = 1  # get_num_threads() when the pool started, before any set_num_threads
        self.started = False
        self.splits_matmuls = False
        self._asked_blas = False
        self._blas_before: int | None = None
        self._starting = threading.Lock()

    def get(self) -> tuple[ThreadPoolExecutor | None, int]:
        if not self.started or (_told.requested or self.default) != self.count:
            with self._starting:  # two user threads starting tmt at once make one pool
                if not self.started:
                    self.default = _told.default_num_threads()
                wanted = _told.requested or self.default
                if not self.started or wanted != self.count:
                    self._start(wanted)
        return self.pool, self.count

    def _start(self, count: int) -> None:
        """A pool of ``count - 1`` threads (the caller is the first), replacing any other. The
        old one is not shut down: a thread may be handing it work right now; its threads exit
        once nobody holds it."""
        self.count = count
        self.pool = ThreadPoolExecutor(count - 1, "tmt-ops") if count > 1 else None
        self.started = True

    def take_over_from_blas(self) -> None:
        """Once: BLAS to one thread, and the big matmuls to this pool."""
        if not self._asked_blas:
            self._asked_blas = True
            self._blas_before = set_blas_threads(1)
            self.splits_matmuls = self._blas_before is not None

    def give_back_to_blas(self) -> None:
        """BLAS gets back the threads it had, now that tmt runs none of its own (after
        ``set_num_threads`` ended with ``TMT_NUM_THREADS=1``, e.g. fit's processes)."""
        if self._asked_blas:
            self._asked_blas, self.splits_matmuls = False, False
            if self._blas_before:
                set_blas_threads(self._blas_before)

    def forget_pool(self) -> None:
        """In a child of fork: the parent's threads are gone; BLAS keeps the parent's setting."""
        self.pool, self.count, self.started = None, 1, False
        self._starting = threading.Lock()  # the parent may have held it at the fork


_WORKERS = _Workers()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _WORKERS.forget_pool())


def over_batch(length: int, elements: int, task: Callable[[int, int], None]) -> None:
    """Run ``task(start, stop)`` over ``range(length)`` cut into one contiguous chunk per
    thread (the calling thread takes the first). ``elements`` is the size of the pass."""
    pool, count = _WORKERS.get()
    count = min(count, length)
    if pool is None or count < 2 or elements < _MIN_ELEMENTS:
        task(0, length)
        return
    _WORKERS.take_over_from_blas()
    bounds = [length * i // count for i in range(count + 1)]
    pending = [pool.submit(task, bounds[i], bounds[i + 1]) for i in range(1, count)]
    try:
        task(bounds[0], bounds[1])
    except BaseException:
        wait(pending)  # never raise while a worker still writes the outputs
        raise
    for future in pending:
        future.result()  # waits; re-raises an exception from the worker


def _worth_splitting(a: np.ndarray, b: np.ndarray, minimum: int = _MIN_MATMUL) -> bool:
    """tmt's threads run the matmuls, and ``a @ b`` is a float product of 2-D arrays with at
    least ``minimum`` multiply-adds."""
    return (
        _WORKERS.splits_matmuls
        and a.dtype.kind == "f"
        and b.dtype.kind == "f"
        and a.shape[1] == b.shape[0]
        and a.shape[0] * a.shape[1] * b.shape[1] >= minimum
    )


def _claim_blas() -> None:
    """At the first product through this module, BLAS to one thread when tmt has threads of
    its own or ``set_num_threads`` is in force (the module docstring says why); its threads
    back when neither holds any more."""
    if _WORKERS.get()[1] > 1 or _told.requested:
        _WORKERS.take_over_from_blas()
    elif _WORKERS._asked_blas:
        _WORKERS.give_back_to_blas()


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-D a (M, K) and b (K, N), split over the threads when it is big: by
    rows of the result, by columns when it has fewer rows than threads, or, when K dominates,
    by K with the partial products summed in a fixed order (the result does not depend on
    which thread finished first). Anything else (small, not floating point, shapes that do
    not fit, where NumPy's own error is the answer) is plain ``a @ b``. The pieces go through
    ``np.matmul``, which lets go of the GIL around its BLAS call and writes into ``out=``
    (``np.dot`` would first zero its output, a wasted pass)."""
    _claim_blas()
    if not _worth_splitting(a, b):
        return a @ b
    (m, k), n = a.shape, b.shape[1]
    if k > 4 * max(m, n):  # e.g. a weight gradient summed over a whole batch
        partial = {}

        def products(start, stop):
            partial[start] = np.matmul(a[:, start:stop], b[start:stop])

        over_batch(k, _MIN_ELEMENTS, products)
        return sum(partial[start] for start in sorted(partial))
    out = np.empty((m, n), dtype=np.result_type(a, b))
    if m >= _WORKERS.count:
        over_batch(m, _MIN_ELEMENTS, lambda start, stop: np.matmul(a[start:stop], b, out=out[start:stop]))
    else:  # a row or two: split the columns
        over_batch(n, _MIN_ELEMENTS, lambda start, stop: np.matmul(a, b[:, start:stop], out=out[:, start:stop]))
    return out


def matmuls(*pairs: tuple[np.ndarray, np.ndarray]) -> list[np.ndarray]:
    """``[a @ b for a, b in pairs]`` for 2-D float pairs, each product whole on its own thread
    when tmt's threads run the matmuls and every product is big (a layer's dW and dx: one
    hand-off instead of one per product); otherwise :func:`matmul` one after the other. Whole
    products side by side pack nothing twice, so smaller ones are worth it than for a split
    product: a batch-64 linear layer's 64x1568x128 dx and dW, 0.46 -> 0.36 ms."""
    _claim_blas()
    if len(pairs) < 2 or not all(_worth_splitting(a, b, _MIN_SIDE_BY_SIDE) for a, b in pairs):
        return [matmul(a, b) for a, b in pairs]
    products = [None] * len(pairs)

    def task(start, stop):
        for i in range(start, stop):
            products[i] = np.matmul(*pairs[i])

    over_batch(len(pairs), _MIN_ELEMENTS, task)
    return products


def elementwise(function: Callable[..., np.ndarray], out: np.ndarray, *inputs: np.ndarray) -> np.ndarray:
    """``function(*inputs, out)`` for inputs of out's shape (no broadcasting), split over
    the threads by the first axis when it is big."""
    if out.ndim == 0 or out.size < _MIN_ELEMENTS:  # most calls: no hand-off to prepare
        return function(*inputs, out)
    over_batch(len(out), out.size, lambda start, stop: function(*(x[start:stop] for x in inputs), out[start:stop]))
    return out
