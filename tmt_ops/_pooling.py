"""The passes of max pooling over (N, C, H, W) images, each on the images start:stop of its
caller's thread (private to the conv family's max_pool2d and conv2d_pool).

All three sweeps leave, per window, where its *first* maximum in row-major order is, which is
all the vjp needs: :func:`sweep` for any window as ``firsts[t]`` ("offset t holds it"),
:func:`pairs` for the usual 2x2 windows at stride 2 as two rounds of bools, undone by
:func:`route_pairs`, and :func:`planes` for the same windows laid out as four planes (a
convolution's pool-ordered output), as a one-hot.
"""

from __future__ import annotations

import numpy as np

from ._windows import as_pair


def offsets(pool_size):
    """The (i, j) offsets inside a window in row-major order: the order ties are broken in."""
    kh, kw = as_pair(pool_size)
    return [(i, j) for i in range(kh) for j in range(kw)]


def holds_nan(a):
    return a.dtype.kind == "f" and a.size > 0 and bool(np.isnan(a.max()))


def sweep(view, out, firsts, start, stop, nans_beat):
    """Any window: a running maximum over the kernel offsets in row-major order, leaving
    ``firsts[t]``, "window offset t holds the window's first maximum"."""
    best, candidate = out[start:stop], np.empty_like(out[start:stop])
    beats = firsts[:, start:stop]  # beats[t]: offset t is greater than every earlier one
    np.copyto(best, view[start:stop, :, :, :, 0, 0])
    for t, (i, j) in enumerate(offsets(view.shape[4:])[1:], start=1):
        np.copyto(candidate, view[start:stop, :, :, :, i, j])  # contiguous, for the passes below
        np.greater(candidate, best, out=beats[t])
        if nans_beat:  # every NaN beats what came before it, an earlier NaN too
            beats[t] |= np.isnan(candidate)
        np.maximum(best, candidate, out=best)  # keeps a NaN once met
    # The first maximum is at the last offset that beat all before it (offset 0 if none did).
    later = np.zeros(best.shape, dtype=bool)  # a later offset beat them all
    for t in range(len(beats) - 1, 0, -1):
        beat = beats[t].copy()
        np.greater(beat, later, out=beats[t])  # beat, and no later one did
        later |= beat
    np.logical_not(later, out=beats[0])


def pairs(x, out, right, lower, start, stop, rows_ordered=False):
    """2x2 windows at stride 2 tiling a contiguous image, the usual pooling, in two rounds
    that leave the window's first maximum in row-major order. A window's row is a pair of
    neighbours (2k, 2k + 1) of the flat array, so the first round is two long passes over all
    the pairs of the batch (NumPy's per-row overhead would dominate passes along 28-element
    rows); the second takes the better of each window's two rows.
    ``right``: the right element beats the left one (ties go left), per row of each window;
    ``lower``: the bottom row's winner beats the top row's (ties go up). NaNs are left to
    :func:`sweep`. ``rows_ordered``: x (N, C, P) holds each image's positions in the rows
    order of a convolution's columns (even rows, then odd ones), so that the second round
    runs over the windows' top and bottom rows as two runs per image, where in image layout
    they alternate every OW/2 elements (passes of 7 at W2's second convolution)."""
    flat = x[start:stop].reshape(-1)
    left_of_pair, right_of_pair = flat[0::2], flat[1::2]
    np.greater(right_of_pair, left_of_pair, out=right[start:stop].reshape(-1))
    best = np.maximum(left_of_pair, right_of_pair)  # the better of each pair: one per window row
    top, bottom = _window_rows(best, stop - start, out, rows_ordered)
    np.greater(bottom, top, out=lower[start:stop].reshape(top.shape))
    np.maximum(top, bottom, out=out[start:stop].reshape(top.shape))


def route_pairs(g, gx, right, lower, start, stop, rows_ordered=False):
    """:func:`pairs`'s two rounds backwards for images start:stop: g to the winning row
    of each window, then to the winning element of that row's pair."""
    rows = np.empty(2 * g[start:stop].size, dtype=g.dtype)  # per window row: g where it wins
    top, bottom = _window_rows(rows, stop - start, g, rows_ordered)
    g_rows, below = g[start:stop].reshape(top.shape), lower[start:stop].reshape(top.shape)
    np.multiply(g_rows, ~below, out=top)
    np.multiply(g_rows, below, out=bottom)
    flat, to_right = gx[start:stop].reshape(-1), right[start:stop].reshape(-1)
    np.multiply(rows, to_right, out=flat[1::2])
    np.multiply(rows, ~to_right, out=flat[0::2])


def _window_rows(per_row, images, pooled, rows_ordered):
    """Views of ``per_row`` (one value per row of each 2x2 window, flat, in the order of the
    first round's pairs) as the windows' top rows and their bottom rows, each shaped as the
    windows of ``images`` images of ``pooled`` (N, C, OH/2, OW/2) in some order."""
    if rows_ordered:  # (images, C, 2, windows): all the top rows of an image, then the bottom ones
        halves = per_row.reshape(images, pooled.shape[1], 2, pooled.shape[2] * pooled.shape[3])  # any may be 0
        return halves[:, :, 0], halves[:, :, 1]
    rows = per_row.reshape(-1, 2, pooled.shape[3])  # (windows' rows, 2, OW/2): they alternate
    return rows[:, 0], rows[:, 1]


def planes(z, out, firsts, start, stop):
    """2x2 windows whose four corners are the planes ``z[t]`` (4, N, C, Q), t = 2·di + dj in
    row-major order: ``out`` (N, C, Q) gets each window's maximum, and ``firsts`` (4, N, C, Q)
    the one-hot of its first maximum, so the vjp is one product ``g · firsts``. Every pass
    runs over a contiguous run of each plane (images start:stop). NaNs are left to
    :func:`sweep`."""
    z, out, firsts = z[:, start:stop], out[start:stop], firsts[:, start:stop]
    beats_0 = np.greater(z[1], z[0])  # corner 1 beats corner 0
    np.maximum(z[0], z[1], out=out)
    np.greater(z[2], out, out=firsts[2])  # corner 2 beats 0 and 1
    np.maximum(out, z[2], out=out)
    np.greater(z[3], out, out=firsts[3])  # corner 3 beats all before it
    np.maximum(out, z[3], out=out)
    # The first maximum is the last corner that beat every corner before it (corner 0 if none did).
    later = np.logical_or(firsts[2], firsts[3])  # corner 2 or 3 holds it
    np.greater(firsts[2], firsts[3], out=firsts[2])  # 2, unless 3 beat it
    np.greater(beats_0, later, out=firsts[1])
    np.logical_or(beats_0, later, out=later)
    np.logical_not(later, out=firsts[0])
