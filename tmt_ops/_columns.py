"""The column matrix of a convolution, and the input gradient through it (private to conv2d).

conv2d is a matmul per image, ``W (O, K) @ colsₙ (K, P)``, with K = C*kh*kw (one row per
channel and kernel offset) and P = OH*OW output positions; row (c, i, j) of ``colsₙ`` is the
strided view ``padded[n, c, i::sh, j::sw]`` of the padded input, copied out.

- :func:`gather` builds the columns of the whole batch as (K, N, P), each thread its own
  images, and lets the caller run that thread's matmuls on them while they are still in cache.
- :func:`input_gradient` is the adjoint for x: ``dcols = Wᵀ G``, then col2im adds every
  column entry back onto the input position it read.

For stride 1, the input gradient uses **shifted rows**: every output row is treated as if it
ran over the full padded width Wp (the Wp - OW extra positions get a zero cotangent). Then row
(c, i, j) of image n is *one contiguous slice* of the flattened padded image, starting at
i*Wp + j — output (y, x) reads ``flat[i*Wp + j + y*Wp + x] = padded[y + i, x + j]`` — and
col2im is kh*kw slice-adds over OH*Wp contiguous elements each, instead of row by row over
OW (about twice as fast at W2's 14x14 images, for 14% more matmul work). One spare zero row at the
bottom keeps the junk positions of the last kernel row inside the buffer.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._parallel import over_batch
from ._windows import Pair, add_windows, pad, windows


def gather(
    x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, then: Callable[[np.ndarray, int, int], None]
) -> np.ndarray:
    """The columns of x as (K, N, P). ``then(cols, start, stop)`` runs on each thread right
    after the columns of its images start:stop are written."""
    view = windows(pad(x, padding), kernel, stride).transpose(1, 4, 5, 0, 2, 3)  # (C, kh, kw, N, OH, OW)
    c, kh, kw, n, oh, ow = view.shape
    cols6 = np.empty(view.shape, dtype=x.dtype)
    cols = cols6.reshape(c * kh * kw, n, oh * ow)  # sizes spelled out: any of them may be 0

    def task(start, stop):
        cols6[:, :, :, start:stop] = view[:, :, :, start:stop]
        then(cols, start, stop)

    over_batch(x.shape[0], cols.size, task)
    return cols


def input_gradient(g: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], stride: Pair, padding: Pair) -> np.ndarray:
    """d loss/d x from g = d loss/d out (N, O, OH, OW) and the weight w (O, C, kh, kw)."""
    o, c, kh, kw = w.shape
    w2d_t = np.ascontiguousarray(w.reshape(o, c * kh * kw).T)  # (K, O)
    # Shifted rows give the junk positions a zero cotangent, and 0·inf is NaN: a weight that is
    # not finite takes the exact path.
    if stride == (1, 1) and np.isfinite(w2d_t).all():
        return _shifted_rows_col2im(g, w2d_t, x_shape, (kh, kw), padding)
    n, _, oh, ow = g.shape
    d_cols = np.empty((c, kh, kw, n, oh, ow), dtype=np.result_type(g, w))

    def per_image(start, stop):  # dcolsₙ = Wᵀ Gₙ
        target = d_cols[:, :, :, start:stop].reshape(c * kh * kw, stop - start, oh * ow).transpose(1, 0, 2)
        np.matmul(w2d_t, g[start:stop].reshape(stop - start, o, oh * ow), out=target)

    over_batch(n, d_cols.size, per_image)
    return add_windows(d_cols.transpose(3, 0, 1, 2, 4, 5), x_shape, stride, padding)


def _shifted_rows_col2im(g, w2d_t, x_shape, kernel, padding):
    (n, o, oh, ow), (_, c, height, width), (kh, kw), (ph, pw) = g.shape, x_shape, kernel, padding
    hp, wp = height + 2 * ph, width + 2 * pw
    spare = 1 if kw > 1 else 0  # the junk positions of the last kernel row run kw-1 past the end
    total = np.zeros((n, c, hp + spare, wp), dtype=np.result_type(g, w2d_t))
    flat = total.reshape(n, c, (hp + spare) * wp).transpose(1, 0, 2)  # (C, N, ·): as the columns run

    def images(start, stop):  # each thread its own images, from G to col2im
        count = stop - start
        g_t = np.zeros((o, count, oh, wp), dtype=g.dtype)  # G as (O, images·OH·Wp)
        g_t[..., :ow] = g[start:stop].transpose(1, 0, 2, 3)  # the junk positions stay 0
        d_cols = np.dot(w2d_t, g_t.reshape(o, count * oh * wp)).reshape(c, kh, kw, count, oh * wp)  # Wᵀ G
        for i in range(kh):
            for j in range(kw):
                offset = i * wp + j  # offset (i, j) read flat[offset + y*Wp + x]
                flat[:, start:stop, offset : offset + oh * wp] += d_cols[:, i, j]

    over_batch(n, n * c * kh * kw * oh * wp, images)
    return total[:, :, ph : ph + height, pw : pw + width]
