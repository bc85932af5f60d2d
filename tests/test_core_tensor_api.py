"""The Tensor's public surface: array facts, conversions, repr and the arithmetic operators.

Only arithmetic ops are used here (reductions and shape ops live in other test files).
"""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
from tmt_core import Tensor


def test_data_grad_and_requires_grad():
    t = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert isinstance(t.data, np.ndarray)
    assert t.data.tolist() == [1.0, 2.0, 3.0]
    assert t.grad is None
    assert t.requires_grad is True
    assert Tensor([1.0]).requires_grad is False


def test_array_facts():
    t = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert t.shape == (2, 3)
    assert t.dtype == np.float32
    assert t.ndim == 2
    assert t.size == 6
    assert len(t) == 2


def test_item_float_int_bool_of_single_elements():
    assert Tensor(2.5).item() == 2.5
    assert isinstance(Tensor(2.5).item(), float)
    assert float(Tensor([3.0])) == 3.0  # a size-1 vector converts, as in PyTorch
    assert int(Tensor(3.7)) == 3
    assert bool(Tensor([0.0])) is False
    assert f"{Tensor(2.5):.2f}" == "2.50"


def test_truth_value_of_many_elements_is_an_error():
    with pytest.raises(tc.TmtError, match=r"ambiguous.*\(2,\)|\(2,\).*ambiguous"):
        bool(Tensor([1.0, 2.0]))


def test_numpy_returns_the_data():
    t = Tensor([1.0, 2.0])
    assert t.numpy() is t.data


def test_np_array_copies_np_asarray_shares():
    t = Tensor([1.0, 2.0])
    copied = np.array(t)
    assert not np.shares_memory(copied, t.data)
    copied[0] = 99.0
    assert t.data[0] == 1.0
    assert np.shares_memory(np.asarray(t), t.data)
    assert np.array(t, dtype=np.float64).dtype == np.float64


def test_T_of_a_matrix_and_a_vector():
    m = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert m.T.shape == (3, 2)
    np.testing.assert_array_equal(m.T.data, m.data.T)
    v = Tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(v.T.data, v.data)


def test_detach_shares_data_and_leaves_the_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    d = y.detach()
    assert d.grad_fn is None
    assert d.requires_grad is False
    assert np.shares_memory(d.data, y.data)


def test_repr_is_readable():
    assert repr(Tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(Tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    x = Tensor([1.0], requires_grad=True)
    assert repr(x * 2.0) == "tensor([2.], grad_fn=mul)"
    assert repr(Tensor([1, 2])) == "tensor([1, 2], dtype=int64)"


# ------------------------------------------------------------------------------ operators

A = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
B = np.array([[0.5, -1.0], [2.0, 0.25]], dtype=np.float32)

BINARY = [
    ("+", lambda a, b: a + b),
    ("-", lambda a, b: a - b),
    ("*", lambda a, b: a * b),
    ("/", lambda a, b: a / b),
    ("**", lambda a, b: a ** b),
    ("@", lambda a, b: a @ b),
]


@pytest.mark.parametrize("symbol, fn", BINARY, ids=[s for s, _ in BINARY])
def test_binary_operator_on_two_tensors(symbol, fn):
    out = fn(Tensor(A), Tensor(np.abs(B)))
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, fn(A, np.abs(B)), rtol=1e-6)


@pytest.mark.parametrize("symbol, fn", BINARY, ids=[s for s, _ in BINARY])
def test_reflected_operator_with_an_ndarray_on_the_left(symbol, fn):
    out = fn(np.abs(B), Tensor(A))  # ndarray OP Tensor must defer to Tensor.__rOP__
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, fn(np.abs(B), A), rtol=1e-6)


@pytest.mark.parametrize(
    "expr, expected",
    [
        (lambda t: 1.0 + t, [2.0, 3.0]),
        (lambda t: 1 - t, [0.0, -1.0]),
        (lambda t: 2.0 * t, [2.0, 4.0]),
        (lambda t: 2.0 / t, [2.0, 1.0]),
        (lambda t: 2.0 ** t, [2.0, 4.0]),
        (lambda t: [1.0, 1.0] @ t, 3.0),
        (lambda t: -t, [-1.0, -2.0]),
    ],
    ids=["radd", "rsub", "rmul", "rtruediv", "rpow", "rmatmul list", "neg"],
)
def test_reflected_forms_and_unary_minus(expr, expected):
    out = expr(Tensor([1.0, 2.0]))
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, expected)


def test_python_scalars_and_lists_are_accepted():
    t = Tensor([1.0, 2.0, 3.0])
    np.testing.assert_allclose((t + [1, 2, 3]).data, [2.0, 4.0, 6.0])
    np.testing.assert_allclose(([1.0, 0.0, 2.0] * t).data, [1.0, 0.0, 6.0])
    np.testing.assert_allclose((t * True).data, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(tc.ops.mul(t, 2).data, [2.0, 4.0, 6.0])
    assert Tensor([[1, 2], [3, 4]]).shape == (2, 2)


def test_tensor_of_a_tensor_takes_its_data():
    t = Tensor([1.0, 2.0])
    assert Tensor(t).data.tolist() == [1.0, 2.0]
    assert tc.tensor([1.0, 2.0], requires_grad=True).requires_grad


def test_int_tensors_cannot_require_grad():
    with pytest.raises(tc.TmtError, match=r"int64.*\(2,\)"):
        Tensor([1, 2], requires_grad=True)
    with pytest.raises(tc.TmtError, match="only float tensors"):
        Tensor(np.array([True, False])).requires_grad_()
    t = Tensor([1.0, 2.0]).requires_grad_()
    assert t.requires_grad
    assert t.requires_grad_(False).requires_grad is False


def test_operators_record_the_op_name():
    x = Tensor([1.0, 2.0], requires_grad=True)
    names = {
        "add": x + 1.0,
        "sub": x - 1.0,
        "mul": x * 2.0,
        "div": x / 2.0,
        "pow": x**2,
        "matmul": x @ x,
        "neg": -x,
    }
    for name, out in names.items():
        assert out.grad_fn == name
        assert not out.is_leaf
    assert x.is_leaf


def test_numpy_reductions_on_a_tensor_give_a_differentiable_tensor():
    t = tc.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    total = np.sum(t)
    assert isinstance(total, tc.Tensor) and float(total.data) == 15.0
    (total + np.mean(t, axis=0).sum() + np.max(t)).backward()
    np.testing.assert_allclose(t.grad, [[1.5, 1.5, 1.5], [1.5, 1.5, 2.5]])


@pytest.mark.parametrize("call, words", [
    (lambda t: np.sum(t, out=np.empty(())), ["Tensor.sum", "out=", "np.sum(tensor.data"]),
    (lambda t: np.mean(t, dtype=np.float64), ["Tensor.mean", "dtype=", "float64", "astype"]),
    (lambda t: np.max(t, out=np.empty(())), ["Tensor.max", "out="]),
])
def test_numpy_reduction_extras_that_cannot_apply_are_named(call, words):
    t = tc.Tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(TypeError) as raised:
        call(t)
    assert all(word in str(raised.value) for word in words), str(raised.value)
