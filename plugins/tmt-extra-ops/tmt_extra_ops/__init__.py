"""tmt-extra-ops: a complete example of a tmt op plugin.

Six ops, each a forward (returning output and residuals) with its vjp right below it,
registered through the ``register_ops`` hook that tmt's own op families use:

- ``extra.softplus(x)`` = log(1 + eˣ)
- ``extra.leaky_relu(x, negative_slope=0.01)``; convention: the slope at 0 is negative_slope
  (as PyTorch: x > 0 takes slope 1, everything else negative_slope)
- ``extra.gelu(x)``: the tanh approximation 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), as
  PyTorch's ``gelu(approximate="tanh")``; NumPy has no erf, and the two differ by < 1e-3
- ``extra.logsumexp(x, axis=None, keepdims=False)``: log Σ eˣ, computed stably (shifted by
  the maximum, so large inputs do not overflow); a slice of all -inf gives -inf, gradient 0
- ``extra.maximum(a, b)`` and ``extra.minimum(a, b)``: elementwise, broadcasting;
  convention: at ties the gradient is split equally between a and b (as PyTorch does)

Every computation keeps the input dtype: constants are Python floats (NumPy treats them as
weak, so float32 stays float32), never NumPy float64 scalars.
"""

from __future__ import annotations

import math

import numpy as np

from tmt_core.extend import (
    Convention,
    Sample,
    away_from_zero,
    binary_samples,
    defop,
    hookimpl,
    normal,
    unary_samples,
)

__all__ = ["softplus", "leaky_relu", "gelu", "logsumexp", "maximum", "minimum", "OPS", "register_ops"]


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1/(1+e⁻ˣ), without overflow for large |x|


# ---------------------------------------------------------------------------- activations


def _wide(rng, shape):
    """Normal values times 3: some reach the flat and the linear tail."""
    return normal(rng, shape) * 3.0


@defop("extra.softplus", samples=unary_samples(_wide), reference=lambda x: np.log1p(np.exp(x)))
def softplus(x):
    return np.logaddexp(0.0, x), x  # log(e⁰ + eˣ), stable for large x


@softplus.defvjp
def softplus_vjp(g, x):
    return (g * _sigmoid(x),)  # d log(1+eˣ)/dx = eˣ/(1+eˣ) = σ(x)


def _leaky_samples(rng):
    x = away_from_zero(rng, (3, 4))
    return [
        *unary_samples(away_from_zero)(rng),
        Sample(x, negative_slope=0.2, name="slope 0.2"),
        Sample(x, negative_slope=-0.5, name="negative slope"),
    ]


@defop(
    "extra.leaky_relu",
    samples=_leaky_samples,
    reference=lambda x, negative_slope=0.01: np.where(x > 0, x, x * negative_slope),
    conventions=[
        Convention(
            (np.array([-1.0, 0.0, 2.0]),), np.array([1.0, 2.0, 3.0]), (np.array([0.1, 0.2, 3.0]),),
            attrs={"negative_slope": 0.1}, rule="leaky_relu'(0) = negative_slope",
        )
    ],
)
def leaky_relu(x, negative_slope=0.01):
    return np.where(x > 0, x, x * negative_slope), x


@leaky_relu.defvjp
def leaky_relu_vjp(g, x, negative_slope=0.01):
    return (np.where(x > 0, g, g * negative_slope),)  # 1 where x > 0, else negative_slope


_GELU_C = math.sqrt(2.0 / math.pi)  # a Python float: a NumPy float64 would upcast float32


def _gelu_reference(x):
    # the same curve written another way: 0.5(1 + tanh z) = σ(2z)
    return x / (1 + np.exp(-2 * _GELU_C * (x + 0.044715 * x**3)))


@defop("extra.gelu", samples=unary_samples(), reference=_gelu_reference)
def gelu(x):
    t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
    return 0.5 * x * (1.0 + t), (x, t)


