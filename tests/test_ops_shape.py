"""The shape op family (reshape, transpose, pad, stack, concatenate, getitem): forward values,
gradients, duplicate indices, boolean masks, dtypes and the errors bad input gets."""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
from tmt_core.errors import OpError




def grad_of(x, f, g=None):
    """x.grad after f(x).backward(g), for a float64 array x."""
    t = tc.Tensor(x, requires_grad=True, dtype=np.float64)
    f(t).backward(g)
    return t.grad


def test_reshape_and_transpose_cotangents_are_copies_even_when_a_view_would_do():
    g = np.arange(6.0)
    (cot,) = tc.ops.reshape.vjp(g, (2, 3), shape=(6,))
    assert not np.shares_memory(cot, g)
    (cot,) = tc.ops.transpose.vjp(g, None, axes=None)  # 1-d: the transposed view is contiguous
    assert not np.shares_memory(cot, g)


# ---------------------------------------------------------------------------- reshape, transpose


def test_reshape_method_forms():
    t = tc.Tensor(np.arange(12, dtype=np.float32))
    assert t.reshape(2, -1).shape == (2, 6)
    assert t.reshape((3, 4)).shape == (3, 4)
    assert t.reshape([4, 3]).shape == (4, 3)
    assert t.reshape(2, 2, 3).flatten(1).shape == (2, 6)


def test_reshape_gradient_has_the_input_shape():
    g = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(grad_of(np.zeros(6), lambda t: t.reshape(2, -1), g), np.arange(6.0))


def test_T_and_transpose_with_axes():
    data = np.arange(24.0).reshape(2, 3, 4)
    t = tc.Tensor(data, dtype=np.float64)
    np.testing.assert_array_equal(t.T.data, data.T)
    np.testing.assert_array_equal(t.transpose(1, 2, 0).data, data.transpose(1, 2, 0))
    np.testing.assert_array_equal(t.transpose((2, 0, 1)).data, data.transpose(2, 0, 1))
    g = np.random.default_rng(4).standard_normal((4, 2, 3))
    np.testing.assert_array_equal(grad_of(data, lambda t: t.transpose(-1, 0, 1), g), g.transpose(1, 2, 0))


# ---------------------------------------------------------------------------- pad


def test_pad_with_a_value_and_its_gradient_slices_the_inner_block():
    x = np.ones((2, 2))
    out = tc.Tensor(x).pad(((1, 0), (0, 2)), value=-1.0)
    np.testing.assert_array_equal(out.data, [[-1, -1, -1, -1], [1, 1, -1, -1], [1, 1, -1, -1]])
    g = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(grad_of(x, lambda t: t.pad(((1, 0), (0, 2))), g), g[1:, :2])


# ---------------------------------------------------------------------------- stack, concatenate


def test_stack_gives_each_input_its_slice_of_the_cotangent():
    a, b = (tc.Tensor(np.zeros((2, 3)), requires_grad=True, dtype=np.float64) for _ in range(2))
    out = tc.stack([a, b], axis=1)
    assert out.shape == (2, 2, 3)
    g = np.random.default_rng(5).standard_normal((2, 2, 3))
    out.backward(g)
    np.testing.assert_array_equal(a.grad, g[:, 0])
    np.testing.assert_array_equal(b.grad, g[:, 1])


def test_concatenate_gives_each_input_its_block_and_skips_constants():
    a = tc.Tensor(np.zeros((3, 2)), requires_grad=True, dtype=np.float64)
    constant = tc.Tensor(np.ones((3, 1)), dtype=np.float64)
    c = tc.Tensor(np.zeros((3, 4)), requires_grad=True, dtype=np.float64)
    out = tc.concatenate([a, constant, c], axis=-1)
    np.testing.assert_array_equal(out.data[:, 2], 1.0)
    g = np.arange(21.0).reshape(3, 7)
    out.backward(g)
    np.testing.assert_array_equal(a.grad, g[:, :2])
    np.testing.assert_array_equal(c.grad, g[:, 3:])
    assert constant.grad is None


# ---------------------------------------------------------------------------- getitem


def test_duplicate_integer_indices_accumulate():
    grad = grad_of(np.zeros(4), lambda t: t[[0, 0, 3, 0]], np.array([1.0, 2.0, 5.0, 4.0]))
    np.testing.assert_array_equal(grad, [7.0, 0.0, 0.0, 5.0])


