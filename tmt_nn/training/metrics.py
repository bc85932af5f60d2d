"""Accuracy, computed on NumPy arrays beside the graph (it is never differentiated)."""

from __future__ import annotations

import numpy as np

__all__ = ["correct_count"]


def correct_count(outputs: np.ndarray, targets: np.ndarray) -> int | None:
    """How many rows of ``outputs`` (N, C) have their largest score at the target class;
    targets are int labels (N,) or one-hot (N, C). ``None`` when accuracy does not apply
    (regression outputs, a single output column)."""
    if outputs.ndim != 2 or outputs.shape[1] < 2:
        return None
    if targets.ndim == 1 and targets.dtype.kind in "iu":
        labels = targets
    elif targets.shape == outputs.shape:
        labels = targets.argmax(axis=1)
    else:
        return None
    return int(np.count_nonzero(outputs.argmax(axis=1) == labels))
