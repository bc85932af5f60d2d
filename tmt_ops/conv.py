"""Convolution and pooling ops on (N, C, H, W) images: conv2d, max_pool2d, im2col, im2patches.

Everything goes through one idea: a window sweep is a strided *view* of the padded input
(``_windows.windows``), and its adjoint adds per-window cotangents back onto the input, one
slice-add per kernel offset (``_windows.add_windows``, a.k.a. col2im). No Python loop runs
over the batch or the pixels; the loops that remain run over the kh*kw kernel offsets.

Layouts (documented contract; the seed teaches convolution through these two):

- ``im2col(x, kernel_size, stride=1, padding=0)`` -> ``(N*OH*OW, C*kh*kw)``: one row per
  output position (n, oh, ow) in row-major order, one column per (c, i, j) in row-major
  order, so ``im2col(x) @ w.reshape(O, -1).T`` is the convolution as (N*OH*OW, O).
- ``im2patches(x, kernel_size, stride=1, padding=0)`` -> ``(N, C, OH, OW, kh, kw)``:
  ``patches[n, c, oh, ow]`` is the kh x kw window whose top-left corner is padded input
  position (oh*sh, ow*sw).

where OH = (H + 2*ph - kh) // sh + 1 and OW likewise (windows that do not fit are dropped,
as in PyTorch). ``stride``, ``padding``, ``kernel_size`` and ``pool_size`` are keyword
attributes taking an int or an (h, w) pair: ``max_pool2d(x, pool_size=2)``.

Speed: conv2d is im2col + matmul with a layout chosen so every matmul reads contiguous 2-D
blocks; the big copies and slice-adds around the matmuls are split over the batch across
cores (``_parallel.over_batch``), as BLAS already does for the matmuls.

Convention (max_pool2d): the gradient of each window goes to its *first* maximum in
row-major order (smallest row, then smallest column), as in PyTorch; tied elements after
it get nothing. Unlike the ``max`` reduction (ties split equally), this matches the
indices PyTorch's max_pool2d returns, so gradients agree with PyTorch even on the many
ties ReLU leaves in front of a pooling layer.
"""

from __future__ import annotations

import numpy as np

from tmt_core.extend import Convention, OpError, Sample, defop, hookimpl

from ._allocator import tune_allocator
from ._parallel import over_batch
from ._windows import add_windows, as_pair, check_image, output_size, pad, pair, windows

tune_allocator()  # a CNN step frees and reallocates the same large buffers: reuse them

# ---------------------------------------------------------------------------- conv2d


def _conv_geometry(x, w, b, stride, padding):
    check_image("conv2d", "input x", x)
    if w.ndim != 4:
        raise OpError(f"conv2d: weight w must be 4-D (O, C, kh, kw), got shape {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise OpError(
            f"conv2d: x has {x.shape[1]} channels (x of shape {x.shape}) but w expects "
            f"{w.shape[1]} (w of shape {w.shape})"
        )
    if b.shape != (w.shape[0],):
        raise OpError(
            f"conv2d: bias b must have shape ({w.shape[0]},) for w of shape {w.shape}, "
            f"got {b.shape}"
        )
    s = pair("conv2d", "stride", stride, 1)
    p = pair("conv2d", "padding", padding, 0)
    return s, p, output_size("conv2d", x.shape, w.shape[2:], s, p)


def _conv_reference(x, w, b, stride=1, padding=0):
    """The definition, one output pixel at a time: out[n,o,y,x] = Σ w[o] ⊙ window(y,x) + b[o]."""
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = w.shape[2:]
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.empty((x.shape[0], w.shape[0], oh, ow), dtype=np.result_type(x, w))
    for y in range(oh):
        for z in range(ow):
            window = xp[:, :, y * sh : y * sh + kh, z * sw : z * sw + kw]
            out[:, :, y, z] = np.einsum("nchw,ochw->no", window, w) + b
    return out


