"""Convolution and pooling ops on (N, C, H, W) images: conv2d, max_pool2d, conv2d_pool (the
two in one), im2col, im2patches.

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

Speed: conv2d is im2col + one matmul per image (``_columns``), each thread running the
matmuls of its own images right after copying out their columns; the columns end in a row of
ones, so the bias rides in the matmul (forward) and comes out of dW's matmul (backward), and
``activation="relu"`` clips the output in the same pass. The input gradient of a stride-1
convolution adds the columns back in long contiguous runs ("stacked images", see
``_columns``). max_pool2d keeps, per window, where its first maximum is (bools), and the
usual 2x2/2 pooling runs over the flat array's neighbour pairs (long passes; NumPy's per-row
overhead dominates passes along 14- or 28-element rows; ``_pooling``). conv2d_pool, which
tmt_nn's Network runs for a Conv2D right before a MaxPool2D, pools each thread's images
right after their matmul and keeps neither the convolution's output nor a full-size ReLU
mask; where the columns have few rows for the filters (a first layer), it orders them by
pooling-window corner, so that the pooling runs over four contiguous planes and its vjp is
one product with a one-hot, elsewhere even rows first, so that the windows' top rows and
their bottom rows are two long runs. Every big copy, slice-add and matmul is split over the cores
through one pool of threads (``_parallel``).

Convention (max_pool2d): the gradient of each window goes to its *first* maximum in
row-major order (smallest row, then smallest column), as in PyTorch; tied elements after
it get nothing. Unlike the ``max`` reduction (ties split equally), this matches the
indices PyTorch's max_pool2d returns, so gradients agree with PyTorch even on the many
ties ReLU leaves in front of a pooling layer. A window holding NaNs has NaN for its maximum
and sends its gradient to its *last* NaN: PyTorch's CPU kernel moves its index on every NaN.
The routing multiplies g by 0 or 1, so an infinite or NaN cotangent makes NaN at its window's
other inputs, where PyTorch writes 0 (the relu op's g · 1[x > 0] does the same).
"""

from __future__ import annotations

import math

import numpy as np

from tmt_core.extend import Convention, OpError, Sample, defop, hookimpl

from . import _columns as columns
from . import _pooling as pooling
from ._allocator import tune_allocator
from ._fused import check_activation
from ._parallel import over_batch
from ._windows import add_windows, as_pair, check_image, output_size, pad, pair, windows

tune_allocator()  # a CNN step frees and reallocates the same large buffers: reuse them

# ---------------------------------------------------------------------------- conv2d


def _conv_geometry(x, w, b, stride, padding, activation=None, op="conv2d"):
    check_image(op, "input x", x)
    check_activation(op, activation)
    if w.ndim != 4:
        raise OpError(f"{op}: weight w must be 4-D (O, C, kh, kw), got shape {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise OpError(
            f"{op}: x has {x.shape[1]} channels (x of shape {x.shape}) but w expects "
            f"{w.shape[1]} (w of shape {w.shape})"
        )
    if b.shape != (w.shape[0],):
        raise OpError(
            f"{op}: bias b must have shape ({w.shape[0]},) for w of shape {w.shape}, "
            f"got {b.shape}"
        )
    s = pair(op, "stride", stride, 1)
    p = pair(op, "padding", padding, 0)
    return s, p, output_size(op, x.shape, w.shape[2:], s, p)


def _conv_reference(x, w, b, stride=1, padding=0, activation=None):
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
    return np.maximum(out, 0) if activation == "relu" else out


