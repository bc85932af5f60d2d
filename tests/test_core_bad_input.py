"""Bad input to arithmetic ops: an OpError naming the op and both shapes, never a bare NumPy
traceback."""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
from tmt_core import OpError, Tensor


def ones(*shape):
    return Tensor(np.ones(shape, dtype=np.float32), requires_grad=True)


@pytest.mark.parametrize(
    "left, right",
    [((2, 3), (2, 3)), ((3,), (4,)), ((5, 2, 3), (4, 2)), ((2, 3), (4,))],
    ids=["matrix", "vectors", "batch", "matrix-vector"],
)
def test_matmul_of_incompatible_shapes(left, right):
    with pytest.raises(OpError) as caught:
        ones(*left) @ ones(*right)
    message = str(caught.value)
    assert "'matmul'" in message
    assert str(left) in message and str(right) in message


@pytest.mark.parametrize(
    "x, w, b, attrs, words",
    [
        ((4, 5), (6, 3), (3,), {}, ["(4, 5)", "(6, 3)"]),
        ((4, 5), (5, 3), (4,), {}, ["(5, 3)", "(4,)"]),
        ((4, 5), (5,), (5,), {}, ["w (5,)"]),
        ((4, 5), (5, 3), (3,), {"activation": "tanh"}, ["activation", "'tanh'"]),
    ],
    ids=["features", "bias", "1-D weight", "activation"],
)
def test_linear_names_the_shapes_it_cannot_take(x, w, b, attrs, words):
    with pytest.raises(OpError) as caught:
        tc.ops.linear(ones(*x), ones(*w), ones(*b), **attrs)
    for word in ["linear"] + words:
        assert word in str(caught.value)


@pytest.mark.parametrize("x, w", [((3, 4), (4, 0)), ((3, 0), (0, 5)), ((0, 4), (4, 2)), ((4,), (4, 2))])
def test_linear_takes_empty_and_one_dimensional_shapes_as_matmul_and_add_do(x, w):
    rng = np.random.default_rng(0)
    a, b, c = (Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in (x, w, w[1:]))
    tc.ops.linear(a, b, c).sum().backward()
    grads = [t.grad for t in (a, b, c)]
    for t in (a, b, c):
        t.grad = None
    (a @ b + c).sum().backward()
    for got, t in zip(grads, (a, b, c)):
        np.testing.assert_allclose(got, t.grad, rtol=1e-6)


@pytest.mark.parametrize(
    "symbol, fn, name",
    [
        ("+", lambda a, b: a + b, "add"),
        ("-", lambda a, b: a - b, "sub"),
        ("*", lambda a, b: a * b, "mul"),
        ("/", lambda a, b: a / b, "div"),
        ("**", lambda a, b: a**b, "pow"),
    ],
    ids=["add", "sub", "mul", "div", "pow"],
)
def test_broadcasting_failure_names_the_op_and_both_shapes(symbol, fn, name):
    with pytest.raises(OpError) as caught:
        fn(ones(2, 3), ones(4))
    message = str(caught.value)
    assert f"'{name}'" in message
    assert "(2, 3)" in message and "(4,)" in message


def test_an_ndarray_on_the_left_is_reported_the_same_way():
    with pytest.raises(OpError, match=r"'mul'.*\(2, 3\).*\(4,\)"):
        np.ones((2, 3), dtype=np.float32) * ones(4)


def test_a_list_that_does_not_broadcast():
    with pytest.raises(OpError, match=r"'add'.*\(3,\).*\(2,\)"):
        ones(3) + [1.0, 2.0]


def test_op_errors_are_value_errors_and_chain_the_numpy_error():
    with pytest.raises(ValueError) as caught:
        tc.ops.add(ones(2, 3), ones(4))
    assert isinstance(caught.value, tc.TmtError)
    assert caught.value.__cause__ is not None
    assert "could not be broadcast" in str(caught.value)


def test_a_failed_op_leaves_no_graph_behind():
    x = ones(3)
    with pytest.raises(OpError):
        x + ones(4)
    (x * 2.0).backward(np.ones(3, dtype=np.float32))
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])
