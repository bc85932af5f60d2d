"""Undoing broadcasting: the one helper the engine uses for every broadcasting op."""

from __future__ import annotations

import numpy as np

__all__ = ["unbroadcast"]


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` back to ``shape``: over the leading axes broadcasting added, and over every
    axis where ``shape`` has 1 but ``g`` does not (d/dx of a broadcast copy is the sum).

    ``g`` must have a shape that ``shape`` broadcasts to; any other shape (a transposed or
    reshaped cotangent) is a ValueError, never silently reshaped.
    """
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra < 0 or any(n != 1 and n != m for n, m in zip(shape, g.shape[extra:])):
        raise ValueError(
            f"a cotangent of shape {g.shape} is not a broadcast of the input shape {shape}"
        )
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and g.shape[extra + i] != 1
    )
    out = g.sum(axis=axes) if axes else g
    return out.reshape(shape)
