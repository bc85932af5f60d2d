"""What the conformance suite cannot know: the values these ops promise."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tmt_core
import tmt_extra_ops as extra
from tmt_core import Tensor
from tmt_core.conformance import load_plugin


def test_the_entry_point_registers_every_op():
    load_plugin("tmt-extra-ops")
    assert {op.name for op in extra.OPS} <= set(tmt_core.op_names())
    y = tmt_core.ops["extra.softplus"](Tensor([0.0]))
    assert y.data == pytest.approx([math.log(2.0)])


def test_logsumexp_is_stable_for_large_values():
    x = Tensor([[1000.0, 1000.0], [-1000.0, -1001.0]], requires_grad=True)
    y = extra.logsumexp(x, axis=1)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, [1000 + math.log(2), -1000 + math.log(1 + math.exp(-1))], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.sum(axis=1), [1.0, 1.0], rtol=1e-6)  # softmax rows sum to 1


def test_logsumexp_of_all_minus_infinity_is_minus_infinity():
    x = Tensor([-np.inf, -np.inf], requires_grad=True)
    y = extra.logsumexp(x)
    assert y.item() == -np.inf
    y.backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_maximum_and_minimum_split_ties_equally():
    a = Tensor([1.0, 3.0, 0.0], requires_grad=True)
    b = Tensor([1.0, 2.0, 5.0], requires_grad=True)
    extra.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0, 1.0])
    a.grad = b.grad = None
    extra.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0, 0.0])


def test_maximum_broadcasts_and_sums_back():
    a = Tensor(np.zeros((3, 1)), requires_grad=True)
    b = Tensor([[-1.0, 1.0, 2.0, -3.0]], requires_grad=True)
    extra.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [[2.0], [2.0], [2.0]])  # a wins where b < 0
    np.testing.assert_array_equal(b.grad, [[0.0, 3.0, 3.0, 0.0]])


def test_gelu_is_the_tanh_approximation_close_to_the_exact_one():
    x = np.linspace(-4, 4, 81)
    exact = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    approx = extra.gelu(Tensor(x, dtype=np.float64)).data
    assert np.max(np.abs(approx - exact)) < 1e-3
    assert extra.gelu(Tensor([1.0], dtype=np.float64)).item() == pytest.approx(0.8411920, abs=1e-6)


def test_leaky_relu_slope_and_kink():
    x = Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    y = extra.leaky_relu(x, negative_slope=0.1)
    np.testing.assert_allclose(y.data, [-0.2, 0.0, 3.0], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [0.1, 0.1, 1.0], rtol=1e-6)  # leaky_relu'(0) = slope


def test_softplus_does_not_overflow_and_keeps_float32():
    y = extra.softplus(Tensor([-30.0, 0.0, 100.0]))  # naive log(1 + e¹⁰⁰) overflows float32
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, [math.exp(-30), math.log(2), 100.0], rtol=1e-6)
