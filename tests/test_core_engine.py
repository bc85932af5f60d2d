"""The reverse-mode engine: graph shapes, accumulation, retained graphs, errors, aliasing.

Scalar losses are built from arithmetic ops only (``v @ ones`` sums a vector).
"""

from __future__ import annotations

import numpy as np
import pytest

from tmt_core import BackwardError, Tensor

F32 = np.float32


def leaf(values):
    return Tensor(np.asarray(values, dtype=F32), requires_grad=True)


def ones(n):
    return np.ones(n, dtype=F32)


def test_reused_node_gets_every_path():
    a = leaf([1.0, 2.0, 3.0])
    b = a + a
    c = b + b
    c.backward(ones(3))
    np.testing.assert_array_equal(a.grad, [4.0, 4.0, 4.0])


def test_a_chain_100000_ops_deep_backpropagates():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y + 1.0
    assert y.data[0] == 100_001.0
    y.backward(ones(1))  # no RecursionError: the topological sort is iterative
    np.testing.assert_array_equal(x.grad, [1.0])


def test_diamond():
    x = leaf([1.0, 2.0])
    left, right = x * 2.0, x * 3.0
    (left * right).backward(ones(2))  # 6x² -> 12x
    np.testing.assert_allclose(x.grad, [12.0, 24.0])


def test_diamond_through_a_shared_intermediate():
    x = leaf([0.5, -1.5])
    h = x * x
    out = h * h + h  # d/dx = (2h + 1) * 2x
    out.backward(ones(2))
    expected = (2 * x.data**2 + 1) * 2 * x.data
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6)


def test_scalar_loss_needs_no_gradient():
    w = leaf([1.0, -2.0, 3.0])
    loss = (w * w) @ ones(3)  # sum of squares
    assert loss.shape == ()
    loss.backward()
    np.testing.assert_allclose(w.grad, 2 * w.data)


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3.0).backward(ones(2))
    (x * x).backward(ones(2))
    np.testing.assert_allclose(x.grad, [3.0 + 2.0, 3.0 + 4.0])
    x.zero_grad()
    assert x.grad is None


def test_a_single_element_leaf_keeps_an_array_gradient():
    x = Tensor(2.0, requires_grad=True)
    (x * x).backward()
    (x * x).backward()
    assert isinstance(x.grad, np.ndarray)
    assert x.grad.shape == ()
    assert x.grad == 8.0


def test_backward_on_a_leaf():
    x = leaf([1.0, 2.0])
    x.backward(np.array([3.0, 4.0], dtype=F32))
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = x * x
    y.backward(ones(2), retain_graph=True)
    y.backward(ones(2))
    np.testing.assert_allclose(x.grad, 2 * (2 * x.data))


def test_second_backward_without_retain_graph_names_the_op():
    x = leaf([1.0, 2.0])
    y = x * x
    y.backward(ones(2))
    with pytest.raises(BackwardError, match=r"'mul'.*retain_graph=True"):
        y.backward(ones(2))


def test_backward_on_a_non_scalar_needs_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(BackwardError, match=r"shape \(2,\).*'mul'.*explicit gradient"):
        (x * 2.0).backward()


def test_backward_with_a_wrong_shaped_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(BackwardError, match=r"\(3,\).*\(2,\)"):
        (x * 2.0).backward(ones(3))
    with pytest.raises(BackwardError, match=r"\(1, 2\).*\(2,\)"):
        (x * 2.0).backward(np.ones((1, 2), dtype=F32))


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(BackwardError, match="does not require grad"):
        (Tensor([1.0]) * 2.0).backward()


def test_constants_and_non_grad_tensors_get_no_gradient():
    x = leaf([1.0, 2.0])
    c = Tensor([5.0, 6.0])
    (x * c + 1.0).backward(ones(2))
    np.testing.assert_array_equal(x.grad, [5.0, 6.0])
    assert c.grad is None


def test_gradient_does_not_flow_through_detach():
    x = leaf([1.0, 2.0])
    (x.detach() * x).backward(ones(2))  # only the non-detached path: d/dx = x
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])


# ------------------------------------------------------------------------------ aliasing


def test_leaf_grads_never_alias_each_other():
    p, q = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (p + q).backward(ones(2))
    assert not np.shares_memory(p.grad, q.grad)
    p.grad[0] = 100.0
    assert q.grad[0] == 1.0


def test_leaf_grads_never_alias_the_users_gradient():
    g = np.array([1.0, 2.0], dtype=F32)
    x = leaf([1.0, 2.0])
    x.backward(g)
    y_leaf = leaf([1.0, 2.0])
    (y_leaf + 0.0).backward(g)
    z_leaf = leaf([1.0, 2.0])
    (z_leaf - 0.0).backward(g)
    for t in (x, y_leaf, z_leaf):
        assert not np.shares_memory(t.grad, g)
    g[:] = -1.0
    for t in (x, y_leaf, z_leaf):
        np.testing.assert_array_equal(t.grad, [1.0, 2.0])


def test_backward_does_not_mutate_the_users_gradient():
    g = np.array([1.0, 2.0], dtype=F32)
    x = leaf([3.0, 4.0])
    ((x * x + x) * 2.0).backward(g)
    np.testing.assert_array_equal(g, [1.0, 2.0])


def test_the_same_leaf_twice_in_one_op():
    x = leaf([1.0, 2.0])
    (x + x).backward(ones(2))
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    (x * x).backward(ones(2))
    np.testing.assert_array_equal(x.grad, [2.0 + 2.0, 2.0 + 4.0])


# ------------------------------------------------------------------------------ broadcasting


def test_broadcasting_is_undone_for_each_input():
    a = leaf(np.ones((3, 1)))
    b = leaf(np.ones((1, 4)))
    s = leaf(2.0)
    (a * b * s).backward(np.ones((3, 4), dtype=F32))
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4) and s.grad.shape == ()
    np.testing.assert_allclose(a.grad, np.full((3, 1), 8.0))
    np.testing.assert_allclose(b.grad, np.full((1, 4), 6.0))
    np.testing.assert_allclose(s.grad, 12.0)


def test_rank_extension_is_summed_back():
    bias = leaf([1.0, 2.0, 3.0])
    x = Tensor(np.ones((2, 5, 3), dtype=F32))
    (x + bias).backward(np.ones((2, 5, 3), dtype=F32))
    np.testing.assert_allclose(bias.grad, [10.0, 10.0, 10.0])


def test_topological_order_is_exposed():
    from tmt_core.engine import topological_order

    x = leaf([1.0])
    h = x * 2.0
    out = h + h
    order = topological_order(out)
    assert order[0] is out and order[-1] is h
    assert topological_order(x) == []
