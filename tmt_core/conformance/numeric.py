"""Central finite differences in float64: the yardstick every vjp is measured against.

``(f(x + εv) - f(x - εv)) / 2ε`` approximates the directional derivative ``J v`` with an
error of order ε² (truncation) plus 1e-16/ε (rounding): ε = 1e-6 keeps both near 1e-10.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = [
    "EPS",
    "JACOBIAN_MAX_SIZE",
    "fd_tolerances",
    "random_cotangent",
    "directional_derivative",
    "numeric_vjp",
    "numeric_jacobian",
]

EPS = 1e-6
JACOBIAN_MAX_SIZE = 400  # input and output elements: above this a sample is not "small"

Forward = Callable[[tuple[np.ndarray, ...]], np.ndarray]


def fd_tolerances(op: Any) -> tuple[float, float]:
    """(rtol, atol) for comparing a vjp with finite differences: the op's own tolerances,
    never tighter than finite differences can resolve."""
    return max(op.rtol, 1e-5), max(op.atol, 1e-6)


def random_cotangent(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal values: never ones, which would hide a transposed or ignored cotangent."""
    return rng.standard_normal(shape)


def _shifted(args: tuple[np.ndarray, ...], index: int, delta: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(a + delta if i == index else a for i, a in enumerate(args))


def directional_derivative(
    f: Forward,
    args: tuple[np.ndarray, ...],
    directions: dict[int, np.ndarray],
    g: np.ndarray,
    eps: float = EPS,
) -> float:
    """⟨g, J v⟩ for the perturbation ``v`` given per input index, by central differences."""
    plus = tuple(a + eps * directions[i] if i in directions else a for i, a in enumerate(args))
    minus = tuple(a - eps * directions[i] if i in directions else a for i, a in enumerate(args))
    return float(np.sum(g * (f(plus) - f(minus)))) / (2 * eps)


def numeric_vjp(
    f: Forward, args: tuple[np.ndarray, ...], indices: list[int], g: np.ndarray, eps: float = EPS
) -> dict[int, np.ndarray]:
    """gᵀJ for each input in ``indices``, one element at a time: ∂⟨g, f⟩/∂xⱼ."""
    result = {}
    for i in indices:
        grad = np.zeros(args[i].shape)
        for j in range(args[i].size):
            e = np.zeros(args[i].shape)
            e.flat[j] = eps
            grad.flat[j] = float(np.sum(g * (f(_shifted(args, i, e)) - f(_shifted(args, i, -e))))) / (2 * eps)
        result[i] = grad
    return result


def numeric_jacobian(
    f: Forward, args: tuple[np.ndarray, ...], indices: list[int], out_size: int, eps: float = EPS
) -> dict[int, np.ndarray]:
    """The Jacobian ∂out/∂xᵢ as an (out.size, xᵢ.size) matrix for each input in ``indices``."""
    result = {}
    for i in indices:
        jac = np.zeros((out_size, args[i].size))
        for j in range(args[i].size):
            e = np.zeros(args[i].shape)
            e.flat[j] = eps
            column = (f(_shifted(args, i, e)) - f(_shifted(args, i, -e))) / (2 * eps)
            jac[:, j] = np.ravel(column)
        result[i] = jac
    return result


ELEMENTWISE_MAX_SIZE = 2000  # inputs up to this many elements are compared one by one


def vjp_problem(
    f: Forward,
    args: tuple[np.ndarray, ...],
    g: np.ndarray,
    cotangents: dict[int, np.ndarray],
    tolerances: tuple[float, float],
    rng: np.random.Generator,
) -> str | None:
    """None when ``cotangents`` (input index -> gᵀJ from the vjp, in the input's shape) agree
    with finite differences. Small inputs are compared element by element, so the message
    points at the first wrong entry; large ones along one random direction."""
    from .compare import mismatch  # numeric stays importable on its own

    rtol, atol = tolerances
    indices = sorted(cotangents)
    if sum(args[i].size for i in indices) <= ELEMENTWISE_MAX_SIZE:
        expected = numeric_vjp(f, args, indices, g)
        for i in indices:
            problem = mismatch(expected[i], cotangents[i], rtol, atol)
            if problem:
                return f"input {i}: finite differences vs vjp: {problem}"
        return None
    directions = {i: rng.standard_normal(args[i].shape) for i in indices}
    numeric = directional_derivative(f, args, directions, g)
    analytic = float(sum(np.sum(cotangents[i] * directions[i]) for i in indices))
    if abs(numeric - analytic) > atol + rtol * max(abs(numeric), abs(analytic)):
        return (
            f"along a random direction v: finite differences give <g, Jv> = {numeric:.6g}, "
            f"the vjp gives <vjp(g), v> = {analytic:.6g}"
        )
    return None
