"""The column matrix of a convolution and its adjoint, col2im (private to conv2d).

conv2d is one matmul, ``W (O, K) @ cols (K, N*P)``, with K = C*kh*kw (one row per channel and
kernel offset) and P the output positions of one image. :class:`Columns` builds ``cols``
from the input and adds a cotangent of ``cols`` back onto the input, in one of two layouts:

- **windows** (any stride): P = OH*OW. Row (c, i, j) of image n is the strided view
  ``padded[n, c, i::sh, j::sw]`` (OH x OW), copied out. The copy and the adjoint
  (``_windows.add_windows``) move OW elements at a time.
- **shifted rows** (stride 1): every output row is computed over the full padded width Wp,
  so P = OH*Wp and the last Wp - OW outputs of each row are junk that the caller drops (and
  must give a zero cotangent). In exchange, row (c, i, j) of image n is *one contiguous
  slice* of the flattened padded image, starting at i*Wp + j: output (y, x) reads
  ``flat[i*Wp + j + y*Wp + x] = padded[y + i, x + j]``. Copying out and adding back run
  over OH*Wp elements at a time, a few times faster than row by row, for ~(Wp - OW)/OW more
  matmul work (14% at 14x14, padding 1). One spare zero row at the bottom of the padded
  image keeps the junk reads of the last kernel row inside the buffer.

Both layouts store ``cols`` as (C, kh, kw, N, OH, row), ``row`` = OW or Wp: each matmul reads
it as a plain (K, N*OH*row) matrix, and the copies are split over the batch across cores.
"""

from __future__ import annotations

import numpy as np

from ._parallel import over_batch
from ._windows import Pair, add_windows, pad, windows


class Columns:
    """The geometry of one convolution's column matrix (see the module docstring)."""

    def __init__(self, x_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair, out_size: Pair, shifted_rows: bool) -> None:
        self.x_shape, self.kernel, self.stride, self.padding = x_shape, kernel, stride, padding
        self.out_size = out_size
        self.shifted_rows = shifted_rows and stride == (1, 1)
        self.padded_width = x_shape[3] + 2 * padding[1]
        self.row = self.padded_width if self.shifted_rows else out_size[1]

    @property
    def shape(self) -> tuple[int, ...]:
        """(C, kh, kw, N, OH, row)."""
        (n, c), (kh, kw), (oh, _) = self.x_shape[:2], self.kernel, self.out_size
        return (c, kh, kw, n, oh, self.row)

    def gather(self, x: np.ndarray, then=None) -> np.ndarray:
        """The columns of x as (C, kh, kw, N, OH, row). ``then(cols, start, stop)``, when
        given, runs on each thread right after the columns of images start:stop are written."""
        cols = np.empty(self.shape, dtype=x.dtype)
        if self.shifted_rows:
            flat = self._flat(self._padded(x.dtype, x))

            def span(start, stop):
                for window, block in self._shifted_pairs(flat, cols, start, stop):
                    block[...] = window
        else:
            view = windows(pad(x, self.padding), self.kernel, self.stride).transpose(1, 4, 5, 0, 2, 3)

            def span(start, stop):
                cols[:, :, :, start:stop] = view[:, :, :, start:stop]

        def task(start, stop):
            span(start, stop)
            if then is not None:
                then(cols, start, stop)

        over_batch(self.x_shape[0], cols.size, task)
        return cols

    def scatter(self, d_cols: np.ndarray) -> np.ndarray:
        """col2im: the cotangent of x from the cotangent of its columns (C, kh, kw, N, OH, row);
        every input position gets the sum over the columns that read it."""
        if not self.shifted_rows:
            per_window = d_cols.transpose(3, 0, 1, 2, 4, 5)  # (N, C, kh, kw, OH, OW)
            return add_windows(per_window, self.x_shape, self.stride, self.padding)
        total = self._padded(d_cols.dtype)
        flat = self._flat(total)

        def span(start, stop):
            for window, block in self._shifted_pairs(flat, d_cols, start, stop):
                window += block  # the offsets run one after another: no write races

        over_batch(self.x_shape[0], d_cols.size, span)
        (ph, pw), (h, w) = self.padding, self.x_shape[2:]
        return total[:, :, ph : ph + h, pw : pw + w]

    def _padded(self, dtype, x: np.ndarray | None = None) -> np.ndarray:
        """Zeros of (N, C, Hp + 1, Wp), with x in the middle when given."""
        n, c, h, w = self.x_shape
        (ph, pw), (_, kw) = self.padding, self.kernel
        spare = 1 if kw > 1 else 0  # the junk reads of the last kernel row run kw-1 past the end
        padded = np.zeros((n, c, h + 2 * ph + spare, self.padded_width), dtype=dtype)
        if x is not None:
            padded[:, :, ph : ph + h, pw : pw + w] = x
        return padded

    @staticmethod
    def _flat(padded: np.ndarray) -> np.ndarray:
        """(N, C, Hp', Wp) as (C, N, Hp'*Wp): the channel first, as in the columns."""
        n, c = padded.shape[:2]
        return padded.reshape(n, c, -1).transpose(1, 0, 2)

    def _shifted_pairs(self, flat, cols, start, stop):
        """For each kernel offset (i, j), over images start:stop: the slice of the flat
        padded images that offset reads, and the columns block (C, images, OH*Wp) it fills."""
        c, kh, kw, _, oh, row = cols.shape
        length = oh * row
        for i in range(kh):
            for j in range(kw):
                offset = i * row + j
                block = cols[:, i, j, start:stop].reshape(c, stop - start, length)
                yield flat[:, start:stop, offset : offset + length], block