@gelu.defvjp
def gelu_vjp(g, res):
    x, t = res
    # d/dx 0.5x(1+t) = 0.5(1+t) + 0.5x(1-t²)·√(2/π)(1 + 3·0.044715x²)
    slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 0.134145 * x * x)
    return (g * slope,)


# ---------------------------------------------------------------------------- logsumexp


def _logsumexp_samples(rng):
    n = rng.standard_normal
    return [
        Sample(n(()), name="scalar"),
        Sample(n((5,)), name="vector"),
        Sample(n((3, 4)), axis=None, keepdims=True, name="all axes, keepdims"),
        Sample(n((3, 4)), axis=0, name="axis 0"),
        Sample(n((2, 3, 4)), axis=-1, keepdims=True, name="axis -1, keepdims"),
        Sample(n((2, 3, 4)), axis=(0, -1), name="axes (0, -1)", jacobian=False),
        Sample(n((3, 4)) + 800.0, axis=1, name="large values (no overflow)"),
    ]


def _logsumexp_reference(x, axis=None, keepdims=False):
    return np.logaddexp.reduce(x, axis=axis, keepdims=keepdims)


@defop("extra.logsumexp", samples=_logsumexp_samples, reference=_logsumexp_reference)
def logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # a slice of all -inf: shift by 0, not by -inf
    e = np.exp(x - m)  # <= 1: no overflow, however large x is
    total = np.sum(e, axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):  # log 0 = -inf for a slice of all -inf, as it should
        kept = m + np.log(total)  # log Σ eˣ = m + log Σ eˣ⁻ᵐ
    # softmax from e, not exp(x - out): in float32, x - out loses digits when |x| is large
    softmax = e / np.where(total > 0, total, 1.0)
    out = kept if keepdims else np.squeeze(kept, axis=axis)
    return out, softmax


@logsumexp.defvjp
def logsumexp_vjp(g, softmax, axis=None, keepdims=False):
    g_kept = g if keepdims or axis is None else np.expand_dims(g, axis)
    return (g_kept * softmax,)  # d logΣeˣ/dxᵢ = eˣⁱ/Σeˣ = softmax(x)ᵢ


# ---------------------------------------------------------------------------- maximum, minimum


def _tie_convention(op_name):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0])
    g = np.array([2.0, 1.0, 1.0])
    winner_a = np.array([1.0, 1.0, 0.0]) if op_name == "maximum" else np.array([1.0, 0.0, 1.0])
    return Convention(
        (a, b), g, (winner_a, g - winner_a), rule=f"{op_name}: ties split the gradient equally"
    )


def _choose(g, wins, ties):
    """g where the input wins, g/2 where it ties, 0 elsewhere (a fresh array, in g's dtype)."""
    return np.where(ties, g * 0.5, np.where(wins, g, 0.0))


def _selection_op(name, select, beats):
    """``extra.<name>(a, b)``: ``select`` elementwise, where ``beats(x, y)`` says x is chosen
    over y. One op per choice of ``select``; the gradient follows the chosen input."""

    @defop(
        f"extra.{name}",
        broadcasts=True,
        samples=binary_samples(),
        reference=select,
        conventions=[_tie_convention(name)],
    )
    def forward(a, b):
        return select(a, b), (a, b)

    @forward.defvjp
    def vjp(g, res):
        a, b = res
        ties = a == b
        # d select(a, b)/da = 1 where a is chosen, ½ at a tie, 0 elsewhere; the same for b
        return _choose(g, beats(a, b), ties), _choose(g, beats(b, a), ties)

    return forward


maximum = _selection_op("maximum", np.maximum, np.greater)  # 1 for the larger input
minimum = _selection_op("minimum", np.minimum, np.less)  # 1 for the smaller input


# ---------------------------------------------------------------------------- registration

OPS = (softplus, leaky_relu, gelu, logsumexp, maximum, minimum)


@hookimpl
def register_ops(register):
    for op in OPS:
        register(op)