def test_slice_with_a_repeated_column_list():
    data = np.arange(12.0).reshape(3, 4)
    t = tc.Tensor(data, requires_grad=True, dtype=np.float64)
    out = t[1:, [0, 0]]
    np.testing.assert_array_equal(out.data, data[1:, [0, 0]])
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, [[0, 0, 0, 0], [2, 0, 0, 0], [2, 0, 0, 0]])


def test_boolean_mask_routes_the_cotangent_to_the_selected_elements():
    data = np.array([[1.0, -2.0], [-3.0, 4.0]])
    t = tc.Tensor(data, requires_grad=True, dtype=np.float64)
    positive = t[tc.Tensor(data > 0)]
    np.testing.assert_array_equal(positive.data, [1.0, 4.0])
    positive.backward(np.array([10.0, 20.0]))
    np.testing.assert_array_equal(t.grad, [[10, 0], [0, 20]])


def test_basic_indexing_and_masks_take_the_assignment_path():
    from tmt_ops.shape import _repeats_possible

    mask = np.array([True, False])
    for index in (1, slice(None), (Ellipsis, None, -1), (slice(1, 3), 0), mask, (mask, slice(None))):
        assert not _repeats_possible(index), index
    for index in (np.array([0, 0]), (slice(1, None), [0, 0]), (mask, np.array([1]))):
        assert _repeats_possible(index), index


def test_int_index_gives_a_scalar_tensor():
    t = tc.Tensor(np.arange(3.0), requires_grad=True)
    t[1].backward()
    np.testing.assert_array_equal(t.grad, [0, 1, 0])


# ---------------------------------------------------------------------------- dtypes

FLOAT32_CALLS = {
    "reshape": lambda t: t.reshape(-1),
    "transpose": lambda t: t.T,
    "pad": lambda t: t.pad(1, value=0.5),
    "stack": lambda t: tc.stack([t, t * 2.0], axis=-1),
    "concatenate": lambda t: tc.concatenate([t, t], axis=0),
    "getitem": lambda t: t[[0, 0], 1:],
}


@pytest.mark.parametrize("name", FLOAT32_CALLS)
def test_float32_in_float32_out_and_float32_gradient(name):
    t = tc.Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    out = FLOAT32_CALLS[name](t)
    assert out.dtype == np.float32
    out.sum().backward()
    assert t.grad.dtype == np.float32 and t.grad.shape == (2, 3)


# ---------------------------------------------------------------------------- bad input

X = np.ones((3, 4), dtype=np.float32)

BAD_CALLS = [
    pytest.param("reshape", lambda t: t.reshape(5, -1), "cannot reshape array of size 12", id="reshape size"),
    pytest.param("transpose", lambda t: t.transpose(0, 2), "not a permutation", id="transpose axis range"),
    pytest.param("transpose", lambda t: t.transpose(0, 0), "not a permutation", id="transpose repeated"),
    pytest.param("pad", lambda t: t.pad(((1, 1), (1, 1), (1, 1))), "one pair per axis", id="pad pairs"),
    pytest.param("pad", lambda t: t.pad(-1), "negative", id="pad negative"),
    pytest.param("stack", lambda t: tc.stack([t, t], axis=3), "axis 3 is out of bounds", id="stack axis"),
    pytest.param("stack", lambda t: tc.stack([t, t[:2]]), "same shape", id="stack shapes"),
    pytest.param("concatenate", lambda t: tc.concatenate([t, t], axis=2), "axis 2 is out of bounds", id="concatenate axis"),
    pytest.param("concatenate", lambda t: tc.concatenate([t, t.T]), "must match", id="concatenate shapes"),
    pytest.param("getitem", lambda t: t[3], "index 3 is out of bounds for axis 0 with size 3", id="getitem int"),
    pytest.param("getitem", lambda t: t[:, [0, 7]], "index 7 is out of bounds", id="getitem array"),
    pytest.param("getitem", lambda t: t[np.ones(2, bool)], "boolean index did not match", id="getitem mask"),
]


@pytest.mark.parametrize("name, call, reason", BAD_CALLS)
def test_bad_input_is_an_error_naming_the_op_and_the_shapes(name, call, reason):
    with pytest.raises(OpError) as info:
        call(tc.Tensor(X))
    message = str(info.value)
    assert f"op '{name}'" in message
    assert "(3, 4)" in message
    assert reason in message
