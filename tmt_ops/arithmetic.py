"""Arithmetic ops: binary operators, pointwise math and activations.

Each op is its forward (returning output and residuals) with its vjp right below it.
Conventions at kinks: relu'(0) = 0, abs'(0) = 0; clip passes the gradient where
min <= x <= max (bounds included, as PyTorch's clamp does).
"""

from __future__ import annotations

import math

import numpy as np

from tmt_core.extend import (
    Convention,
    OpError,
    Sample,
    away_from_zero,
    binary_samples,
    defop,
    hookimpl,
    positive,
    unary_samples,
)

from . import _parallel as parallel
from ._fused import check_activation

# ---------------------------------------------------------------------------- binary operators


@defop("add", broadcasts=True, samples=binary_samples(), reference=np.add)
def add(a, b):
    return a + b, None


@add.defvjp
def add_vjp(g, res):
    return g.copy(), g.copy()  # d(a+b)/da = d(a+b)/db = 1; copies: cotangents never alias


@defop("sub", broadcasts=True, samples=binary_samples(), reference=np.subtract)
def sub(a, b):
    return a - b, None


@sub.defvjp
def sub_vjp(g, res):
    return g.copy(), -g  # d(a-b)/da = 1, d(a-b)/db = -1


@defop("mul", broadcasts=True, samples=binary_samples(), reference=np.multiply)
def mul(a, b):
    return a * b, (a, b)


@mul.defvjp
def mul_vjp(g, res):
    a, b = res
    return g * b, g * a  # d(ab)/da = b, d(ab)/db = a


@defop("div", broadcasts=True, samples=binary_samples(right=positive), reference=np.divide)
def div(a, b):
    return a / b, (a, b)


@div.defvjp
def div_vjp(g, res):
    a, b = res
    ga = g / b
    return ga, -ga * a / b  # d(a/b)/da = 1/b, d(a/b)/db = -a/b²


@defop("pow", broadcasts=True, samples=binary_samples(left=positive), reference=np.power)
def pow(a, b):
    out = a**b
    return out, (a, b, out)


@pow.defvjp
def pow_vjp(g, res):
    a, b, out = res
    # d(a^b)/da = b a^(b-1); d(a^b)/db = a^b ln a, taken as 0 where a <= 0 (no real log)
    log_a = np.log(np.where(a > 0, a, 1))
    return g * b * a ** (b - 1), g * out * log_a


def _matmul_samples(rng):
    n = rng.standard_normal
    return [
        Sample(n((3, 4)), n((4, 5)), name="matrix @ matrix"),
        Sample(n((2, 3, 4)), n((4, 5)), name="batch @ matrix"),
        Sample(n((2, 3, 4)), n((2, 4, 2)), name="batch @ batch"),
        Sample(n((3, 1, 2, 4)), n((1, 2, 4, 3)), name="batch (n,1) @ batch (1,m)"),
        Sample(n((4,)), n((4, 3)), name="vector @ matrix"),
        Sample(n((3, 4)), n((4,)), name="matrix @ vector"),
        Sample(n((4,)), n((4,)), name="vector @ vector"),
    ]


@defop(
    "matmul",
    broadcasts=True,
    samples=_matmul_samples,
    reference=np.matmul,
    xfail={"broadcasting.scalar": "matmul takes no 0-d operand (NumPy raises; use mul)"},
)
def matmul(a, b):
    if a.ndim == 2 and b.ndim == 2:  # a layer: big ones are split over the cores
        return parallel.matmul(a, b), (a, b)
    return a @ b, (a, b)


