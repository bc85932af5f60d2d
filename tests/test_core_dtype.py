"""float32 is the default dtype and nothing silently upcasts to float64."""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
from tmt_core import Tensor

F32 = np.float32


def x32():
    return Tensor(np.array([1.0, 2.0, 3.0], dtype=F32), requires_grad=True)


def test_float_data_becomes_float32():
    assert Tensor([1.0, 2.0]).dtype == F32
    assert Tensor(2.5).dtype == F32
    assert Tensor(np.ones(3, dtype=np.float64)).dtype == F32
    assert Tensor(np.float64(3.0)).dtype == F32


def test_an_explicit_dtype_is_kept():
    assert Tensor([1.0], dtype=np.float64).dtype == np.float64
    assert Tensor([1, 2]).dtype.kind == "i"  # integers stay integers


@pytest.mark.parametrize(
    "expr",
    [
        lambda x: x * 2.0,
        lambda x: 2.0 * x,
        lambda x: x / 3,
        lambda x: 3 / x,
        lambda x: x**2,
        lambda x: x**0.5,
        lambda x: 2.0**x,
        lambda x: x + 1,
        lambda x: x - np.float64(1.5),
        lambda x: x + [1, 2, 3],
        lambda x: [0.5, 1.5, 2.5] * x,
        lambda x: x * np.ones(3, dtype=np.float64),
        lambda x: np.ones(3, dtype=np.float64) * x,
        lambda x: np.arange(3) + x,
        lambda x: x @ np.ones(3, dtype=np.float64),
        lambda x: -x,
    ],
    ids=[
        "x*2.0", "2.0*x", "x/3", "3/x", "x**2", "x**0.5", "2.0**x", "x+1", "x-np.float64",
        "x+int list", "float list*x", "x*f64 array", "f64 array*x", "int array+x",
        "x@f64 array", "-x",
    ],
)
def test_no_float64_upcast_in_forward_and_backward(expr):
    x = x32()
    y = expr(x)
    assert y.dtype == F32
    y.backward(np.ones(y.shape, dtype=F32))
    assert x.grad.dtype == F32


def test_an_int_tensor_mixed_with_float_gives_float32():
    ints = Tensor(np.arange(3))
    assert (ints * 2.5).dtype == F32
    assert (ints / 2).dtype == F32
    np.testing.assert_allclose((ints / 2).data, [0.0, 0.5, 1.0])
    assert (ints + 1).dtype == ints.dtype  # integers with integers stay integers


def test_an_int_tensor_times_a_float_tensor_backpropagates_in_float32():
    x = x32()
    y = Tensor(np.array([1, 2, 3])) * x
    assert y.dtype == F32
    y.backward(np.ones(3, dtype=F32))
    assert x.grad.dtype == F32
    np.testing.assert_allclose(x.grad, [1.0, 2.0, 3.0])


def test_float64_on_purpose_stays_float64():
    x = Tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = x * 2.0
    assert y.dtype == np.float64
    y.backward(np.ones(2))
    assert x.grad.dtype == np.float64


def test_backward_seed_takes_the_output_dtype():
    x = x32()
    (x * x).backward(np.ones(3, dtype=np.float64))  # a float64 gradient is cast, not propagated
    assert x.grad.dtype == F32


def test_implicit_scalar_gradient_is_float32():
    x = x32()
    (x @ x).backward()
    assert x.grad.dtype == F32
    np.testing.assert_allclose(x.grad, [2.0, 4.0, 6.0])


def test_int_inputs_an_op_declares_non_differentiable_keep_their_dtype():
    from tmt_core import plugins
    from tmt_core.extend import Sample, defop, hookimpl

    seen = {}

    @defop("test_dtype.take", nondiff=(1,), samples=[Sample(np.ones(3), np.array([0, 2]))])
    def take(x, index):
        seen["index"] = index.dtype
        return x[index], (x.shape, index)

    @take.defvjp
    def take_vjp(g, res):
        shape, index = res
        out = np.zeros(shape, dtype=g.dtype)
        np.add.at(out, index, g)  # d x[i] / dx scatters g back to i
        return out, None

    class Plugin:
        @hookimpl
        def register_ops(self, register):
            register(take)

    plugins.register(Plugin(), name="test-dtype-take")
    try:
        x = x32()
        y = tc.ops["test_dtype.take"](x, [0, 2])
        assert seen["index"].kind == "i"
        y.backward(np.ones(2, dtype=F32))
        np.testing.assert_allclose(x.grad, [1.0, 0.0, 1.0])
    finally:
        plugins.unregister("test-dtype-take")


def test_relu_of_booleans_follows_numpys_promotion():
    out = tc.ops.relu(tc.Tensor(np.array([True, False])))
    assert out.data.tolist() == [1, 0] and out.dtype.kind == "i"
