"""The functional API: every function takes Tensors or arrays and is re-exported by tmt_nn."""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
import tmt_nn
from tmt_nn import functional as F

rng = np.random.default_rng(0)


def test_the_seed_functional_names_are_exported_at_the_top_level():
    for name in F.__all__:
        assert getattr(tmt_nn, name) is getattr(F, name), name


def test_arrays_and_tensors_give_the_same_float32_result():
    x = rng.standard_normal((4, 5))  # float64 on purpose: it becomes float32
    for fn in (F.relu, F.tanh, F.sigmoid, F.softmax, F.log_softmax):
        from_array, from_tensor = fn(x), fn(tc.Tensor(x))
        assert isinstance(from_array, tc.Tensor) and from_array.dtype == np.float32, fn.__name__
        np.testing.assert_array_equal(from_array.data, from_tensor.data)
    np.testing.assert_allclose(F.softmax(x).data.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(F.log_softmax(x, axis=0).data, np.log(F.softmax(x, axis=0).data), atol=1e-6)


def test_cross_entropy_accepts_labels_and_one_hot_rows():
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    labels = np.array([0, 3, 1, 2, 3, 0])
    expected = -np.mean(np.log(F.softmax(logits).data)[np.arange(6), labels])
    by_label = F.cross_entropy(logits, labels)
    assert by_label.shape == () and by_label.dtype == np.float32
    assert float(by_label.data) == pytest.approx(expected, rel=1e-5)
    assert float(F.cross_entropy(tc.Tensor(logits), tc.Tensor(np.eye(4)[labels])).data) == pytest.approx(expected, rel=1e-5)


def test_regression_and_binary_losses():
    pred = rng.random((5, 3)).astype(np.float32)
    target = (rng.random((5, 3)) > 0.5).astype(np.float32)
    assert float(F.mse(pred, target).data) == pytest.approx(np.mean((pred - target) ** 2), rel=1e-6)
    bce = -np.mean(target * np.log(pred) + (1 - target) * np.log(1 - pred))
    assert float(F.binary_cross_entropy(pred, target).data) == pytest.approx(bce, rel=1e-5)
    logits = np.log(pred / (1 - pred))
    assert float(F.binary_cross_entropy_with_logits(logits, target).data) == pytest.approx(bce, rel=1e-4)


def test_conv2d_without_bias_is_conv2d_with_zero_bias():
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    np.testing.assert_array_equal(F.conv2d(x, w).data, F.conv2d(x, w, np.zeros(4, np.float32)).data)
    assert F.conv2d(x, tc.Tensor(w), stride=2, padding=1).shape == (2, 4, 3, 3)


def test_window_functions():
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    assert F.im2col(x, 3).shape == (2 * 4 * 4, 3 * 9)
    assert F.im2patches(x, 2, stride=2).shape == (2, 3, 3, 3, 2, 2)
    pooled = F.max_pool2d(x, 2)
    np.testing.assert_array_equal(pooled.data, F.im2patches(x, 2, stride=2).data.max(axis=(4, 5)))


def test_dropout_function():
    x = np.ones((100, 100), dtype=np.float32)
    np.testing.assert_array_equal(F.dropout(x, 0.5, training=False).data, x)
    kept = F.dropout(x, 0.5, rng=0).data
    assert set(np.unique(kept)) == {0.0, 2.0}
    np.testing.assert_array_equal(kept, F.dropout(x, 0.5, rng=0).data)
    with pytest.raises(ValueError, match="dropout probability"):
        F.dropout(x, -0.1)