def _conv_samples(rng):
    n = rng.standard_normal
    return [
        Sample(n((1, 2, 4, 4)), n((3, 2, 3, 3)), n(3), name="3x3 valid"),
        Sample(n((2, 1, 5, 5)), n((2, 1, 3, 3)), n(2), stride=2, padding=1, name="stride 2, padding 1"),
        Sample(n((1, 2, 4, 5)), n((2, 2, 2, 3)), n(2), stride=(1, 2), padding=(0, 1), name="2x3 kernel, stride (1,2), padding (0,1)"),
        Sample(n((2, 3, 6, 6)), n((4, 3, 3, 3)), n(4), padding=1, name="same padding", jacobian=False),
        Sample(n((2, 2, 7, 7)), n((3, 2, 3, 3)), n(3), stride=3, name="stride 3 leaves a remainder", jacobian=False),
        Sample(n((2, 4, 5, 5)), n((3, 4, 3, 3)), n(3), stride=2, padding=1, name="C*kh*kw >= 32: one gemm for the batch", jacobian=False),
    ]


# Below this contraction size K = C*kh*kw (a first layer: K = 9), one small gemm per image
# beats one gemm over the whole batch: the big gemm is memory-bound there, and the two
# (N, O, ...) <-> (O, N, ...) transposes it needs cost more than the matmul itself. Above it
# (K = 144 at W2) the single gemm wins: BLAS runs it on every core.
_PER_IMAGE_BELOW = 32


@defop("conv2d", samples=_conv_samples, reference=_conv_reference, rtol=1e-4, atol=1e-5)
def conv2d(x, w, b, stride=1, padding=0):
    """2-D cross-correlation (PyTorch's conv2d): x (N, C, H, W), w (O, C, kh, kw), b (O,)
    -> (N, O, OH, OW). im2col through a strided view, then matmul."""
    s, p, (oh, ow) = _conv_geometry(x, w, b, stride, padding)
    o, c, kh, kw = w.shape
    n, k = x.shape[0], c * kh * kw
    # cols[(c, i, j), n, (oh, ow)] = padded[n, c, oh*sh + i, ow*sw + j]: the one copy. Both
    # matmul strategies below read it as plain 2-D blocks (BLAS-ready, no further copy).
    view = windows(pad(x, p), (kh, kw), s).transpose(1, 4, 5, 0, 2, 3)  # (C, kh, kw, N, OH, OW)
    cols6 = np.empty(view.shape, dtype=x.dtype)
    cols = cols6.reshape(k, n, oh * ow)
    w2d = w.reshape(o, k)
    out = np.empty((n, o, oh * ow), dtype=np.result_type(x, w))

    def im2col_images(start, stop):
        cols6[:, :, :, start:stop] = view[:, :, :, start:stop]
        if k < _PER_IMAGE_BELOW:  # one small gemm per image, straight into NCHW
            np.matmul(w2d, cols[:, start:stop].transpose(1, 0, 2), out=out[start:stop])
            out[start:stop] += b[:, None]

    over_batch(n, cols.size, im2col_images)
    if k >= _PER_IMAGE_BELOW:  # one gemm for the batch, then to NCHW and + bias in one pass
        out_t = (w2d @ cols.reshape(k, -1)).reshape(o, n, oh * ow)
        np.add(out_t.transpose(1, 0, 2), b[:, None], out=out)
    return out.reshape(n, o, oh, ow), (cols, w, x.shape)


