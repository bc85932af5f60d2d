"""The reduction op family (sum, mean, max): forward values, gradients, ties, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
from tmt_core.errors import OpError


REDUCTIONS = ("sum", "mean", "max")


# ---------------------------------------------------------------------------- Tensor methods


def test_tensor_methods_reduce_the_named_axes():
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = tc.Tensor(data)
    np.testing.assert_array_equal(t.sum(axis=1).data, data.sum(axis=1))
    np.testing.assert_array_equal(t.sum().data, data.sum())
    np.testing.assert_allclose(t.mean(axis=(0, 2), keepdims=True).data, data.mean(axis=(0, 2), keepdims=True))
    np.testing.assert_array_equal(t.max(axis=-1).data, data.max(axis=-1))
    assert t.max(axis=[0, 1]).shape == (4,)  # a list of axes is accepted by the method


def test_sum_gradient_is_the_cotangent_spread_over_the_reduced_axis():
    x = tc.Tensor(np.ones((2, 3)), requires_grad=True)
    x.sum(axis=1).backward(np.array([2.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [[2, 2, 2], [-1, -1, -1]])


def test_mean_gradient_is_one_over_the_count():
    x = tc.Tensor(np.ones((4, 5)), requires_grad=True)
    x.mean(axis=0).sum().backward()
    np.testing.assert_allclose(x.grad, np.full((4, 5), 0.25))


# ---------------------------------------------------------------------------- max at ties


def test_max_splits_the_gradient_equally_among_tied_maxima():
    x = tc.Tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0], [4.0, 4.0, 4.0]], requires_grad=True)
    x.max(axis=1).backward(np.array([1.0, 4.0, 3.0]))
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [2, 0, 2], [1, 1, 1]])


def test_max_over_all_axes_with_ties():
    x = tc.Tensor([[3.0, 1.0], [3.0, 3.0]], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad, np.array([[1, 0], [1, 1]]) / 3, rtol=1e-6)


def test_max_declares_its_tie_convention_and_keeps_it():
    op = tc.ops.max
    assert op.conventions, "max must declare its tie convention"
    for convention in op.conventions:
        (x,) = convention.args
        _, residuals = op.forward(x, **convention.attrs)
        (got,) = op.vjp(np.asarray(convention.g), residuals, **convention.attrs)
        np.testing.assert_allclose(got, convention.expected[0], err_msg=convention.rule)


# ---------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, (0, 1)])
def test_float32_in_float32_out_and_float32_gradient(name, axis):
    x = tc.Tensor(np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    out = getattr(x, name)(axis=axis)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_mean_of_integers_is_float32_not_float64():
    assert tc.Tensor(np.arange(6, dtype=np.int64)).mean().dtype == np.float32


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [2, -3, (0, 5)])
def test_axis_out_of_range_names_the_op_and_the_shape(name, axis):
    x = tc.Tensor(np.ones((3, 4)))
    with pytest.raises(OpError) as info:
        getattr(x, name)(axis=axis)
    message = str(info.value)
    assert f"op '{name}'" in message
    assert "(3, 4)" in message
    assert "out of bounds" in message


def test_repeated_axis_is_an_error_naming_the_op():
    with pytest.raises(OpError, match=r"op 'sum'.*\(3, 4\).*duplicate"):
        tc.Tensor(np.ones((3, 4))).sum(axis=(1, 1))
