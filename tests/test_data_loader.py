"""DataLoader: batch shapes, order, per-epoch shuffling, seeds, drop_last, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from tmt_data import DataLoader


def data(n=10, features=3):
    X = np.arange(n * features, dtype=np.float32).reshape(n, features)
    return X, np.arange(n, dtype=np.int64)


def test_batches_in_order_with_a_short_last_one():
    X, y = data()
    loader = DataLoader(X, y, batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [xb.shape for xb, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y)
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches]), X)
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64


def test_unshuffled_batches_are_views():
    X, y = data()
    xb, _ = next(iter(DataLoader(X, y, batch_size=4)))
    assert np.shares_memory(xb, X)


def test_drop_last():
    X, y = data()
    loader = DataLoader(X, y, batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(yb) for _, yb in loader] == [4, 4]
    exact = DataLoader(*data(8), batch_size=4, drop_last=True)
    assert len(exact) == 2 and [len(yb) for _, yb in exact] == [4, 4]


def test_batch_larger_than_the_data():
    X, y = data(3)
    assert [len(yb) for _, yb in DataLoader(X, y, batch_size=10)] == [3]
    assert len(DataLoader(X, y, batch_size=10, drop_last=True)) == 0
    assert list(DataLoader(X, y, batch_size=10, drop_last=True)) == []


def test_shuffle_is_a_permutation_keeping_pairs_together():
    X, y = data(50)
    loader = DataLoader(X, y, batch_size=8, shuffle=True, seed=0)
    seen = []
    for xb, yb in loader:
        np.testing.assert_array_equal(xb, X[yb])  # row i of X still goes with label i
        seen.append(yb)
    order = np.concatenate(seen)
    assert sorted(order) == list(range(50))
    assert not np.array_equal(order, np.arange(50))


def epoch_orders(loader, epochs):
    return [np.concatenate([yb for _, yb in loader]) for _ in range(epochs)]


def test_one_permutation_per_epoch_reproducible_with_a_seed():
    X, y = data(40)
    first = epoch_orders(DataLoader(X, y, batch_size=16, shuffle=True, seed=3), 3)
    second = epoch_orders(DataLoader(X, y, batch_size=16, shuffle=True, seed=3), 3)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])  # a new order each epoch
    other_seed = epoch_orders(DataLoader(X, y, batch_size=16, shuffle=True, seed=4), 1)
    assert not np.array_equal(first[0], other_seed[0])


def test_epoch_e_is_reproducible_on_its_own():
    X, y = data(40)
    history = epoch_orders(DataLoader(X, y, batch_size=16, shuffle=True, seed=9), 3)
    resumed = DataLoader(X, y, batch_size=16, shuffle=True, seed=9)
    resumed.epoch = 2
    np.testing.assert_array_equal(epoch_orders(resumed, 1)[0], history[2])
    np.testing.assert_array_equal(resumed.order(1), history[1])


def test_unseeded_shuffle_differs_between_epochs():
    X, y = data(200)
    loader = DataLoader(X, y, batch_size=50, shuffle=True)
    first, second = epoch_orders(loader, 2)
    assert not np.array_equal(first, second)


def test_multidimensional_inputs_and_one_hot_targets():
    X = np.zeros((6, 1, 28, 28), np.float32)
    y = np.eye(10, dtype=np.float32)[np.arange(6) % 10]
    loader = DataLoader(X, y, batch_size=4, shuffle=True, seed=1)
    shapes = [(xb.shape, yb.shape) for xb, yb in loader]
    assert shapes == [((4, 1, 28, 28), (4, 10)), ((2, 1, 28, 28), (2, 10))]


@pytest.mark.parametrize("batch_size", [0, -32])
def test_batch_size_must_be_positive(batch_size):
    with pytest.raises(ValueError, match=f"batch_size must be positive, got {batch_size}"):
        DataLoader(*data(), batch_size=batch_size)


@pytest.mark.parametrize("batch_size", [2.5, "32", True, None])
def test_batch_size_must_be_an_integer(batch_size):
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        DataLoader(*data(), batch_size=batch_size)


def test_numpy_integer_batch_size_is_fine():
    assert len(DataLoader(*data(), batch_size=np.int64(5))) == 2


def test_length_mismatch_names_both_shapes():
    X, _ = data(10)
    with pytest.raises(ValueError, match=r"X has shape \(10, 3\), y has shape \(9,\)"):
        DataLoader(X, np.arange(9), batch_size=4)


def test_scalars_are_rejected():
    with pytest.raises(ValueError, match="need a first"):
        DataLoader(np.float32(1.0), np.int64(1), batch_size=1)
