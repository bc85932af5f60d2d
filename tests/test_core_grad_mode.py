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