@conv2d.defvjp
def conv2d_vjp(g, res, stride=1, padding=0, needs=(True, True, True)):
    cols, w, x_shape = res
    need_x, need_w, need_b = needs  # a first layer's images need no gradient: half its backward
    o, c, kh, kw = w.shape
    k, n, positions = cols.shape
    w2d = w.reshape(o, k)
    g3 = g.reshape(n, o, positions)
    gb = g3.sum(axis=(0, 2)) if need_b else None  # d out/d b[o] = 1 at every (n, oh, ow)
    gw = g_cols = None
    if k < _PER_IMAGE_BELOW:
        g_cols = np.empty_like(cols) if need_x else None
        gw_parts = {}  # by first image: summed in a fixed order, the result never varies

        def per_image(start, stop):
            images = slice(start, stop)
            if need_w:  # dW = Σₙ Gₙ colsₙᵀ
                gw_parts[start] = (g3[images] @ cols[:, images].transpose(1, 2, 0)).sum(axis=0)
            if need_x:  # dcolsₙ = Wᵀ Gₙ
                np.matmul(w2d.T, g3[images], out=g_cols[:, images].transpose(1, 0, 2))

        over_batch(n, cols.size, per_image)
        if need_w:
            gw = sum(gw_parts[start] for start in sorted(gw_parts))
    else:
        g_t = np.ascontiguousarray(g3.transpose(1, 0, 2)).reshape(o, n * positions)
        if need_w:
            gw = (cols.reshape(k, -1) @ g_t.T).T  # dW = G colsᵀ = (cols Gᵀ)ᵀ, the faster BLAS order
        if need_x:
            g_cols = w2d.T @ g_t  # dcols = Wᵀ G
    gx = None
    if need_x:  # col2im: each column entry's cotangent flows back to the position it read
        oh, ow = g.shape[2:]
        per_window = g_cols.reshape(c, kh, kw, n, oh, ow).transpose(3, 0, 1, 2, 4, 5)
        gx = add_windows(per_window, x_shape, as_pair(stride), as_pair(padding))
    return gx, None if gw is None else gw.reshape(w.shape), gb


# ---------------------------------------------------------------------------- max_pool2d


def _sweep_max(x, axis, k, s, count, index_dtype):
    """Running max over ``k`` offsets along ``axis`` (2 = H, 3 = W) with stride ``s``:
    the maxima (``count`` of them along the axis) and the first offset reaching each."""

    def at(offset):
        index = [slice(None)] * 4
        index[axis] = slice(offset, offset + s * (count - 1) + 1, s)
        return x[tuple(index)]

    best = at(0)
    first = np.zeros(best.shape, dtype=index_dtype)
    for offset in range(1, k):
        candidate = at(offset)
        wins = candidate > best  # strict: a tie keeps the earlier offset
        best = np.maximum(best, candidate)
        # offsets only grow, so "this offset where it wins" is a maximum (np.where is 20x slower)
        np.maximum(first, wins * index_dtype.type(offset), out=first)
    if k == 1:
        best = best.copy()  # a 1-wide sweep is a view of x: outputs never alias inputs
    return best, first


def _pool_geometry(x, pool_size, stride):
    check_image("max_pool2d", "input x", x)
    k = pair("max_pool2d", "pool_size", pool_size, 1)
    s = k if stride is None else pair("max_pool2d", "stride", stride, 1)
    return k, s, output_size("max_pool2d", x.shape, k, s, (0, 0), what="pool")


def _pool_reference(x, pool_size=2, stride=None):
    k, s, _ = _pool_geometry(x, pool_size, stride)
    return windows(x, k, s).max(axis=(4, 5))


def _pool_samples(rng):
    def distinct(shape):  # values >= 0.05 apart: finite differences never switch the argmax
        return rng.permutation(np.prod(shape)).reshape(shape) * 0.05 + rng.uniform(0, 0.01, shape)

    return [
        Sample(distinct((1, 2, 4, 4)), name="2x2, stride 2"),
        Sample(distinct((2, 1, 5, 5)), pool_size=3, stride=1, name="3x3 overlapping, stride 1"),
        Sample(distinct((1, 2, 5, 7)), pool_size=(2, 3), stride=(1, 2), name="2x3 pool, stride (1,2)"),
        Sample(distinct((2, 3, 7, 7)), pool_size=2, name="7x7 drops the last row and column", jacobian=False),
    ]