def _conv_samples(rng):
    n = rng.standard_normal
    return [
        Sample(n((1, 2, 4, 4)), n((3, 2, 3, 3)), n(3), name="3x3 valid"),
        Sample(n((2, 1, 5, 5)), n((2, 1, 3, 3)), n(2), stride=2, padding=1, name="stride 2, padding 1"),
        Sample(n((1, 2, 4, 5)), n((2, 2, 2, 3)), n(2), stride=(1, 2), padding=(0, 1), name="2x3 kernel, stride (1,2), padding (0,1)"),
        Sample(n((2, 3, 6, 6)), n((4, 3, 3, 3)), n(4), padding=1, name="same padding", jacobian=False),
        Sample(n((2, 2, 7, 7)), n((3, 2, 3, 3)), n(3), stride=3, name="stride 3 leaves a remainder", jacobian=False),
        Sample(n((2, 4, 5, 5)), n((3, 4, 3, 3)), n(3), stride=2, padding=1, name="stride 2, padding 1: col2im over strided windows", jacobian=False),
        Sample(n((2, 4, 5, 5)), n((3, 4, 3, 3)), n(3), padding=1, name="stride 1, padding 1: col2im over stacked images", jacobian=False),
        Sample(n((2, 8, 4, 6)), n((3, 8, 2, 3)), n(3), padding=(0, 1), name="stacked images, 2x3 kernel, padding (0,1)", jacobian=False),
        Sample(n((2, 32, 3, 3)), n((4, 32, 1, 1)), n(4), name="stacked images, 1x1 kernel", jacobian=False),
        Sample(n((2, 2, 5, 5)), n((3, 2, 3, 3)), n(3), padding=1, activation="relu", name="fused relu"),
    ]


@defop("conv2d", samples=_conv_samples, reference=_conv_reference, rtol=1e-4, atol=1e-5)
def conv2d(x, w, b, stride=1, padding=0, activation=None):
    """2-D cross-correlation (PyTorch's conv2d): x (N, C, H, W), w (O, C, kh, kw), b (O,)
    -> (N, O, OH, OW). im2col, then one matmul per image with [W b], straight into NCHW.
    ``activation="relu"`` gives relu(conv2d(...)) in one op: each thread clips its images'
    outputs right after their matmul, while they are still in cache."""
    s, p, (oh, ow) = _conv_geometry(x, w, b, stride, padding, activation)
    o, c, kh, kw = w.shape
    n = x.shape[0]
    out = np.empty((n, o, oh * ow), dtype=np.result_type(x, w))
    w_b = _with_bias(w, b, out.dtype)

    def per_image(cols, start, stop):  # on each thread, while its columns are in cache
        np.matmul(w_b, cols[start:stop], out=out[start:stop])  # W colsₙ + b
        if activation == "relu":
            np.maximum(out[start:stop], 0, out=out[start:stop])

    cols = columns.gather(x, (kh, kw), s, p, then=per_image)
    out = out.reshape(n, o, oh, ow)
    return out, (cols, w, x.shape, out if activation else None)


def _with_bias(w, b, dtype):
    """[W b] (O, C*kh*kw + 1): the columns end in a row of ones, the bias's input."""
    o, k = w.shape[0], w.shape[1] * w.shape[2] * w.shape[3]  # any may be 0
    w_b = np.empty((o, k + 1), dtype=dtype)
    w_b[:, :-1], w_b[:, -1] = w.reshape(o, k), b
    return w_b


@conv2d.defvjp
def conv2d_vjp(g, res, stride=1, padding=0, activation=None, needs=(True, True, True)):
    cols, w, x_shape, clipped = res
    if clipped is None:
        return _conv_backward(g, None, cols, w, x_shape, stride, padding, needs)
    per_image = (len(g), g.shape[1] * g.shape[2] * g.shape[3])  # spelled out: g may be empty
    dz, g3, relu_out = np.empty(g.shape, g.dtype), g.reshape(per_image), clipped.reshape(per_image)

    def mask(start, stop):  # d relu(z)/dz = 1[z > 0], and relu(z) > 0 exactly where z > 0
        np.multiply(g3[start:stop], relu_out[start:stop] > 0, out=dz.reshape(per_image)[start:stop])

    return _conv_backward(dz, mask, cols, w, x_shape, stride, padding, needs)


# OpenBLAS multiplies colsₙ (K + 1, P) by a transposed view of Gₙ (O, P) slower than by a
# contiguous copy of Gₙᵀ once the columns have many rows; 32 images on one thread, view against
# copy + product: K + 1 = 145, O = 32, P = 196: 564 against 62 + 376 µs; 74, 32, 196: 327
# against 58 + 199; 29, 16, 784: 269 against 140 + 243; 10, 16, 784: 90 against 141 + 119.
# The copy's cost grows with O·P as well; rows alone drew the line well enough for these.
_COPY_G_T = 64


