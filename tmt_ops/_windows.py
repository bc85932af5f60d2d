"""Sliding windows over (N, C, H, W) images, shared by the conv/pool ops (private).

Two directions, one geometry:

- :func:`windows` reads every kernel-sized window of the padded input as a strided *view*
  of shape (N, C, OH, OW, kh, kw): no copy until a caller lays the windows out for a matmul;
- :func:`add_windows` is its adjoint (col2im): a per-window cotangent of shape
  (N, C, kh, kw, OH, OW) (any strides) is added back onto the input positions it was read
  from, by one slice-add per kernel offset into a zero buffer. Overlapping windows add up;
  positions that fall into the padding are dropped. The batch is split across cores.

Also: attribute parsing (``3`` or ``(3, 5)``) and input validation with errors that name the
op, the shapes and the values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tmt_core.extend import OpError

from ._parallel import over_batch

Pair = tuple[int, int]


def as_pair(value: Any) -> Pair:
    """An attribute already checked by :func:`pair` (``3`` or ``(3, 5)``) as two ints."""
    if np.ndim(value) == 0:
        return int(value), int(value)
    return int(value[0]), int(value[1])


def pair(op: str, name: str, value: Any, minimum: int) -> Pair:
    """``value`` (an int or an (h, w) pair) as two ints, each at least ``minimum``; an
    error naming the op and the attribute otherwise."""
    if isinstance(value, np.ndarray):  # dispatch turns positional arguments into arrays
        raise OpError(
            f"{op}: {name} arrived as an array input ({value!r}); attributes are keywords: "
            f"{op}(..., {name}={value.tolist()!r})"
        )
    items = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(items) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        raise OpError(f"{op}: {name} must be an int or a pair of ints (h, w), got {value!r}")
    if min(items) < minimum:
        need = "positive" if minimum == 1 else "non-negative"
        raise OpError(f"{op}: {name} must be {need}, got {value!r}")
    return int(items[0]), int(items[1])


def check_image(op: str, name: str, x: np.ndarray) -> None:
    if x.ndim != 4:
        raise OpError(
            f"{op}: {name} must be 4-D (N, C, H, W), got shape {x.shape}"
            + (" (add a channel axis: x.reshape(N, 1, H, W))" if x.ndim == 3 else "")
        )


def output_size(
    op: str, x_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair, what: str = "kernel", of: str = "x"
) -> Pair:
    """(OH, OW) of a window sweep; an error when the window does not fit the padded input."""
    padded = (x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])
    if kernel[0] > padded[0] or kernel[1] > padded[1]:
        padded_by = "" if padding == (0, 0) else f", padding {padding}"  # (a pool has none)
        raise OpError(
            f"{op}: {what} {kernel[0]}x{kernel[1]} is larger than the {'padded ' if padded_by else ''}"
            f"input {padded[0]}x{padded[1]} ({of} of shape {x_shape}{padded_by})"
        )
    return (
        (padded[0] - kernel[0]) // stride[0] + 1,
        (padded[1] - kernel[1]) // stride[1] + 1,
    )


def pad(x: np.ndarray, padding: Pair) -> np.ndarray:
    """Zero padding of H and W (a copy only when there is padding)."""
    if padding == (0, 0):
        return x
    padded = np.empty(padded_shape(x.shape, padding), dtype=x.dtype)
    pad_into(padded, x, padding)
    return padded


def padded_shape(shape: tuple[int, ...], padding: Pair) -> tuple[int, ...]:
    n, c, h, w = shape
    return (n, c, h + 2 * padding[0], w + 2 * padding[1])


def pad_into(padded: np.ndarray, x: np.ndarray, padding: Pair) -> None:
    """Write x zero-padded into ``padded``: the borders zeroed, the rest copied once."""
    (ph, pw), (h, w) = padding, x.shape[2:]
    padded[:, :, :ph] = 0
    padded[:, :, ph + h :] = 0
    padded[:, :, ph : ph + h, :pw] = 0
    padded[:, :, ph : ph + h, pw + w :] = 0
    padded[:, :, ph : ph + h, pw : pw + w] = x


def windows(padded: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
    """Read-only view (N, C, OH, OW, kh, kw): window (oh, ow) starts at (oh*sh, ow*sw)."""
    view = sliding_window_view(padded, kernel, axis=(2, 3))
    return view[:, :, :: stride[0], :: stride[1]]


def add_windows(
    per_window: np.ndarray, x_shape: tuple[int, ...], stride: Pair, padding: Pair
) -> np.ndarray:
    """col2im: the adjoint of :func:`windows`. ``per_window`` is (N, C, kh, kw, OH, OW);
    returns an array of ``x_shape`` where each input position holds the sum over every
    window (and kernel offset) that read it."""
    n, c, kh, kw, oh, ow = per_window.shape
    (sh, sw), (ph, pw) = stride, padding
    h, w = x_shape[2], x_shape[3]
    # The buffer covers the padded input; rows/columns a strided sweep never reaches stay 0.
    total = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=per_window.dtype)

    def accumulate(start, stop):
        for i in range(kh):
            for j in range(kw):
                # Offset (i, j) of window (y, x) read padded[y*sh + i, x*sw + j].
                rows = slice(i, i + sh * (oh - 1) + 1, sh)
                cols = slice(j, j + sw * (ow - 1) + 1, sw)
                total[start:stop, :, rows, cols] += per_window[start:stop, :, i, j]

    over_batch(n, per_window.size, accumulate)
    if ph == 0 and pw == 0:
        return total
    return total[:, :, ph : ph + h, pw : pw + w]
