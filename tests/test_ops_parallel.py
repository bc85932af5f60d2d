"""tmt_ops' one pool of threads: matmuls and elementwise passes split over it give the
result of the plain NumPy call, and BLAS is set to one thread only when tmt runs threads (at
its first matmul or split pass)."""

import os
import time

import numpy as np
import pytest

from tmt_ops import _blas, _parallel


@pytest.fixture
def three_threads(monkeypatch):
    monkeypatch.setenv("TMT_NUM_THREADS", "3")
    monkeypatch.setattr(_parallel, "_MIN_ELEMENTS", 0)
    monkeypatch.setattr(_parallel, "_MIN_MATMUL", 0)
    monkeypatch.setattr(_parallel, "set_blas_threads", lambda count: 2)
    monkeypatch.setattr(_parallel, "_WORKERS", _parallel._Workers())
    yield
    if _parallel._WORKERS.pool is not None:
        _parallel._WORKERS.pool.shutdown(wait=True)


@pytest.mark.parametrize(
    "m, k, n, split",
    [(40, 7, 9, "rows"), (5, 7, 40, "rows of a wide result"), (6, 200, 5, "the contraction (partial sums)")],
)
def test_a_split_matmul_equals_the_plain_one(three_threads, m, k, n, split):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    _parallel.over_batch(3, 1, lambda start, stop: None)  # tmt's threads start: BLAS to one
    got = _parallel.matmul(a, b)
    assert _parallel._WORKERS.splits_matmuls
    np.testing.assert_allclose(got, a @ b, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got, _parallel.matmul(a, b))  # partial sums in a fixed order


@pytest.mark.parametrize("taken_over", [True, False], ids=["tmt's threads", "BLAS's threads"])
def test_matmuls_side_by_side_equal_the_plain_products(three_threads, monkeypatch, taken_over):
    monkeypatch.setattr(_parallel, "set_blas_threads", lambda count: 2 if taken_over else None)  # None: not settable
    rng = np.random.default_rng(1)
    x, g, w = rng.standard_normal((6, 40)), rng.standard_normal((6, 9)), rng.standard_normal((40, 9))
    dx, dw = _parallel.matmuls((g, w.T), (x.T, g))  # a layer's two products
    assert _parallel._WORKERS.splits_matmuls is taken_over
    np.testing.assert_allclose(dx, g @ w.T, rtol=1e-12)
    np.testing.assert_allclose(dw, x.T @ g, rtol=1e-12)


def test_a_split_matmul_takes_transposed_views(three_threads):
    _parallel.over_batch(3, 1, lambda start, stop: None)
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((30, 8)), rng.standard_normal((20, 8))
    np.testing.assert_allclose(_parallel.matmul(a, b.T), a @ b.T, rtol=1e-12)
    np.testing.assert_allclose(_parallel.matmul(a.T, a), a.T @ a, rtol=1e-12)


def test_elementwise_writes_every_row_of_out(three_threads):
    x = np.random.default_rng(2).standard_normal((7, 5)).astype(np.float32)
    out = np.full_like(x, np.nan)
    assert _parallel.elementwise(lambda a, out: np.maximum(a, 0, out=out), out, x) is out
    np.testing.assert_array_equal(out, np.maximum(x, 0))


def test_one_thread_leaves_blas_alone(monkeypatch):
    monkeypatch.setenv("TMT_NUM_THREADS", "1")
    told = []
    monkeypatch.setattr(_parallel, "set_blas_threads", lambda count: told.append(count) or 2)
    monkeypatch.setattr(_parallel, "_WORKERS", _parallel._Workers())
    a = np.ones((300, 300))
    np.testing.assert_array_equal(_parallel.matmul(a, a), a @ a)
    assert told == [] and not _parallel._WORKERS.splits_matmuls


@pytest.mark.parametrize("first", ["a split pass", "a matmul"])
def test_blas_is_set_to_one_thread_once_at_the_first_split_pass_or_matmul(monkeypatch, first):
    monkeypatch.setenv("TMT_NUM_THREADS", "2")
    told = []
    monkeypatch.setattr(_parallel, "set_blas_threads", lambda count: told.append(count) or 2)
    monkeypatch.setattr(_parallel, "_WORKERS", _parallel._Workers())
    _parallel.over_batch(4, 10, lambda start, stop: None)  # small: stays on this thread
    assert told == [] and not _parallel._WORKERS.splits_matmuls
    a = np.ones((3, 3), dtype=np.float32)
    for _ in range(2):
        if first == "a split pass":
            _parallel.over_batch(4, _parallel._MIN_ELEMENTS, lambda start, stop: None)
        else:  # even a small product: one BLAS thread runs it faster, and keeps a weight on this core
            np.testing.assert_array_equal(_parallel.matmul(a, a), a @ a)
    assert told == [1] and _parallel._WORKERS.splits_matmuls  # asked once