@matmul.defvjp
def matmul_vjp(g, res, needs=(True, True)):
    a, b = res
    if a.ndim == 1 and b.ndim == 1:
        return g * b, g * a  # dot product
    if a.ndim == 2 and b.ndim == 2:  # the layer case; skip what nobody needs (input images)
        return (parallel.matmul(g, b.T) if needs[0] else None), (parallel.matmul(a.T, g) if needs[1] else None)
    # Treat vectors as matrices: a (k,) as (1,k), b (k,) as (k,1), then dA = G Bᵀ, dB = Aᵀ G.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1:
        g2 = g2[..., None, :]
    if b.ndim == 1:
        g2 = g2[..., None]
    ga = g2 @ np.swapaxes(b2, -1, -2)
    gb = np.swapaxes(a2, -1, -2) @ g2
    if a.ndim == 1:
        ga = ga[..., 0, :]
    if b.ndim == 1:
        gb = gb[..., 0]
    return ga, gb


def _linear_samples(rng):
    n = rng.standard_normal
    return [
        Sample(n((3, 4)), n((4, 5)), n(5), name="batch of rows"),
        Sample(n((2, 3, 4)), n((4, 2)), n(2), name="leading axes"),
        Sample(n(4), n((4, 3)), n(3), name="one row"),
        Sample(n((3, 4)), n((4, 5)), n(5), activation="relu", name="fused relu"),
    ]


def _linear_reference(x, w, b, activation=None):
    out = x @ w + b
    return np.maximum(out, 0) if activation == "relu" else out


@defop("linear", samples=_linear_samples, reference=_linear_reference)
def linear(x, w, b, activation=None):
    """A layer in one op: ``x @ w + b`` for x (..., in), w (in, out), b (out,), and with
    ``activation="relu"`` its ReLU, applied in place (no pass over a new array per step)."""
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[0] or b.shape != w.shape[1:]:
        raise OpError(
            f"linear: needs x (..., in), w (in, out) and b (out,); got x {x.shape}, w {w.shape}, b {b.shape}"
        )
    check_activation("linear", activation)
    rows = x.reshape(math.prod(x.shape[:-1]), w.shape[0])  # sizes spelled out: any may be 0
    out = parallel.matmul(rows, w)
    out = np.add(out, b, out=out) if np.result_type(out, b) == out.dtype else out + b
    if activation == "relu":
        np.maximum(out, 0, out=out)
    out = out.reshape(x.shape[:-1] + w.shape[1:])
    return out, (x, w, out if activation else None)


@linear.defvjp
def linear_vjp(g, res, activation=None, needs=(True, True, True)):
    x, w, clipped = res
    if clipped is not None:
        g = np.multiply(g, clipped > 0)  # relu'(z) = 1[z > 0], and relu(z) > 0 exactly where z > 0
    rows = math.prod(x.shape[:-1])  # sizes spelled out: any may be 0
    g2 = g.reshape(rows, w.shape[1])
    wanted = [(g2, w.T)] * needs[0] + [(x.reshape(rows, w.shape[0]).T, g2)] * needs[1]  # dx = G Wᵀ, dW = Xᵀ G
    products = parallel.matmuls(*wanted)
    gx = products.pop(0).reshape(x.shape) if needs[0] else None
    gw = products.pop(0) if needs[1] else None
    gb = g2.sum(axis=0) if needs[2] else None  # db = Σ rows of G
    return gx, gw, gb


# ---------------------------------------------------------------------------- pointwise math


@defop("neg", samples=unary_samples(), reference=np.negative)
def neg(x):
    return -x, None


@neg.defvjp
def neg_vjp(g, res):
    return (-g,)


@defop("exp", samples=unary_samples(), reference=np.exp)
def exp(x):
    out = np.exp(x)
    return out, out


@exp.defvjp
def exp_vjp(g, out):
    return (g * out,)  # d eˣ/dx = eˣ


@defop("log", samples=unary_samples(positive), reference=np.log)
def log(x):
    return np.log(x), x


@log.defvjp
def log_vjp(g, x):
    return (g / x,)  # d ln x/dx = 1/x


@defop("sqrt", samples=unary_samples(positive), reference=np.sqrt)
def sqrt(x):
    out = np.sqrt(x)
    return out, out