def _conv_backward(dz, fill_dz, cols, w, x_shape, stride, padding, needs, dz_cols=None):
    """(dx, dW, db) from dz = d loss/d z (N, O, OH, OW), z = W cols + b the convolution before
    any activation; or, for columns in rows order, dz (N, O, 2, OH/2, OW) in that order
    (:func:`_columns.rows_order`). ``fill_dz(start, stop)``, if given, first writes dz's images
    start:stop, on the thread that then uses them, while they are in its cache. ``dz_cols``,
    for pool-ordered columns, is dz by corner, (4, N, O, Q) (:func:`_columns.by_corner`); dz
    itself is then read for dx only."""
    need_x, need_w, need_b = needs  # a first layer's images need no gradient: half its backward
    n, o = dz.shape[:2]
    dz3 = dz.reshape(n, o, math.prod(dz.shape[2:])) if dz_cols is None else dz_cols  # (N, O, P) in the columns' order
    by_corner = dz3.ndim == 4
    stride, padding = as_pair(stride), as_pair(padding)
    gx, fill = columns.by_images(dz, w, x_shape, stride, padding) if need_x else (None, None)
    w_parts, b_parts = {}, {}  # by first image: summed in a fixed order, never varying

    def per_thread(start, stop):
        if fill_dz is not None:
            fill_dz(start, stop)
        mine = dz3[:, start:stop] if by_corner else dz3[start:stop]  # (..., O, positions)
        summed = tuple(range(mine.ndim - 2))  # over images (and corners)
        if need_w:  # [dW db]ᵀ = Σₙ colsₙ Gₙᵀ, (K + 1, O): the ones row gives db
            g_t = mine.swapaxes(-1, -2)
            if cols.shape[1] >= _COPY_G_T:
                g_t = np.ascontiguousarray(g_t)
            mine_cols = columns.by_corner(cols[start:stop]) if by_corner else cols[start:stop]
            w_parts[start] = (mine_cols @ g_t).sum(axis=summed)
        elif need_b:  # d out/d b[o] = 1 at every (n, oh, ow)
            b_parts[start] = mine.sum(axis=(*summed, mine.ndim - 1))
        if fill is not None:  # dx of the same images, in the same hand-off
            fill(start, stop)

    over_batch(n, cols.size, per_thread)
    if need_w:
        both = sum(w_parts[start] for start in sorted(w_parts))
        gw, gb = both[:-1].T.reshape(w.shape), (both[-1] if need_b else None)
    else:
        gw, gb = None, (sum(b_parts[start] for start in sorted(b_parts)) if need_b else None)
    if need_x and fill is None:
        if dz.ndim == 5:  # rows order: back to image layout for the exact path
            image = np.empty((n, o, 2 * dz.shape[3], dz.shape[4]), dtype=dz.dtype)
            columns.rows_order(image)[...] = dz
            dz = image
        gx = columns.input_gradient(dz, w, x_shape, stride, padding)
    return gx, gw, gb


# ---------------------------------------------------------------------------- max_pool2d


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
        Convention(
            (np.array([[[[np.nan, 1.0, np.nan, 0.0]]]]),),
            np.array([[[[5.0]]]]),
            (np.array([[[[0.0, 0.0, 5.0, 0.0]]]]),),
            attrs={"pool_size": (1, 4)},
            rule="a window holding NaNs sends its gradient to its last NaN, as PyTorch's CPU kernel does",
        ),
    ]


