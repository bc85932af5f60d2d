"""Checks a dataset plugin must pass, as plain functions (usable from a notebook).

A dataset loader is called as ``loader(**options)`` and returns ``(X_train, y_train, X_test,
y_test)``: float32 inputs scaled to [0, 1] (or the range its documentation states), integer
labels in ``[0, number of classes)``, or one-hot rows when asked for.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

__all__ = [
    "load_splits",
    "check_dataset",
    "check_dataset_shapes",
    "check_dataset_dtypes",
    "check_dataset_values",
    "check_dataset_deterministic",
]

Loader = Callable[..., Any]
SPLITS = ("X_train", "y_train", "X_test", "y_test")


def _name(loader: Loader) -> str:
    return getattr(loader, "__name__", repr(loader))


def load_splits(loader: Loader, options: dict[str, Any] | None = None) -> tuple[np.ndarray, ...]:
    """Call the loader and check it returns four arrays."""
    splits = loader(**(options or {}))
    assert isinstance(splits, tuple) and len(splits) == 4, (
        f"dataset loader {_name(loader)} must return (X_train, y_train, X_test, y_test), "
        f"got {type(splits).__name__} of length {len(splits) if hasattr(splits, '__len__') else '?'}"
    )
    for label, array in zip(SPLITS, splits):
        assert isinstance(array, np.ndarray), (
            f"dataset loader {_name(loader)}: {label} is a {type(array).__name__}, not a NumPy array"
        )
    return splits


def check_dataset_shapes(splits: tuple[np.ndarray, ...], name: str = "dataset") -> None:
    """As many labels as inputs in each split; train and test have the same sample shape."""
    X_train, y_train, X_test, y_test = splits
    for split, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        assert X.ndim >= 2 and len(X) > 0, (
            f"{name}: X_{split} has shape {X.shape}; expected (samples, features...) with samples > 0"
        )
        assert len(y) == len(X), (
            f"{name}: X_{split} has {len(X)} samples but y_{split} has {len(y)} labels"
        )
    assert X_train.shape[1:] == X_test.shape[1:], (
        f"{name}: a train sample has shape {X_train.shape[1:]}, a test sample {X_test.shape[1:]}"
    )
    assert y_train.shape[1:] == y_test.shape[1:], (
        f"{name}: y_train has shape {y_train.shape}, y_test {y_test.shape}"
    )


def check_dataset_dtypes(
    splits: tuple[np.ndarray, ...], name: str = "dataset", input_dtype: Any = np.float32
) -> None:
    """Inputs are ``input_dtype`` (float32: nothing upcasts in training); labels are integers,
    or float one-hot rows."""
    X_train, y_train, X_test, y_test = splits
    for label, X in (("X_train", X_train), ("X_test", X_test)):
        assert X.dtype == np.dtype(input_dtype), f"{name}: {label} is {X.dtype}, not {np.dtype(input_dtype)}"
    for label, y in (("y_train", y_train), ("y_test", y_test)):
        if y.ndim == 1:
            assert y.dtype.kind in "iu", f"{name}: {label} labels are {y.dtype}, not integers"
        else:
            assert y.ndim == 2 and y.dtype.kind == "f", (
                f"{name}: {label} has shape {y.shape} {y.dtype}; labels are integers (n,) "
                f"or one-hot floats (n, classes)"
            )


def check_dataset_values(
    splits: tuple[np.ndarray, ...],
    name: str = "dataset",
    value_range: tuple[float, float] = (0.0, 1.0),
    num_classes: int | None = None,
) -> None:
    """Inputs are finite and inside ``value_range``; labels are in ``[0, num_classes)`` (one-hot
    rows hold a single 1)."""
    X_train, y_train, X_test, y_test = splits
    low, high = value_range
    for label, X in (("X_train", X_train), ("X_test", X_test)):
        assert np.all(np.isfinite(X)), f"{name}: {label} holds NaN or infinite values"
        assert X.min() >= low and X.max() <= high, (
            f"{name}: {label} spans [{X.min()}, {X.max()}], outside [{low}, {high}] "
            f"(normalise, or state the range you document)"
        )
    for label, y in (("y_train", y_train), ("y_test", y_test)):
        if y.ndim == 2:
            assert np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1), (
                f"{name}: {label} is 2-D but its rows are not one-hot"
            )
            continue
        classes = num_classes if num_classes is not None else int(y_train.max()) + 1
        assert y.min() >= 0 and y.max() < classes, (
            f"{name}: {label} spans [{y.min()}, {y.max()}], outside [0, {classes})"
        )


def _takes_seed(loader: Loader) -> bool:
    try:
        return "seed" in inspect.signature(loader).parameters
    except (TypeError, ValueError):  # a builtin or C callable: no signature to read
        return False


def check_dataset_deterministic(loader: Loader, options: dict[str, Any] | None = None) -> None:
    """The same options give the same samples in the same order; a loader that takes
    ``seed`` is called twice with the same seed (0 unless the options give one)."""
    options = dict(options or {})
    if _takes_seed(loader):
        options.setdefault("seed", 0)
    first, second = load_splits(loader, options), load_splits(loader, options)
    for label, a, b in zip(SPLITS, first, second):
        assert a.shape == b.shape and np.array_equal(a, b), (
            f"dataset loader {_name(loader)}: two calls with {options} give different {label}"
        )


def check_dataset(
    loader: Loader,
    options: dict[str, Any] | None = None,
    *,
    value_range: tuple[float, float] = (0.0, 1.0),
    num_classes: int | None = None,
    input_dtype: Any = np.float32,
) -> None:
    """Every dataset check; raises AssertionError naming the first one that fails."""
    splits = load_splits(loader, options)
    name = f"dataset loader {_name(loader)}"
    check_dataset_shapes(splits, name)
    check_dataset_dtypes(splits, name, input_dtype)
    check_dataset_values(splits, name, value_range, num_classes)
    check_dataset_deterministic(loader, options)