@sqrt.defvjp
def sqrt_vjp(g, out):
    return (g / (2 * out),)  # d √x/dx = 1/(2√x)


@defop(
    "abs",
    samples=unary_samples(away_from_zero),
    reference=np.abs,
    conventions=[Convention((np.array([-2.0, 0.0, 3.0]),), np.ones(3), (np.array([-1.0, 0.0, 1.0]),), rule="abs'(0) = 0")],
)
def abs(x):
    return np.abs(x), x


@abs.defvjp
def abs_vjp(g, x):
    return (g * np.sign(x),)  # d|x|/dx = sign(x), 0 at 0


# ---------------------------------------------------------------------------- activations


@defop("tanh", samples=unary_samples(), reference=np.tanh)
def tanh(x):
    out = np.tanh(x)
    return out, out


@tanh.defvjp
def tanh_vjp(g, out):
    return (g * (1 - out * out),)  # d tanh/dx = 1 - tanh²


def _sigmoid_reference(x):
    return 1 / (1 + np.exp(-x))


@defop("sigmoid", samples=unary_samples(), reference=_sigmoid_reference)
def sigmoid(x):
    out = 0.5 * (1 + np.tanh(0.5 * x))  # = 1/(1+e⁻ˣ), without overflow for large |x|
    return out.astype(x.dtype, copy=False), out


@sigmoid.defvjp
def sigmoid_vjp(g, out):
    return ((g * out * (1 - out)).astype(g.dtype, copy=False),)  # σ' = σ(1-σ)


@defop(
    "relu",
    samples=unary_samples(away_from_zero),
    reference=lambda x: np.maximum(x, 0),
    conventions=[Convention((np.array([-1.0, 0.0, 2.0]),), np.ones(3), (np.array([0.0, 0.0, 1.0]),), rule="relu'(0) = 0")],
)
def relu(x):
    if x.dtype.kind == "b":  # max(True, 0) is an integer: NumPy's own promotion
        out = np.maximum(x, 0)
    else:
        out = parallel.elementwise(_relu_into, np.empty_like(x), x)
    return out, out


@relu.defvjp
def relu_vjp(g, out):
    return (parallel.elementwise(_relu_grad_into, np.empty_like(g), g, out),)


def _relu_into(x, out):
    return np.maximum(x, 0, out=out)


def _relu_grad_into(g, y, out):
    return np.multiply(g, y > 0, out=out)  # g·1[x > 0]: relu'(0) = 0


def _clip_samples(rng):
    x = away_from_zero(rng, (4, 5))
    return [
        Sample(x, min=-0.5, max=0.5, name="both bounds"),
        Sample(x, min=-0.5, max=None, name="lower bound only"),
        Sample(x, min=None, max=0.5, name="upper bound only"),
    ]


def _clip_reference(x, min=None, max=None):
    return np.clip(x, min, max)


@defop(
    "clip",
    samples=_clip_samples,
    reference=_clip_reference,
    conventions=[
        Convention((np.array([-1.0, 0.0, 1.0, 2.0]),), np.ones(4), (np.array([1.0, 1.0, 1.0, 0.0]),), attrs={"min": -1.0, "max": 1.0}, rule="bounds pass the gradient")
    ],
)
def clip(x, min=None, max=None):
    return np.clip(x, min, max), x


@clip.defvjp
def clip_vjp(g, x, min=None, max=None):
    inside = np.ones(x.shape, dtype=bool)
    if min is not None:
        inside &= x >= min
    if max is not None:
        inside &= x <= max
    return (g * inside,)  # 1 on [min, max], 0 outside


# ---------------------------------------------------------------------------- registration

OPS = (add, sub, mul, div, pow, matmul, linear, neg, exp, log, sqrt, abs, tanh, sigmoid, relu, clip)


@hookimpl
def register_ops(register):
    for op in OPS:
        register(op)
