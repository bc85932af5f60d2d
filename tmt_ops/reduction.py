"""Reduction ops: sum, mean and max over all axes, one axis or a tuple of axes.

Each op is its forward (returning output and residuals) with its vjp right below it. Every
reduction takes ``axis`` (None for all axes, an int, or a tuple of ints, negatives allowed) and
``keepdims``, as NumPy does; the vjp spreads the cotangent back over the reduced axes.
Convention at ties: when several elements share the maximum, max splits the gradient equally
among them (PyTorch's ``amax`` convention), so the gradient always sums to the cotangent.
"""

from __future__ import annotations

import numpy as np

from tmt_core.extend import Convention, Sample, defop, hookimpl, normal

# ---------------------------------------------------------------------------- shared helpers


def _kept(g, axis, keepdims):
    """The cotangent with the reduced axes back as size 1, so it broadcasts over the input.
    With ``axis=None`` and no keepdims it is 0-d, which broadcasts already."""
    if keepdims or axis is None:
        return g
    return np.expand_dims(g, axis)


def _spread(g_kept, shape):
    """A fresh array of ``shape`` filled with the broadcast cotangent (never a view of g)."""
    out = np.empty(shape, dtype=g_kept.dtype)
    out[...] = g_kept
    return out


def _distinct(rng, shape):
    """Values at least 0.4 apart (a shuffled ramp plus small noise): no ties, so finite
    differences see a single maximum."""
    size = int(np.prod(shape))
    ramp = rng.permutation(size).reshape(shape) * 0.5 - size * 0.25
    return ramp + rng.uniform(-0.05, 0.05, size=shape)


def _reduction_samples(draw=normal):
    """Every axis form (None, 0, -1, a tuple with a negative entry), with and without keepdims."""

    def samples(rng):
        return [
            Sample(draw(rng, ()), name="scalar"),
            Sample(draw(rng, (5,)), axis=0, name="vector, axis 0"),
            Sample(draw(rng, (3, 4, 5)), name="all axes"),
            Sample(draw(rng, (3, 4)), axis=None, keepdims=True, name="all axes, keepdims"),
            Sample(draw(rng, (3, 4, 5)), axis=0, name="axis 0"),
            Sample(draw(rng, (3, 4, 5)), axis=-1, keepdims=True, name="axis -1, keepdims"),
            Sample(draw(rng, (3, 4, 5)), axis=(0, 2), name="axes (0, 2)"),
            Sample(draw(rng, (2, 3, 4)), axis=(-1, 1), keepdims=True, name="axes (-1, 1), keepdims"),
        ]

    return samples


# ---------------------------------------------------------------------------- sum and mean


@defop("sum", samples=_reduction_samples(), reference=np.sum)
def sum(x, axis=None, keepdims=False):
    return np.sum(x, axis=axis, keepdims=keepdims), x.shape


@sum.defvjp
def sum_vjp(g, shape, axis=None, keepdims=False):
    return (_spread(_kept(g, axis, keepdims), shape),)  # d(Σ x)/dxᵢ = 1: g copied to every xᵢ


def _mean_dtype(x):
    # float stays itself (float32 in, float32 out); an int or bool mean is float32, not float64
    return x.dtype if x.dtype.kind in "fc" else np.float32


@defop("mean", samples=_reduction_samples(), reference=np.mean)
def mean(x, axis=None, keepdims=False):
    # Σ x / n, as np.mean computes it, without np.mean's Python-level overhead
    total = np.sum(x, axis=axis, keepdims=keepdims, dtype=_mean_dtype(x))
    count = x.size // total.size if total.size else 1
    return total / count, (x.shape, count)


@mean.defvjp
def mean_vjp(g, res, axis=None, keepdims=False):
    shape, count = res
    grad = np.empty(shape, dtype=g.dtype)
    # d(Σ x / n)/dxᵢ = 1/n; count is a Python int, so float32 stays float32
    np.divide(_kept(g, axis, keepdims), count, out=grad)
    return (grad,)


# ---------------------------------------------------------------------------- max


def _max_conventions():
    return [
        Convention(
            (np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]]),),
            np.array([1.0, 4.0]),
            (np.array([[0.0, 0.5, 0.5], [2.0, 0.0, 2.0]]),),
            attrs={"axis": -1},
            rule="ties along an axis split the gradient equally",
        ),
        Convention(
            (np.array([[3.0, 1.0], [3.0, 3.0]]),),
            np.array(6.0),
            (np.array([[2.0, 0.0], [2.0, 2.0]]),),
            rule="ties over all axes split the gradient equally",
        ),
        Convention(
            (np.array([[5.0, 5.0], [1.0, 5.0]]),),
            np.array([[2.0], [1.0]]),
            (np.array([[1.0, 1.0], [0.0, 1.0]]),),
            attrs={"axis": 1, "keepdims": True},
            rule="ties split equally, keepdims",
        ),
    ]


@defop(
    "max",
    samples=_reduction_samples(_distinct),
    reference=np.max,
    conventions=_max_conventions(),
)
def max(x, axis=None, keepdims=False):
    out = np.max(x, axis=axis, keepdims=keepdims)
    return out, (x, _kept(out, axis, keepdims))


@max.defvjp
def max_vjp(g, res, axis=None, keepdims=False):
    x, out_kept = res
    winners = x == out_kept
    # d max/dxᵢ = 1/k for each of the k elements equal to the maximum, 0 elsewhere
    k = np.sum(winners, axis=axis, keepdims=True, dtype=g.dtype)
    return (winners * (_kept(g, axis, keepdims) / k),)


# ---------------------------------------------------------------------------- registration

OPS = (sum, mean, max)


@hookimpl
def register_ops(register):
    for op in OPS:
        register(op)
