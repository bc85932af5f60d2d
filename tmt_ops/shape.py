"""Shape ops: reshape, transpose, pad, stack, concatenate and indexing.

Each op is its forward (returning output and residuals) with its vjp right below it. These ops
move elements without changing them, so each vjp moves the cotangent back: reshape and
transpose undo themselves, pad slices, stack and concatenate split, getitem scatters. Forwards
return views where NumPy does (as PyTorch does); cotangents are always fresh arrays, never
views of the incoming cotangent. stack and concatenate take any number of arrays and return
one cotangent per input, in each input's dtype.

Indexing takes everything NumPy does (ints, slices, None, Ellipsis, integer arrays, boolean
masks, tuples of them). An integer array may name an element twice (``x[[0, 0]]``): its
gradient is then the sum of both cotangents, as for any reused value.
"""

from __future__ import annotations

import numpy as np

from tmt_core.extend import Sample, defop, hookimpl

# ---------------------------------------------------------------------------- reshape, transpose


def _reshape_samples(rng):
    n = rng.standard_normal
    return [
        Sample(n((3, 4)), shape=(12,), name="flatten"),
        Sample(n((2, 3, 4)), shape=(4, -1), name="with -1"),
        Sample(n((6,)), shape=(2, 1, 3), name="add a unit axis"),
        Sample(n(()), shape=(1, 1), name="scalar to (1, 1)"),
        Sample(n((1, 1)), shape=(), name="(1, 1) to scalar"),
    ]


@defop("reshape", samples=_reshape_samples, reference=lambda x, shape: np.reshape(x, shape))
def reshape(x, shape):
    return x.reshape(shape), x.shape


@reshape.defvjp
def reshape_vjp(g, in_shape, shape):
    # the inverse reshape; copying first (C order) keeps it one copy, even for a strided g
    return (g.copy().reshape(in_shape),)


def _transpose_samples(rng):
    n = rng.standard_normal
    return [
        Sample(n((3, 4)), axes=None, name="matrix .T"),
        Sample(n((2, 3, 4)), axes=None, name="reverse all axes"),
        Sample(n((2, 3, 4)), axes=(1, 2, 0), name="permutation"),
        Sample(n((2, 3, 4)), axes=(-1, 0, 1), name="negative axes"),
        Sample(n((5,)), axes=None, name="vector"),
    ]


@defop("transpose", samples=_transpose_samples, reference=lambda x, axes=None: np.transpose(x, axes))
def transpose(x, axes=None):
    try:
        return np.transpose(x, axes), None
    except ValueError as exc:  # NumPy says only "axes don't match array"
        raise ValueError(
            f"axes {axes} is not a permutation of the {x.ndim} axes of an input of shape {x.shape}"
        ) from exc


@transpose.defvjp
def transpose_vjp(g, res, axes=None):
    # the inverse permutation undoes the transpose; copy, since a transposed g is a view of g
    inverse = None if axes is None else np.argsort([a % g.ndim for a in axes])
    return (np.transpose(g, inverse).copy(),)


# ---------------------------------------------------------------------------- pad


def _pad_pairs(pad_width, ndim):
    """``pad_width`` as one (before, after) pair per axis, the forms np.pad accepts: an int,
    one pair for every axis, or one pair per axis."""
    try:
        pairs = np.asarray(pad_width)
        if pairs.dtype.kind not in "iu":
            raise ValueError("not integers")
        pairs = np.broadcast_to(pairs, (ndim, 2))
    except ValueError:
        raise ValueError(
            f"pad_width {pad_width!r} must be an int, one (before, after) pair of ints, or one "
            f"pair per axis ({ndim} pairs for this input)"
        ) from None
    if (pairs < 0).any():
        raise ValueError(f"pad_width {pad_width!r} has a negative width")
    return pairs.tolist()


def _pad_samples(rng):
    n = rng.standard_normal
    return [
        Sample(n((3, 4)), pad_width=1, name="same width everywhere"),
        Sample(n((3, 4)), pad_width=((1, 2), (0, 3)), value=0.5, name="per axis, with a value"),
        Sample(n((2, 3, 4)), pad_width=((0, 0), (1, 1), (2, 0)), name="3-d, one axis untouched"),
        Sample(n((5,)), pad_width=(2, 1), name="one pair for every axis"),
    ]


def _pad_reference(x, pad_width, value=0.0):
    return np.pad(x, pad_width, mode="constant", constant_values=value)


@defop("pad", samples=_pad_samples, reference=_pad_reference)
def pad(x, pad_width, value=0.0):
    pairs = _pad_pairs(pad_width, x.ndim)
    out = np.full([b + n + a for (b, a), n in zip(pairs, x.shape)], value, dtype=x.dtype)
    inner = tuple(slice(b, b + n) for (b, _), n in zip(pairs, x.shape))
    out[inner] = x
    return out, inner