@defop("max_pool2d", samples=_pool_samples, reference=_pool_reference, conventions=_pool_conventions())
def max_pool2d(x, pool_size=2, stride=None):
    """Max over each pool_size window of x (N, C, H, W); stride defaults to pool_size. The
    residuals say where each window's first maximum is, all the vjp needs."""
    kernel, stride, (oh, ow) = _pool_geometry(x, pool_size, stride)
    out = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
    if kernel == stride == (2, 2) and x.shape[2:] == (2 * oh, 2 * ow) and x.flags.c_contiguous:
        right = np.empty(x.shape[:3] + (ow,), dtype=bool)
        lower = np.empty(out.shape, dtype=bool)
        met_nan = []

        def pairs(start, stop):
            pooling.pairs(x, out, right, lower, start, stop)
            if pooling.holds_nan(out[start:stop]):
                met_nan.append(start)

        over_batch(x.shape[0], x.size, pairs)
        if not met_nan:
            return out, (x.shape, (right, lower))
    view = windows(x, kernel, stride)  # (N, C, OH, OW, kh, kw)
    firsts = np.empty((kernel[0] * kernel[1],) + out.shape, dtype=bool)

    def sweep(start, stop):
        pooling.sweep(view, out, firsts, start, stop, nans_beat=False)
        if pooling.holds_nan(out[start:stop]):  # a NaN is its window's maximum, at its last NaN
            pooling.sweep(view, out, firsts, start, stop, nans_beat=True)

    over_batch(x.shape[0], x.size, sweep)
    return out, (x.shape, firsts)


