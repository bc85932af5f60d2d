"""Grad mode: no_grad() builds no graph, enable_grad() turns it back on, both restore on exit."""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
from tmt_core import BackwardError, Tensor


@pytest.fixture(autouse=True)
def grad_mode_is_restored():
    yield
    assert tc.is_grad_enabled(), "a test left grad mode off"


def leaf():
    return Tensor([1.0, 2.0], requires_grad=True)


def test_no_grad_builds_no_node():
    x = leaf()
    with tc.no_grad():
        y = x * 2.0 + 1.0
        assert not tc.is_grad_enabled()
    assert y.grad_fn is None
    assert y.requires_grad is False
    with pytest.raises(BackwardError, match="does not require grad"):
        y.backward(np.ones(2, dtype=np.float32))


def test_no_input_requiring_grad_builds_no_node():
    y = Tensor([1.0, 2.0]) * 2.0
    assert y.grad_fn is None and y.requires_grad is False


def test_enable_grad_inside_no_grad():
    x = leaf()
    with tc.no_grad():
        with tc.enable_grad():
            y = x * 3.0
        z = x * 3.0
    assert y.grad_fn == "mul"
    assert z.grad_fn is None
    y.backward(np.ones(2, dtype=np.float32))
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_no_grad_as_a_decorator():
    x = leaf()

    @tc.no_grad()
    def evaluate(t):
        return t * 2.0, tc.is_grad_enabled()

    y, enabled_inside = evaluate(x)
    assert enabled_inside is False
    assert y.grad_fn is None
    assert tc.is_grad_enabled()


def test_decorated_function_may_recurse():
    @tc.no_grad()
    def depth(n):
        return depth(n - 1) if n else tc.is_grad_enabled()

    assert depth(3) is False
    assert tc.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with tc.no_grad():
            1 / 0
    assert tc.is_grad_enabled()


def test_set_grad_enabled_as_a_function_and_as_a_context_manager():
    x = leaf()
    try:
        tc.set_grad_enabled(False)  # takes effect at once, as torch.set_grad_enabled does
        assert (x * 2.0).grad_fn is None
    finally:
        tc.set_grad_enabled(True)
    assert (x * 2.0).grad_fn == "mul"
    with tc.set_grad_enabled(False):
        assert (x * 2.0).grad_fn is None
    assert tc.is_grad_enabled()


def test_grad_mode_is_per_thread():
    import threading

    inside, other = threading.Event(), threading.Event()
    seen = {}

    def scorer():
        with tc.no_grad():
            inside.set()
            other.wait(5)
            seen["scorer"] = tc.is_grad_enabled()

    thread = threading.Thread(target=scorer)
    thread.start()
    inside.wait(5)
    x = tc.Tensor(np.array([2.0]), requires_grad=True)
    y = x * x  # recorded here although the other thread is inside no_grad
    seen["main"] = tc.is_grad_enabled()
    other.set()
    thread.join()
    y.backward()
    assert seen == {"main": True, "scorer": False}
    np.testing.assert_allclose(x.grad, [4.0])


def test_one_decorated_function_in_two_threads_restores_each_threads_mode():
    import threading

    @tc.no_grad()
    def score(entered, release):
        entered.set()
        release.wait(5)
        return tc.is_grad_enabled()

    results = {}
    a_in, b_in, release = threading.Event(), threading.Event(), threading.Event()

    def in_no_grad():  # this thread was already in no_grad when it called score
        with tc.no_grad():
            results["a_inside"] = score(a_in, release)
            results["a_after"] = tc.is_grad_enabled()

    def plain():
        results["b_inside"] = score(b_in, release)
        results["b_after"] = tc.is_grad_enabled()

    threads = [threading.Thread(target=in_no_grad), threading.Thread(target=plain)]
    for thread in threads:
        thread.start()
    a_in.wait(5), b_in.wait(5)
    release.set()
    for thread in threads:
        thread.join()
    assert results == {"a_inside": False, "a_after": False, "b_inside": False, "b_after": True}
