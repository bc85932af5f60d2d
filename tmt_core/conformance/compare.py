"""Comparing arrays and saying where and by how much they differ."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

__all__ = ["mismatch", "values_text", "copy_tree", "arrays_in", "noncontiguous_variants"]


def values_text(array: Any, limit: int = 6) -> str:
    """A short rendering of an array: the values when there are few, else shape and range."""
    a = np.asarray(array)
    if a.size <= limit:
        return np.array2string(a, precision=4, separator=", ", suppress_small=True)
    return f"array of shape {a.shape} in [{a.min():.4g}, {a.max():.4g}]"


def mismatch(expected: Any, actual: Any, rtol: float, atol: float) -> str | None:
    """None when ``actual`` is close to ``expected``; otherwise what differs and where."""
    e, a = np.asarray(expected), np.asarray(actual)
    if e.shape != a.shape:
        return f"expected shape {e.shape}, got {a.shape}"
    e64, a64 = e.astype(np.float64), a.astype(np.float64)
    if np.allclose(a64, e64, rtol=rtol, atol=atol, equal_nan=True):
        return None
    error = np.abs(a64 - e64)
    error = np.where(np.isnan(error), np.inf, error)
    worst = np.unravel_index(int(np.argmax(error)), e.shape) if e.ndim else ()
    where = f" at index {tuple(int(i) for i in worst)}" if e.ndim else ""
    bad = int(np.count_nonzero(~np.isclose(a64, e64, rtol=rtol, atol=atol, equal_nan=True)))
    return (
        f"expected {e64[worst]:.6g}{where}, got {a64[worst]:.6g} "
        f"({bad} of {e.size} value(s) off, rtol={rtol:g}, atol={atol:g})"
    )


def copy_tree(tree: Any) -> Any:
    """A copy of every array in nested tuples, lists and dicts (residuals come in any shape)."""
    if isinstance(tree, np.ndarray):
        return tree.copy()
    if isinstance(tree, (tuple, list)):
        return type(tree)(copy_tree(t) for t in tree)
    if isinstance(tree, dict):
        return {k: copy_tree(v) for k, v in tree.items()}
    return tree


def arrays_in(tree: Any, path: str = "residuals") -> Iterator[tuple[str, np.ndarray]]:
    """Every array in a nested structure, with a path naming it (``residuals[1]``)."""
    if isinstance(tree, np.ndarray):
        yield path, tree
    elif isinstance(tree, (tuple, list)):
        for i, t in enumerate(tree):
            yield from arrays_in(t, f"{path}[{i}]")
    elif isinstance(tree, dict):
        for k, v in tree.items():
            yield from arrays_in(v, f"{path}[{k!r}]")


def _strided(x: np.ndarray) -> np.ndarray:
    # every other element of a buffer twice as long along the last axis: same values, gaps
    buffer = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), dtype=x.dtype)
    view = buffer[..., ::2]
    view[...] = x
    return view


def noncontiguous_variants(x: np.ndarray) -> dict[str, np.ndarray]:
    """The same values in memory layouts a user's array may have: transposed storage (as
    ``a.T`` gives) and a strided view (as ``a[:, ::2]`` gives)."""
    variants = {}
    if x.ndim >= 2:
        variants["transposed"] = np.ascontiguousarray(np.swapaxes(x, -1, -2)).swapaxes(-1, -2)
    if x.ndim >= 1 and x.size > 1:
        variants["strided"] = _strided(x)
    return variants
