"""Arrays in, batches out: fit's own small batcher (tmt_nn depends on tmt_core only)."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

__all__ = ["as_arrays", "batches", "step_count"]


def as_arrays(data: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` as arrays: float inputs and float (one-hot) targets become float32 once,
    here, not per batch; integer labels stay integers."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"{what} must be an (X, y) pair of arrays, got {type(data).__name__}")
    inputs, targets = (_float32(np.asarray(getattr(a, "data", a))) for a in data)
    if inputs.ndim == 0 or targets.ndim == 0 or len(inputs) != len(targets):
        raise ValueError(
            f"{what}: X and y must hold the same number of examples, got shapes "
            f"{inputs.shape} and {targets.shape}"
        )
    if len(inputs) == 0:
        raise ValueError(f"{what} is empty")
    return inputs, targets


def _float32(array: np.ndarray) -> np.ndarray:
    return array.astype(np.float32) if array.dtype.kind == "f" and array.dtype != np.float32 else array


def step_count(examples: int, batch_size: int) -> int:
    return -(-examples // batch_size)  # the last, partial batch counts


def batches(
    inputs: np.ndarray, targets: np.ndarray, batch_size: int, order: np.ndarray | None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Consecutive slices (views, no copy) or, with a shuffled ``order``, gathered batches."""
    for start in range(0, len(inputs), batch_size):
        if order is None:
            yield inputs[start : start + batch_size], targets[start : start + batch_size]
        else:
            chosen = order[start : start + batch_size]
            yield inputs[chosen], targets[chosen]
