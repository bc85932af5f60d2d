"""Undoing broadcasting: the one helper the engine uses for every broadcasting op."""

from __future__ import annotations

import numpy as np

__all__ = ["unbroadcast"]


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` back to ``shape``: over the leading axes broadcasting added, and over every
    axis where ``shape`` has 1 but ``g`` does not (d/dx of a broadcast copy is the sum)."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"cannot unbroadcast a cotangent of shape {g.shape} to {shape}")
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and g.shape[extra + i] != 1
    )
    out = g.sum(axis=axes, keepdims=False) if axes else g
    return out.reshape(shape)
