"""The column matrix of a convolution, and the input gradient through it (private to conv2d).

conv2d is a matmul per image, ``W (O, K) @ colsₙ (K, P)``, with K = C*kh*kw (one row per
channel and kernel offset) and P = OH*OW output positions; row (c, i, j) of ``colsₙ`` is the
strided view ``padded[n, c, i::sh, j::sw]`` of the padded input, copied out.

- :func:`gather` builds the columns of the whole batch as (N, K, P), each thread its own
  images, and lets the caller run that thread's matmuls on them while they are still in cache.
- :func:`input_gradient` is the adjoint for x: ``dcols = Wᵀ G``, then col2im adds every
  column entry back onto the input position it read.

For stride 1, col2im runs over **stacked images**: a block of images is laid out as one long
row per channel, each padded image starting ``share`` elements after the previous one (the
bottom padding rows of one are the top padding rows of the next, and likewise the right
padding columns of an image row are the left ones of the next row, so a row takes W + pw
places), and every output position q is computed over that whole row (the positions that are
not real outputs get a zero cotangent). Output q of kernel offset (i, j) then reads
``row[q + i*pitch + j]``, so the col2im of offset (i, j) is *one* contiguous add of C rows at
once, and all kh*kw of them are one reduction over a strided view (:func:`shifted`), where
the exact layout takes a strided add per offset and image over OW-long rows. NumPy's ufuncs
run several times slower on strided operands than on contiguous ones.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._parallel import over_batch
from ._windows import Pair, add_windows, pad_into, padded_shape, windows


def gather(
    x: np.ndarray,
    kernel: Pair,
    stride: Pair,
    padding: Pair,
    then: Callable[[np.ndarray, int, int], None],
    order: str | None = None,
) -> np.ndarray:
    """The columns of x as (N, K + 1, P), each image's last row all ones: the bias's input, so that
    ``[W b] @ cols`` is the convolution with its bias, and ``G @ colsᵀ`` gives db with dW.
    ``then(cols, start, stop)`` runs on each thread right after the columns of its images
    start:stop are written. The P output positions are in row-major order (y, x), or, for a
    2x2 pooling that follows (OH and OW even), in one of two orders, position (y, x) being
    (2y' + di, 2x' + dj): ``order="pool"``, (di, dj, y', x'): the four corners of every
    pooling window sit in four contiguous planes; ``order="rows"``, (di, y', x): the even
    rows, then the odd ones, so that the top rows of all the windows are one run, and their
    bottom rows another."""
    if order not in (None, "pool", "rows"):
        raise ValueError(f"columns.gather: order must be None, 'pool' or 'rows', got {order!r}")
    # Each thread pads its own images (a copy of the whole input: not worth a pass of its own).
    padded = x if padding == (0, 0) else np.empty(padded_shape(x.shape, padding), dtype=x.dtype)
    view = windows(padded, kernel, stride).transpose(0, 1, 4, 5, 2, 3)  # (N, C, kh, kw, OH, OW)
    n, c, kh, kw, oh, ow = view.shape
    if order == "pool":
        view = pool_order(view)  # (N, C, kh, kw, 2, 2, OH/2, OW/2)
    elif order == "rows":
        view = rows_order(view)  # (N, C, kh, kw, 2, OH/2, OW)
    # Each image's matrix in one piece: OpenBLAS runs the per-image matmuls ~12% faster so
    # than on rows N*P apart. Sizes spelled out: any may be 0.
    cols = np.empty((n, c * kh * kw + 1, oh * ow), dtype=x.dtype)
    cols6 = cols[:, :-1].reshape(view.shape)

    def task(start, stop):
        if padded is not x:
            pad_into(padded[start:stop], x[start:stop], padding)
        cols6[start:stop] = view[start:stop]
        cols[start:stop, -1] = 1
        then(cols, start, stop)

    over_batch(x.shape[0], cols.size, task)
    return cols


def pool_order(a: np.ndarray) -> np.ndarray:
    """The view of ``a`` (..., OH, OW), OH and OW even, as (..., 2, 2, OH/2, OW/2), where
    [..., di, dj, y', x'] is position (2y' + di, 2x' + dj): the order of pool-ordered columns.
    Splitting an axis never copies, so writes through it reach ``a``."""
    *lead, oh, ow = a.shape
    first = len(lead)  # axes first.. are (y', di, x', dj) after the split
    split = a.reshape(*lead, oh // 2, 2, ow // 2, 2)
    return split.transpose(*range(first), first + 1, first + 3, first, first + 2)


def by_corner(cols: np.ndarray) -> np.ndarray:
    """Pool-ordered columns (N, K + 1, 4Q) as the view (4, N, K + 1, Q): corner t's columns of
    each image, for a batched matmul whose output puts each corner's plane in one run."""
    n, rows, positions = cols.shape
    return cols.reshape(n, rows, 4, positions // 4).transpose(2, 0, 1, 3)


def rows_order(a: np.ndarray) -> np.ndarray:
    """The view of ``a`` (..., OH, OW), OH even, as (..., 2, OH/2, OW), where [..., di, y', x]
    is position (2y' + di, x): the order of ``order="rows"`` columns."""
    *lead, oh, ow = a.shape
    return a.reshape(*lead, oh // 2, 2, ow).swapaxes(-3, -2)


def input_gradient(g: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], stride: Pair, padding: Pair) -> np.ndarray:
    """d loss/d x from g = d loss/d out (N, O, OH, OW) and the weight w (O, C, kh, kw)."""
    gx, fill = by_images(g, w, x_shape, stride, padding)
    if fill is not None:
        over_batch(g.shape[0], g.size * w.shape[1] * w.shape[2] * w.shape[3], fill)
        return gx
    n, o, oh, ow = g.shape
    c, kh, kw = w.shape[1:]
    w2d_t = np.ascontiguousarray(w.reshape(o, c * kh * kw).T)  # (K, O)
    d_cols = np.empty((c, kh, kw, n, oh, ow), dtype=np.result_type(g, w))

    def per_image(start, stop):  # dcolsₙ = Wᵀ Gₙ
        target = d_cols[:, :, :, start:stop].reshape(c * kh * kw, stop - start, oh * ow).transpose(1, 0, 2)
        np.matmul(w2d_t, g[start:stop].reshape(stop - start, o, oh * ow), out=target)

    over_batch(n, d_cols.size, per_image)
    return add_windows(d_cols.transpose(3, 0, 1, 2, 4, 5), x_shape, stride, padding)


# A block's dcols has about this many elements (4 MB of float32, ~30 of W2's 14x14 images).
# Smaller blocks stay in the core's cache, but each costs NumPy calls whose bookkeeping two
# threads must take turns at (the GIL): ~30 images was fastest at W2's second convolution.
_BLOCK_ELEMENTS = 1 << 20


def by_images(g, w, x_shape, stride, padding):
    """``(gx, fill)``: ``fill(start, stop)`` writes the input gradient of images start:stop
    into gx over stacked images, for a caller to run on its threads (it reads g[start:stop]
    only then). g is (N, O, OH, OW), or (N, O, 2, OH/2, OW) in the rows order of the columns
    (:func:`rows_order`). ``(None, None)`` where the exact path must be taken instead."""
    # Stacked images give the junk positions a zero cotangent, and 0·inf is NaN: a weight that
    # is not finite takes the exact path.
    if stride != (1, 1) or 0 in g.shape[:2] or not w.shape[1] or not np.isfinite(w).all():
        return None, None
    o, (oh, ow) = g.shape[1], (g.shape[2:] if g.ndim == 4 else (2 * g.shape[3], g.shape[4]))
    (_, c, height, width), (_, _, kh, kw), (ph, pw) = x_shape, w.shape, padding
    # A row's pitch: reading past its end reaches the next row's left padding, which is as
    # good as the right padding as long as the data starts pw places in (wide padding: OW).
    wp = max(width + pw, ow)
    share = max(height + ph, oh) * wp  # one image's place in a block's row
    reach = (kh - 1) * wp + kw - 1  # how far past its output position an offset adds
    w_t = np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(kh * kw * c, o))  # Wᵀ, rows (i, j, c)
    gx = np.empty(x_shape, dtype=np.result_type(g, w))
    block = max(1, _BLOCK_ELEMENTS // (w_t.shape[0] * share))

    def one_block(first, count):
        row = count * share + reach  # a channel's row: the images one after another, then the reach
        g_s = np.zeros((o, row), dtype=g.dtype)  # G as (O, images' positions); junk positions stay 0
        images = g_s[:, : count * share].reshape(o, count, share // wp, wp)[:, :, :oh, :ow]
        (images if g.ndim == 4 else rows_order(images))[...] = g[first : first + count].swapaxes(0, 1)
        d_cols = np.matmul(w_t, g_s).reshape(-1)  # Wᵀ G: offset t's C rows, one run of c*row
        total = np.empty(c * row, dtype=gx.dtype)  # output q of offset (i, j) reads total[q + i*wp + j]
        np.add.reduce(shifted(d_cols, kh, kw, c * row, wp), axis=(0, 1), out=total)
        real = np.lib.stride_tricks.as_strided(  # image b, channel c, row y, column x of the input
            total[ph * wp + pw :],
            (count, c, height, width),
            (share * total.itemsize, row * total.itemsize, wp * total.itemsize, total.itemsize),
        )
        np.copyto(gx[first : first + count], real)

    def fill(start, stop):
        for first in range(start, stop, block):
            one_block(first, min(block, stop - first))

    return gx, fill


def shifted(d_cols: np.ndarray, kh: int, kw: int, run: int, wp: int) -> np.ndarray:
    """A view (kh, kw, run) of the flat dcols (kh*kw runs of ``run``) whose (i, j, m) is run
    t = i*kw + j at m - (i*wp + j): summed over (i, j) in one reduction, it is col2im's kh*kw
    shifted adds in one NumPy call (two threads making many short calls wait on each other
    for the GIL). Offset t's (i*wp + j) first entries reach back into run t - 1's last ones,
    the zeros of its last channel's junk positions; (i, j) -> t*run - i*wp - j is linear."""
    step = d_cols.itemsize
    return np.lib.stride_tricks.as_strided(
        d_cols, (kh, kw, run), ((kw * run - wp) * step, (run - 1) * step, step), writeable=False
    )