def _pool_conventions():
    tie = np.array([[[[1.0, 3.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0]]]])  # left window: three 3s
    return [
        Convention(
            (tie,),
            np.array([[[[5.0, 7.0]]]]),
            (np.array([[[[0.0, 5.0, 7.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]]),),
            rule="a tied window sends its gradient to its first maximum in row-major order",
        ),
        Convention(
            (np.array([[[[2.0, 1.0, 2.0]]]]),),
            np.array([[[[1.0, 10.0]]]]),
            (np.array([[[[1.0, 0.0, 10.0]]]]),),
            attrs={"pool_size": (1, 2), "stride": 1},
            rule="overlapping windows: each routes to its own first maximum",
        ),
    ]


def _window_max(x, kernel, stride, out_size, index_dtype):
    """The maximum of every window of x and the offset i*kw + j of its first maximum."""
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_size
    # max over a window = max over its rows of (max over its columns): two cheap sweeps.
    # The first maximum in row-major order survives both (each sweep keeps its first).
    rows = x[:, :, : sh * (oh - 1) + kh]
    row_max, col_of = _sweep_max(rows, 3, kw, sw, ow, index_dtype)  # (N, C, rows, OW)
    out, row_of = _sweep_max(row_max, 2, kh, sh, oh, index_dtype)  # (N, C, OH, OW)
    # The offset: i = row_of, and j the column the first sweep kept in row i. Unsigned
    # arithmetic picks that column: the differences may wrap around, the sum is exact
    # (np.where / np.choose are 10x slower).
    col_in_row = [col_of[:, :, i : i + sh * (oh - 1) + 1 : sh] for i in range(kh)]
    argmax = row_of * index_dtype.type(kw) + col_in_row[0]
    for i in range(1, kh):
        argmax += (row_of == i) * (col_in_row[i] - col_in_row[0])
    return out, argmax


@defop("max_pool2d", samples=_pool_samples, reference=_pool_reference, conventions=_pool_conventions())
def max_pool2d(x, pool_size=2, stride=None):
    """Max over each pool_size window of x (N, C, H, W); stride defaults to pool_size."""
    kernel, stride, (oh, ow) = _pool_geometry(x, pool_size, stride)
    index_dtype = np.min_scalar_type(kernel[0] * kernel[1] - 1)  # uint8 up to 16x16 windows
    n, c = x.shape[:2]
    out = np.empty((n, c, oh, ow), dtype=x.dtype)
    argmax = np.empty((n, c, oh, ow), dtype=index_dtype)  # the residual for the vjp

    def part(start, stop):
        out[start:stop], argmax[start:stop] = _window_max(x[start:stop], kernel, stride, (oh, ow), index_dtype)

    over_batch(n, x.size, part)
    return out, (argmax, x.shape)


@max_pool2d.defvjp
def max_pool2d_vjp(g, res, pool_size=2, stride=None):
    argmax, x_shape = res
    kh, kw = as_pair(pool_size)
    sh, sw = (kh, kw) if stride is None else as_pair(stride)
    oh, ow = g.shape[2:]
    disjoint = sh >= kh and sw >= kw
    gx = np.zeros(x_shape, dtype=g.dtype)

    def part(start, stop):
        images = slice(start, stop)
        for i in range(kh):
            for j in range(kw):
                # d out[y, z]/d x[y*sh + i, z*sw + j] = 1 where (i, j) is the window's argmax
                target = gx[images, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
                if disjoint:
                    np.multiply(g[images], argmax[images] == i * kw + j, out=target)
                else:
                    target += g[images] * (argmax[images] == i * kw + j)

    over_batch(g.shape[0], gx.size, part)
    return (gx,)


# ---------------------------------------------------------------------------- im2col, im2patches


def _window_geometry(op, x, kernel_size, stride, padding):
    check_image(op, "input x", x)
    k = pair(op, "kernel_size", kernel_size, 1)
    s = pair(op, "stride", stride, 1)
    p = pair(op, "padding", padding, 0)
    return k, s, p, output_size(op, x.shape, k, s, p)


def _im2col_reference(x, kernel_size, stride=1, padding=0):
    """Row (n, oh, ow) is the flattened (C, kh, kw) window at output position (oh, ow)."""
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = _window_geometry("im2col", x, kernel_size, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    rows = [
        xp[n, :, y * sh : y * sh + kh, z * sw : z * sw + kw].ravel()
        for n in range(x.shape[0])
        for y in range(oh)
        for z in range(ow)
    ]
    return np.stack(rows)


def _im2patches_reference(x, kernel_size, stride=1, padding=0):
    cols = _im2col_reference(x, kernel_size, stride, padding)
    (kh, kw), _, _, (oh, ow) = _window_geometry("im2patches", x, kernel_size, stride, padding)
    return cols.reshape(x.shape[0], oh, ow, x.shape[1], kh, kw).transpose(0, 3, 1, 2, 4, 5)


def _window_samples(rng):
    n = rng.standard_normal
    return [
        Sample(n((1, 2, 4, 4)), kernel_size=3, name="3x3 valid"),
        Sample(n((2, 1, 5, 4)), kernel_size=(2, 3), stride=(2, 1), padding=(1, 0), name="2x3, stride (2,1), padding (1,0)"),
        Sample(n((1, 1, 5, 5)), kernel_size=2, stride=2, padding=1, name="2x2, stride 2, padding 1"),
        Sample(n((2, 3, 6, 6)), kernel_size=3, padding=1, name="same padding", jacobian=False),
    ]


@defop("im2col", samples=_window_samples, reference=_im2col_reference)
def im2col(x, kernel_size, stride=1, padding=0):
    """Windows of x (N, C, H, W) as rows: (N*OH*OW, C*kh*kw); see the module docstring."""
    (kh, kw), s, p, (oh, ow) = _window_geometry("im2col", x, kernel_size, stride, padding)
    view = windows(pad(x, p), (kh, kw), s).transpose(0, 2, 3, 1, 4, 5)  # (N, OH, OW, C, kh, kw)
    return np.ascontiguousarray(view).reshape(-1, x.shape[1] * kh * kw), x.shape


@im2col.defvjp
def im2col_vjp(g, x_shape, kernel_size, stride=1, padding=0):
    (kh, kw), s, p = as_pair(kernel_size), as_pair(stride), as_pair(padding)
    n, c = x_shape[:2]
    oh, ow = output_size("im2col", x_shape, (kh, kw), s, p)
    # col2im: each cotangent entry flows back to the input position its column read
    per_window = g.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    return (add_windows(per_window, x_shape, s, p),)


@defop("im2patches", samples=_window_samples, reference=_im2patches_reference)
def im2patches(x, kernel_size, stride=1, padding=0):
    """Windows of x (N, C, H, W) as (N, C, OH, OW, kh, kw); see the module docstring."""
    k, s, p, _ = _window_geometry("im2patches", x, kernel_size, stride, padding)
    # A copy: overlapping windows share memory in the view, and outputs never alias inputs.
    return np.ascontiguousarray(windows(pad(x, p), k, s)), x.shape


@im2patches.defvjp
def im2patches_vjp(g, x_shape, kernel_size, stride=1, padding=0):
    s, p = as_pair(stride), as_pair(padding)
    # col2im: each patch entry flows back to the input position it was read from
    return (add_windows(g.transpose(0, 1, 4, 5, 2, 3), x_shape, s, p),)


# ---------------------------------------------------------------------------- registration

OPS = (conv2d, max_pool2d, im2col, im2patches)


@hookimpl
def register_ops(register):
    for op in OPS:
        register(op)