@pad.defvjp
def pad_vjp(g, inner, pad_width, value=0.0):
    return (g[inner].copy(),)  # padding is a constant: only the inner block has a gradient (1)


# ---------------------------------------------------------------------------- stack, concatenate


def _stack_samples(rng):
    n = rng.standard_normal
    return [
        Sample(n((3, 4)), n((3, 4)), n((3, 4)), axis=0, name="three, axis 0"),
        Sample(n((3, 4)), n((3, 4)), axis=-1, name="two, axis -1"),
        Sample(n((2,)), n((2,)), axis=1, name="vectors, axis 1"),
        Sample(n((2, 3)), axis=1, name="single input"),
    ]


@defop("stack", samples=_stack_samples, reference=lambda *xs, axis=0: np.stack(xs, axis=axis))
def stack(*xs, axis=0):
    return np.stack(xs, axis=axis), tuple(x.dtype for x in xs)


@stack.defvjp
def stack_vjp(g, dtypes, axis=0):
    # out[..., i, ...] = xs[i]: input i gets slice i of g (astype copies, in the input's dtype)
    return tuple(part.astype(dtype) for part, dtype in zip(np.moveaxis(g, axis, 0), dtypes))


def _concatenate_samples(rng):
    n = rng.standard_normal
    return [
        Sample(n((2, 4)), n((3, 4)), n((1, 4)), axis=0, name="three, axis 0"),
        Sample(n((3, 2)), n((3, 5)), axis=-1, name="two, axis -1"),
        Sample(n((2, 3, 4)), n((2, 1, 4)), axis=1, name="3-d, middle axis"),
        Sample(n((4,)), axis=0, name="single input"),
    ]


@defop(
    "concatenate",
    samples=_concatenate_samples,
    reference=lambda *xs, axis=0: np.concatenate(xs, axis=axis),
)
def concatenate(*xs, axis=0):
    if not isinstance(axis, (int, np.integer)):
        raise ValueError(f"axis must be an int (to flatten, reshape first), got {axis!r}")
    out = np.concatenate(xs, axis=axis)
    ends = np.cumsum([x.shape[axis] for x in xs[:-1]]).tolist()
    return out, (ends, tuple(x.dtype for x in xs))


@concatenate.defvjp
def concatenate_vjp(g, res, axis=0):
    ends, dtypes = res
    # each input gets its own block of g along axis (astype copies, in the input's dtype)
    return tuple(part.astype(dtype) for part, dtype in zip(np.split(g, ends, axis=axis), dtypes))


# ---------------------------------------------------------------------------- indexing

_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def _repeats_possible(index):
    """True when the index holds an integer array, which may name an element twice. Basic
    indices (ints, slices, None, Ellipsis) and boolean masks select each element once."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, _BASIC):
            continue
        if np.asarray(part).dtype != np.bool_:
            return True
    return False


def _getitem_samples(rng):
    n = rng.standard_normal
    mask = rng.random((4, 5)) < 0.5
    mask[0, 0] = True  # never empty
    return [
        Sample(n((4, 5)), index=1, name="int"),
        Sample(n((4, 5)), index=(slice(1, None), slice(None, None, 2)), name="slices with a step"),
        Sample(n((4, 5)), index=(slice(None, None, -1), -1), name="reversed slice and negative int"),
        Sample(n((2, 3, 4)), index=(Ellipsis, None, 1), name="Ellipsis and None"),
        Sample(n((4, 5)), index=np.array([0, 2, 2, 3, 0]), name="integer array with repeats"),
        Sample(n((4, 5)), index=(slice(1, None), [0, 0]), name="slice and repeated list"),
        Sample(n((4, 5)), index=(np.array([[0, 1], [3, 3]]), slice(None)), name="2-d integer array"),
        Sample(
            n((3, 4, 5)),
            index=(np.array([0, 2]), slice(None), np.array([1, 1])),
            name="integer arrays apart (result axes move first)",
        ),
        Sample(n((4, 5)), index=mask, name="boolean mask"),
        Sample(n((4, 5)), index=(mask[:, 0], slice(1, 3)), name="boolean mask on one axis"),
    ]


@defop("getitem", samples=_getitem_samples, reference=lambda x, index: x[index])
def getitem(x, index):
    return x[index], x.shape


@getitem.defvjp
def getitem_vjp(g, shape, index):
    grad = np.zeros(shape, dtype=g.dtype)  # unselected elements get 0
    if _repeats_possible(index):
        np.add.at(grad, index, g)  # an element selected k times gets the sum of its k cotangents
    else:
        grad[index] = g  # each element selected at most once: plain assignment (fast path)
    return (grad,)


# ---------------------------------------------------------------------------- registration

OPS = (reshape, transpose, pad, stack, concatenate, getitem)


@hookimpl
def register_ops(register):
    for op in OPS:
        register(op)
