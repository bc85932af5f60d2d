"""The loss op family (softmax, log_softmax, cross_entropy, mse, binary_cross_entropy and its
logits variant): values, gradients, stability, float32, targets, and errors on bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tmt_core as tc
from tmt_core.errors import OpError
from tmt_ops import loss


OPS = {op.name: op for op in loss.OPS}


@pytest.mark.parametrize("name", ["cross_entropy", "mse", "binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_losses_return_a_0d_array(name):
    sample = OPS[name].sample_list(np.random.default_rng(0))[0]
    out, _ = OPS[name].forward(*sample.args)
    assert isinstance(out, np.ndarray) and out.shape == ()


@pytest.mark.parametrize(
    "name, target",
    [
        ("cross_entropy", np.zeros(0, dtype=np.int64)),
        ("cross_entropy", np.zeros((0, 10), dtype=np.float32)),
        ("mse", np.zeros((0, 10), dtype=np.float32)),
        ("binary_cross_entropy", np.zeros((0, 10), dtype=np.float32)),
        ("binary_cross_entropy_with_logits", np.zeros((0, 10), dtype=np.float32)),
    ],
)
def test_the_mean_over_an_empty_batch_is_nan_without_a_numpy_warning(name, target):
    x = tc.Tensor(np.full((0, 10), 0.5, dtype=np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as PyTorch: NaN, and nothing printed
        out = getattr(tc.ops, name)(x, tc.Tensor(target))
        out.backward()
    assert out.data.dtype == np.float32 and np.isnan(out.data)
    assert x.grad.shape == (0, 10)


# ---------------------------------------------------------------------------- values and stability


def test_softmax_rows_sum_to_one_and_huge_logits_do_not_overflow():
    x = np.array([[1000.0, 1000.0, -1000.0], [-1e4, 0.0, 1e4]], dtype=np.float32)
    p = tc.ops.softmax(x).data
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    log_p = tc.ops.log_softmax(x).data
    assert np.all(np.isfinite(log_p))
    np.testing.assert_allclose(log_p[1], [-2e4, -1e4, 0.0])


def test_cross_entropy_labels_and_one_hot_agree_and_match_the_definition():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 6)
    by_label = tc.Tensor(logits, requires_grad=True)
    by_one_hot = tc.Tensor(logits, requires_grad=True)
    a = tc.ops.cross_entropy(by_label, labels)
    b = tc.ops.cross_entropy(by_one_hot, np.eye(4, dtype=np.float32)[labels])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(a.data, -np.mean(np.log(p[np.arange(6), labels])), rtol=1e-6)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-6)
    a.backward()
    b.backward()
    np.testing.assert_allclose(by_label.grad, by_one_hot.grad, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(by_label.grad, (p - np.eye(4)[labels]) / 6, rtol=1e-5, atol=1e-7)


def test_cross_entropy_accepts_integral_float_labels_and_label_tensors():
    logits = np.zeros((2, 3), dtype=np.float32)
    want = np.log(3.0)
    assert tc.ops.cross_entropy(logits, np.array([0.0, 2.0])).item() == pytest.approx(want)
    assert tc.ops.cross_entropy(logits, tc.Tensor(np.array([1, 2]))).item() == pytest.approx(want)


def test_cross_entropy_with_huge_logits_is_finite():
    logits = tc.Tensor(np.array([[1e4, -1e4, 0.0], [0.0, 0.0, -3e4]], dtype=np.float32), requires_grad=True)
    out = tc.ops.cross_entropy(logits, np.array([1, 0]))
    assert out.item() == pytest.approx((2e4 + np.log(2.0)) / 2, rel=1e-6)
    out.backward()
    assert np.all(np.isfinite(logits.grad))


def test_binary_cross_entropy_at_exactly_zero_and_one_follows_the_convention():
    (convention,) = OPS["binary_cross_entropy"].conventions
    p, t = (a.astype(np.float32) for a in convention.args)
    out = tc.ops.binary_cross_entropy(tc.Tensor(p), t)
    assert out.item() == pytest.approx(50.0)  # two terms log 1 = 0, two clamped at -100; mean of 4
    _, res = OPS["binary_cross_entropy"].forward(*convention.args)
    for got, want in zip(OPS["binary_cross_entropy"].vjp(convention.g, res), convention.expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_binary_cross_entropy_with_logits_equals_bce_of_sigmoid_and_never_overflows():
    z = np.array([-3.0, -0.5, 0.0, 2.0, 5.0], dtype=np.float32)
    t = np.array([0.0, 1.0, 0.5, 1.0, 0.0], dtype=np.float32)
    direct = tc.ops.binary_cross_entropy(1 / (1 + np.exp(-z)), t).item()
    assert tc.ops.binary_cross_entropy_with_logits(z, t).item() == pytest.approx(direct, rel=1e-5)
    huge = tc.Tensor(np.array([-1e30, 1e30], dtype=np.float32), requires_grad=True)
    out = tc.ops.binary_cross_entropy_with_logits(huge, np.array([0.0, 0.0], dtype=np.float32))
    assert out.item() == pytest.approx(5e29)
    out.backward()
    np.testing.assert_allclose(huge.grad, [0.0, 0.5])


def test_mse_value_and_gradient_to_both_inputs():
    pred = tc.Tensor(np.array([1.0, 2.0, 4.0]), requires_grad=True)
    target = tc.Tensor(np.array([1.0, 0.0, 1.0]), requires_grad=True)
    out = tc.ops.mse(pred, target)
    assert out.item() == pytest.approx((0 + 4 + 9) / 3)
    out.backward()
    np.testing.assert_allclose(pred.grad, [0.0, 4 / 3, 2.0])
    np.testing.assert_allclose(target.grad, [0.0, -4 / 3, -2.0])


# ---------------------------------------------------------------------------- bad input


def _zeros(*shape):
    return np.zeros(shape, dtype=np.float32)


@pytest.mark.parametrize(
    "call, words",
    [
        pytest.param(lambda: tc.ops.cross_entropy(_zeros(4, 10), np.array([1, 2, 10, 3])), ["cross_entropy", "label 10", "10 classes", "(4, 10)"], id='cross_entropy: label = classes'),
        pytest.param(lambda: tc.ops.cross_entropy(_zeros(2, 3), np.array([-1, 0])), ["cross_entropy", "label -1", "3 classes"], id='cross_entropy: negative label'),
        pytest.param(lambda: tc.ops.cross_entropy(_zeros(4, 10), np.array([1, 2, 3])), ["cross_entropy", "(3,)", "(4, 10)", "(4,)"], id='cross_entropy: too few labels'),
        pytest.param(lambda: tc.ops.cross_entropy(_zeros(4, 10), _zeros(4, 9)), ["cross_entropy", "(4, 9)", "(4, 10)"], id='cross_entropy: rows of the wrong width'),
        pytest.param(lambda: tc.ops.cross_entropy(_zeros(4, 10), np.zeros((4, 1), dtype=int)), ["cross_entropy", "(4, 1)", "(4,)"], id='cross_entropy: labels as a column'),
        pytest.param(lambda: tc.ops.cross_entropy(_zeros(2, 3), np.array([0.5, 1.0])), ["cross_entropy", "integers", "0.5"], id='cross_entropy: fractional label'),
        pytest.param(lambda: tc.ops.cross_entropy(_zeros(10), np.array([1])), ["cross_entropy", "2-D", "(10,)"], id='cross_entropy: 1-D logits'),
        pytest.param(lambda: tc.ops.mse(_zeros(4, 1), _zeros(4)), ["mse", "(4, 1)", "(4,)"], id='mse: shape mismatch'),
        pytest.param(lambda: tc.ops.binary_cross_entropy(_zeros(3), _zeros(4)), ["binary_cross_entropy", "(3,)", "(4,)"], id='bce: shape mismatch'),
        pytest.param(lambda: tc.ops.binary_cross_entropy(np.array([0.5, 1.5], dtype=np.float32), _zeros(2)), ["binary_cross_entropy", "[0, 1]", "1.5"], id='bce: p outside [0, 1]'),
        pytest.param(lambda: tc.ops.binary_cross_entropy_with_logits(_zeros(2, 2), _zeros(4)), ["binary_cross_entropy_with_logits", "(2, 2)", "(4,)"], id='bce with logits: shape mismatch'),
    ],
)
def test_bad_input_names_the_op_and_the_values(call, words):
    with pytest.raises(OpError) as info:
        call()
    for word in words:
        assert word in str(info.value)


def test_loss_ops_are_registered_through_the_default_plugin():
    for name, op in OPS.items():
        assert tc.get_op(name) is op