@max_pool2d.defvjp
def max_pool2d_vjp(g, res, pool_size=2, stride=None):
    x_shape, firsts = res  # firsts from pooling.sweep, or (right, lower) from pooling.pairs
    if isinstance(firsts, tuple):
        return (_pairs_vjp(g, x_shape, *firsts),)
    kernel = as_pair(pool_size)
    (kh, kw), (sh, sw) = kernel, kernel if stride is None else as_pair(stride)
    oh, ow = g.shape[2:]
    disjoint = sh >= kh and sw >= kw
    tiled = (sh, sw) == (kh, kw) and x_shape[2:] == (oh * kh, ow * kw)  # each input in one window
    gx = (np.empty if tiled else np.zeros)(x_shape, dtype=g.dtype)

    def part(start, stop):
        images = slice(start, stop)
        routed = None if disjoint else np.empty_like(g[images])
        # last offset first: an input shared by overlapping windows sums their gradients in
        # the windows' row-major order, as PyTorch does (float addition is not associative)
        for t, (i, j) in reversed(list(enumerate(pooling.offsets(kernel)))):
            # d out[y, z]/d x[y*sh + i, z*sw + j] = 1 at the window's first maximum, else 0
            target = gx[images, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
            if disjoint:  # each input in at most one window: written once, in place
                np.multiply(g[images], firsts[t, images], out=target)
            else:
                np.multiply(g[images], firsts[t, images], out=routed)
                target += routed

    over_batch(g.shape[0], gx.size, part)
    return (gx,)


def _pairs_vjp(g, x_shape, right, lower):
    """The adjoint of :func:`_pooling.pairs`."""
    gx = np.empty(x_shape, dtype=g.dtype)
    over_batch(g.shape[0], gx.size, lambda start, stop: pooling.route_pairs(g, gx, right, lower, start, stop))
    return gx


# ---------------------------------------------------------------------------- conv2d_pool


def _conv_pool_reference(x, w, b, stride=1, padding=0, activation=None, pool_size=2, pool_stride=None):
    return _pool_reference(_conv_reference(x, w, b, stride, padding, activation), pool_size, pool_stride)


def _conv_pool_samples(rng):
    n = rng.standard_normal
    return [
        Sample(n((2, 2, 4, 4)), n((3, 2, 3, 3)), n(3), padding=1, name="2x2 pool"),
        Sample(n((2, 2, 6, 6)), n((3, 2, 3, 3)), n(3), padding=1, activation="relu", name="relu, 2x2 pool"),
        Sample(n((2, 3, 7, 7)), n((2, 3, 3, 3)), n(2), padding=1, activation="relu", name="7x7: the pool drops a row and a column", jacobian=False),
        Sample(n((1, 2, 7, 7)), n((2, 2, 3, 3)), n(2), stride=2, padding=1, activation="relu", pool_size=3, pool_stride=1, name="stride 2, padding 1, overlapping 3x3 pool", jacobian=False),
        Sample(n((2, 1, 4, 6)), n((2, 1, 1, 3)), n(2), padding=(0, 1), pool_size=(1, 2), name="1x2 pool over a 1x3 kernel"),
        Sample(n((2, 1, 4, 4)), n((5, 1, 3, 3)), n(5), padding=1, activation="relu", name="one input channel: pool-ordered columns"),
        Sample(n((1, 2, 4, 6)), n((1, 2, 1, 1)), n(1), name="1x1 kernel, pool-ordered columns"),
    ]


@defop("conv2d_pool", samples=_conv_pool_samples, reference=_conv_pool_reference, rtol=1e-4, atol=1e-5)
def conv2d_pool(x, w, b, stride=1, padding=0, activation=None, pool_size=2, pool_stride=None):
    """max_pool2d(conv2d(x, w, b, ...), pool_size, pool_stride) in one op, the pair a CNN's
    Network runs as one (see tmt_nn's Network). The two ops' values and gradients: a ReLU
    commutes with the max, so it clips the 4x smaller pooled output, and its mask
    1[pooled > 0] rides on the pooled cotangent. The usual 2x2/2 pooling runs on each
    thread's images right after their matmul, while they are in cache; the convolution's
    output is never kept. Its columns put the output positions in another order than
    conv2d's (see :func:`_conv_then_pool`), and a BLAS may round a position's sum differently
    by where it sits in the matrix (OpenBLAS does, by a unit in the last place), so values
    agree with the two ops' to rounding, dW and db too, and a window whose corners tie in
    exact arithmetic may route its gradient to another of them (with sums that are exact,
    as on small integers, they agree to the bit)."""
    s, p, (oh, ow) = _conv_geometry(x, w, b, stride, padding, activation, op="conv2d_pool")
    n, o = x.shape[0], w.shape[0]
    kernel = pair("conv2d_pool", "pool_size", pool_size, 1)
    pool_s = kernel if pool_stride is None else pair("conv2d_pool", "pool_stride", pool_stride, 1)
    pooled = output_size("conv2d_pool", (n, o, oh, ow), kernel, pool_s, (0, 0), what="pool", of="the convolution's output")
    if kernel == pool_s == (2, 2) and (oh, ow) == (2 * pooled[0], 2 * pooled[1]):
        found = _conv_then_pool(x, w, b, s, p, (oh, ow), activation)
        if found is not None:
            return found
    z, conv_res = conv2d.forward(x, w, b, stride=stride, padding=padding, activation=activation)
    out, pool_res = max_pool2d.forward(z, pool_size=pool_size, stride=pool_stride)
    return out, ("apart", conv_res, pool_res)


def _conv_then_pool(x, w, b, stride, padding, conv_size, activation):
    """conv2d, then its 2x2/2 pooling on each thread's images right after their matmul; None if
    a NaN turned up (left to the two ops apart).

    Where the columns have few rows for the filters (C·kh·kw ≤ 2·O, as in a first layer on
    grey or RGB images), they are gathered pool-ordered and pooled as four planes
    (:func:`_pooling.planes`): that gather costs ~2.4x the plain one (half-length runs read at
    stride 2), but the pooling and its vjp run on contiguous planes and cost less in
    proportion to O. 32 images on one thread, forward + backward: 1→16 filters at 28x28,
    1.47 → 0.86 ms; 3→16, 1.84 → 1.33 ms; 16→32 at 14x14, 2.02 → 2.12 ms (without dx).
    Elsewhere the columns are gathered in rows order (even rows, then odd ones: the plain
    gather's runs, in another order) and pooled as neighbour pairs (:func:`_pooling.pairs`),
    whose second round then runs along half an image rather than along OW/2: 32 images of
    16→32 at 14x14, pooling 224 → 132 µs, its vjp 186 → 148."""
    (n, c, o), (oh, ow) = (x.shape[0], x.shape[1], w.shape[0]), conv_size
    per_plane = (oh // 2) * (ow // 2)  # pooling windows; sizes spelled out: any may be 0
    order = "pool" if c * w.shape[2] * w.shape[3] <= 2 * o else "rows"
    dtype = np.result_type(x, w)
    out = np.empty((n, o, oh // 2, ow // 2), dtype=dtype)
    w_b = _with_bias(w, b, dtype)
    # z, the convolution's output, is never kept: each thread pools its images right away.
    if order == "pool":  # by corner, where each window's first maximum is: a one-hot over its corners
        z = np.empty((4, n, o, per_plane), dtype=dtype)
        firsts = np.empty(z.shape, dtype=bool)
        where_max = ("pool", firsts)

        def pool(cols, start, stop):  # one batched matmul: each corner of each image
            np.matmul(w_b, columns.by_corner(cols[start:stop]), out=z[:, start:stop])
            pooling.planes(z, out.reshape(n, o, per_plane), firsts, start, stop)
    else:  # or two rounds of bools
        z = np.empty((n, o, oh * ow), dtype=dtype)
        right, lower = np.empty((n, o, oh * ow // 2), dtype=bool), np.empty(out.shape, dtype=bool)
        where_max = ("rows", (right, lower))

        def pool(cols, start, stop):
            np.matmul(w_b, cols[start:stop], out=z[start:stop])
            pooling.pairs(z, out, right, lower, start, stop, rows_ordered=True)

    met_nan = []

    def per_image(cols, start, stop):  # on each thread, while its columns are in cache
        pool(cols, start, stop)
        if pooling.holds_nan(out[start:stop]):
            met_nan.append(start)
        elif activation == "relu":  # relu(max(z)) = max(relu(z)): the max keeps the order
            np.maximum(out[start:stop], 0, out=out[start:stop])

    cols = columns.gather(x, w.shape[2:], stride, padding, then=per_image, order=order)
    if met_nan:
        return None
    return out, (*where_max, cols, w, x.shape, (n, o, oh, ow), out if activation else None)


@conv2d_pool.defvjp
def conv2d_pool_vjp(g, res, stride=1, padding=0, activation=None, pool_size=2, pool_stride=None, needs=(True, True, True)):
    if res[0] == "apart":
        _, conv_res, pool_res = res
        (dz,) = max_pool2d.vjp(g, pool_res, pool_size=pool_size, stride=pool_stride)
        return conv2d_vjp(dz, conv_res, stride=stride, padding=padding, activation=activation, needs=needs)
    layout, where_max, cols, w, x_shape, z_shape, clipped = res
    n, o, oh, ow = z_shape
    per_plane = (oh // 2) * (ow // 2)

    def pooled_grad(start, stop):  # d loss/d pooled, times relu' there
        return g[start:stop] if clipped is None else g[start:stop] * (clipped[start:stop] > 0)

    if layout == "rows":
        right, lower = where_max
        dz_cols = np.empty((n, o, oh * ow), dtype=g.dtype)  # the columns' order, which dx reads too

        def route(start, stop):  # d out/d z: 1 at each window's first maximum
            pooling.route_pairs(pooled_grad(start, stop), dz_cols[start:stop], right[start:stop], lower[start:stop],
                                0, stop - start, rows_ordered=True)

        return _conv_backward(dz_cols.reshape(n, o, 2, oh // 2, ow), route, cols, w, x_shape, stride, padding, needs)
    dz = np.empty(z_shape, dtype=g.dtype)  # image layout: written where dx needs it
    firsts = where_max  # the one-hot of each window's first maximum, (4, N, O, Q): by corner
    dz_cols = np.empty(firsts.shape, dtype=g.dtype)

    def route_planes(start, stop):
        mine = pooled_grad(start, stop).reshape(stop - start, o, per_plane)
        np.multiply(mine, firsts[:, start:stop], out=dz_cols[:, start:stop])
        if needs[0]:  # dx reads dz in image layout
            corners = dz_cols[:, start:stop].reshape(2, 2, stop - start, o, oh // 2, ow // 2)
            columns.pool_order(dz[start:stop])[...] = corners.transpose(2, 3, 0, 1, 4, 5)

    return _conv_backward(dz, route_planes, cols, w, x_shape, stride, padding, needs, dz_cols)


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

OPS = (conv2d, max_pool2d, conv2d_pool, im2col, im2patches)


@hookimpl
def register_ops(register):
    for op in OPS:
        register(op)
