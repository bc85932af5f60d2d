"""Residuals an op saves for its backward pass are released after use unless retained."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import tmt_core as tc
from tmt_core import BackwardError, Tensor, plugins
from tmt_core.extend import Sample, defop, hookimpl

F32 = np.float32
saved: list[weakref.ref] = []


@defop("test_residuals.double", samples=[Sample(np.ones(3))])
def double(x):
    residual = np.full(x.shape, 2.0, dtype=x.dtype)  # owned by the graph node alone
    saved.append(weakref.ref(residual))
    return x * residual, residual


@double.defvjp
def double_vjp(g, residual):
    return (g * residual,)  # d(2x)/dx = 2


class Plugin:
    @hookimpl
    def register_ops(self, register):
        register(double)


@pytest.fixture(autouse=True)
def double_op():
    saved.clear()
    name = plugins.register(Plugin(), name="test-residuals")
    yield tc.ops["test_residuals.double"]
    plugins.unregister(name)


def residual_alive() -> bool:
    gc.collect()
    return saved[-1]() is not None


def test_residuals_are_released_after_backward(double_op):
    x = Tensor(np.ones(3, dtype=F32), requires_grad=True)
    y = double_op(x)
    assert residual_alive()
    y.backward(np.ones(3, dtype=F32))
    assert not residual_alive()  # y is still alive, its residual is not
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_retain_graph_keeps_them_for_one_more_backward(double_op):
    x = Tensor(np.ones(3, dtype=F32), requires_grad=True)
    y = double_op(x)
    y.backward(np.ones(3, dtype=F32), retain_graph=True)
    assert residual_alive()
    y.backward(np.ones(3, dtype=F32))
    assert not residual_alive()
    np.testing.assert_array_equal(x.grad, [4.0, 4.0, 4.0])
    with pytest.raises(BackwardError, match=r"test_residuals\.double.*released"):
        y.backward(np.ones(3, dtype=F32))


def test_no_graph_keeps_no_residuals(double_op):
    x = Tensor(np.ones(3, dtype=F32), requires_grad=True)
    with tc.no_grad():
        y = double_op(x)
    assert not residual_alive()
    z = double_op(Tensor(np.ones(3, dtype=F32)))  # no input requires grad
    assert not residual_alive()
    assert y.grad_fn is None and z.grad_fn is None