def test_without_openblas_matmuls_are_not_split(monkeypatch):
    monkeypatch.setenv("TMT_NUM_THREADS", "2")
    monkeypatch.setattr(_blas, "_openblas_paths", lambda: [])
    monkeypatch.setattr(_parallel, "set_blas_threads", _blas.set_threads)
    monkeypatch.setattr(_parallel, "_WORKERS", _parallel._Workers())
    _parallel.over_batch(4, _parallel._MIN_ELEMENTS, lambda start, stop: None)
    assert not _parallel._WORKERS.splits_matmuls


def test_numpys_openblas_is_found_set_and_read_back():
    if not _blas._openblas_paths():
        pytest.skip("NumPy here is not linked against OpenBLAS (nothing for tmt to set)")
    before = _blas.set_threads(1)
    assert before is not None and before >= 1
    assert _blas.set_threads(before) == 1  # what the first call set
    assert _blas.set_threads(before) == before


def test_blas_gets_its_threads_back_when_set_num_threads_ends_with_tmt_threads_off(monkeypatch):
    """TMT_NUM_THREADS=1 leaves BLAS alone; set_num_threads (fit's processes) takes it to one
    thread for a while; afterwards it has its threads back."""
    monkeypatch.setenv("TMT_NUM_THREADS", "1")
    told = []
    monkeypatch.setattr(_parallel, "set_blas_threads", lambda count: told.append(count) or 4)
    monkeypatch.setattr(_parallel, "_WORKERS", _parallel._Workers())
    a = np.ones((3, 3), dtype=np.float32)
    _parallel.matmul(a, a)
    assert told == []
    monkeypatch.setattr(_parallel._told, "requested", 1)
    _parallel.matmul(a, a)
    assert told == [1]
    monkeypatch.setattr(_parallel._told, "requested", 0)
    _parallel.matmul(a, a)
    assert told == [1, 4]  # the 4 threads it had


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_starts_its_own_pool(three_threads):
    _parallel.over_batch(3, 1, lambda start, stop: None)
    assert _parallel._WORKERS.started
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's worker threads do not exist here
        ok = not _parallel._WORKERS.started
        out = np.empty(6)
        _parallel.elementwise(lambda x, out: np.multiply(x, 2, out=out), out, np.arange(6.0))
        ok = ok and _parallel._WORKERS.started and out.tolist() == [0, 2, 4, 6, 8, 10]
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    assert answer == b"1"


def test_a_single_row_matmul_is_split_by_columns(three_threads):
    _parallel.over_batch(3, 1, lambda start, stop: None)
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((1, 6)), rng.standard_normal((6, 9))
    np.testing.assert_allclose(_parallel.matmul(a, b), a @ b, rtol=1e-12)


@pytest.mark.parametrize("b_rows", [4, 9])
def test_shapes_that_do_not_fit_get_numpys_own_error(three_threads, b_rows):
    _parallel.over_batch(3, 1, lambda start, stop: None)
    with pytest.raises(ValueError, match="mismatch"):
        _parallel.matmul(np.ones((2, 40)), np.ones((b_rows * 8, 2)))


def test_integer_matmuls_are_not_split(three_threads):
    _parallel.over_batch(3, 1, lambda start, stop: None)
    a = np.ones((4, 50), dtype=bool)
    assert _parallel.matmul(a, a.T).dtype == np.bool_


def test_an_error_on_the_calling_thread_waits_for_the_workers(three_threads):
    finished = []

    def task(start, stop):
        if start == 0:
            raise RuntimeError("boom on the calling thread")
        time.sleep(0.05)
        finished.append(start)

    with pytest.raises(RuntimeError, match="boom"):
        _parallel.over_batch(3, 1, task)
    assert sorted(finished) == [1, 2]  # both workers were done before the error came out


def test_an_error_in_a_worker_reaches_the_caller(three_threads):
    def task(start, stop):
        if start == 2:
            raise ValueError("boom in a worker")

    with pytest.raises(ValueError, match="boom in a worker"):
        _parallel.over_batch(3, 1, task)
