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


def pairs(x, out, right, lower, start, stop):
    """2x2 windows at stride 2 tiling a contiguous image, the usual pooling, in two rounds
    that leave the window's first maximum in row-major order. A window's row is a pair of
    neighbours (2k, 2k + 1) of the flat array, so the first round is two long passes over all
    the pairs of the batch (NumPy's per-row overhead would dominate passes along 28-element
    rows); the second takes the better of each window's two rows.
    ``right``: the right element beats the left one (ties go left), per row of each window;
    ``lower``: the bottom row's winner beats the top row's (ties go up). NaNs are left to
    :func:`sweep`."""
    flat, ow = x[start:stop].reshape(-1), out.shape[3]
    left_of_pair, right_of_pair = flat[0::2], flat[1::2]
    np.greater(right_of_pair, left_of_pair, out=right[start:stop].reshape(-1))
    rows = np.maximum(left_of_pair, right_of_pair).reshape(-1, 2, ow)  # (windows' rows, 2, OW)
    np.greater(rows[:, 1], rows[:, 0], out=lower[start:stop].reshape(-1, ow))
    np.maximum(rows[:, 0], rows[:, 1], out=out[start:stop].reshape(-1, ow))


def route_pairs(g, gx, right, lower, start, stop):
    """:func:`pairs`'s two rounds backwards for images start:stop: g to the winning row
    of each window, then to the winning element of that row's pair."""
    ow = g.shape[3]
    g_rows, below = g[start:stop].reshape(-1, ow), lower[start:stop].reshape(-1, ow)
    rows = np.empty((len(g_rows), 2, ow), dtype=g.dtype)
    np.multiply(g_rows, ~below, out=rows[:, 0])
    np.multiply(g_rows, below, out=rows[:, 1])
    flat, to_right = gx[start:stop].reshape(-1), right[start:stop].reshape(-1)
    np.multiply(rows.reshape(-1), to_right, out=flat[1::2])
    np.multiply(rows.reshape(-1), ~to_right, out=flat[0::2])


def planes(z, out, firsts, start, stop):
    """2x2 windows whose four corners are the planes ``z[:, :, t]`` (N, C, 4, Q), t = 2·di + dj
    in row-major order: ``out`` (N, C, Q) gets each window's maximum, and ``firsts`` (N, C, 4, Q)
    the one-hot of its first maximum, so the vjp is one product ``g · firsts``. Every pass
    runs over contiguous planes. NaNs are left to :func:`sweep`."""
    z, out, firsts = z[start:stop], out[start:stop], firsts[start:stop]
    beats_0 = np.greater(z[:, :, 1], z[:, :, 0])  # corner 1 beats corner 0
    np.maximum(z[:, :, 0], z[:, :, 1], out=out)
    np.greater(z[:, :, 2], out, out=firsts[:, :, 2])  # corner 2 beats 0 and 1
    np.maximum(out, z[:, :, 2], out=out)
    np.greater(z[:, :, 3], out, out=firsts[:, :, 3])  # corner 3 beats all before it
    np.maximum(out, z[:, :, 3], out=out)
    # The first maximum is the last corner that beat every corner before it (corner 0 if none did).
    later = np.logical_or(firsts[:, :, 2], firsts[:, :, 3])  # corner 2 or 3 holds it
    np.greater(firsts[:, :, 2], firsts[:, :, 3], out=firsts[:, :, 2])  # 2, unless 3 beat it
    np.greater(beats_0, later, out=firsts[:, :, 1])
    np.logical_or(beats_0, later, out=later)
    np.logical_not(later, out=firsts[:, :, 0])
