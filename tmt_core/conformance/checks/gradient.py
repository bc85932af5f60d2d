"""Checklist items 5, 6 and 11: the vjp against central finite differences, its linearity
in the cotangent, and the documented gradient at kinks and ties."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..calling import Case, differentiable, pullback, reduce_to_inputs, run_forward, sample_arrays
from ..compare import mismatch
from ..numeric import (
    JACOBIAN_MAX_SIZE,
    directional_derivative,
    fd_tolerances,
    numeric_jacobian,
    random_cotangent,
    vjp_problem,
)
from ..results import Outcome, failed, passed, skipped
from ...op import Sample
from .context import OpContext

__all__ = ["check_finite_differences", "check_linearity", "check_conventions"]


def forward_fn(case: Case) -> Any:
    """The forward as a function of the inputs alone, in float64, never touching its inputs."""

    def f(args: tuple[np.ndarray, ...]) -> np.ndarray:
        out, _ = run_forward(case.op, tuple(a.copy() for a in args), case.attrs)
        return np.asarray(out, dtype=np.float64)

    return f


def _direction(case: Case, f: Any, g: np.ndarray, reduced: list[Any], diff: list[int]) -> Outcome:
    rtol, atol = fd_tolerances(case.op)
    directions = {i: case.rng.standard_normal(case.args[i].shape) for i in diff}
    numeric = directional_derivative(f, case.args, directions, g)
    analytic = float(sum(np.sum(reduced[i] * directions[i]) for i in diff))
    if abs(numeric - analytic) <= atol + rtol * max(abs(numeric), abs(analytic)):
        return passed(
            "finite_differences.direction",
            f"<g, Jv> = {numeric:.6g} by finite differences and by the vjp",
        )
    where = vjp_problem(f, case.args, g, {i: reduced[i] for i in diff}, (rtol, atol), case.rng)
    return failed(
        "finite_differences.direction",
        f"along a random direction v, finite differences give <g, Jv> = {numeric:.6g} and "
        f"the vjp gives <vjp(g), v> = {analytic:.6g}" + (f"; {where}" if where else ""),
    )


def _index_text(index: tuple) -> str:
    return "[" + ", ".join(str(int(n)) for n in index) + "]"


def _jacobian(case: Case, f: Any, out_shape: tuple[int, ...], diff: list[int]) -> Outcome:
    op, args = case.op, case.args
    size = int(np.prod(out_shape, dtype=np.int64))
    inputs = sum(args[i].size for i in diff)
    if max(size, inputs) > JACOBIAN_MAX_SIZE:
        return skipped(
            "finite_differences.jacobian",
            f"too large for the full Jacobian ({inputs} inputs, {size} outputs; at most "
            f"{JACOBIAN_MAX_SIZE}): the random-direction test covers it",
        )
    numeric = numeric_jacobian(f, args, diff, size)
    analytic = {i: np.zeros((size, args[i].size)) for i in diff}
    for k in range(size):  # row k of J is the vjp of the k-th unit cotangent
        unit = np.zeros(size)
        unit[k] = 1.0
        _, cots = pullback(op, args, case.attrs, unit.reshape(out_shape))
        reduced = reduce_to_inputs(op, args, cots)
        for i in diff:
            analytic[i][k] = np.ravel(reduced[i])
    rtol, atol = fd_tolerances(op)
    for i in diff:
        bad = ~np.isclose(analytic[i], numeric[i], rtol=rtol, atol=atol)
        if bad.any():
            error = np.where(bad, np.abs(analytic[i] - numeric[i]), -1.0)
            error = np.where(np.isnan(error), np.inf, error)
            k, j = np.unravel_index(int(np.argmax(error)), error.shape)
            out_index = _index_text(np.unravel_index(k, out_shape)) if out_shape else ""
            in_index = _index_text(np.unravel_index(j, args[i].shape)) if args[i].shape else ""
            return failed(
                "finite_differences.jacobian",
                f"d out{out_index} / d input{i}{in_index}: finite differences give "
                f"{numeric[i][k, j]:.6g}, the vjp gives {analytic[i][k, j]:.6g} "
                f"({int(bad.sum())} of {bad.size} Jacobian entries off)",
            )
    return passed("finite_differences.jacobian", f"full Jacobian ({size} x {inputs}) matches")


def check_finite_differences(case: Case) -> list[Outcome]:
    """Item 5: in float64, the vjp agrees with central differences along a random direction
    on every sample, and entry by entry on the full Jacobian of small samples that ask for it."""
    diff = differentiable(case.op, case.args)
    if not diff:
        return [skipped("finite_differences", "no differentiable input")]
    f = forward_fn(case)
    out = f(case.args)
    g = random_cotangent(case.rng, out.shape)
    _, cots = pullback(case.op, case.args, case.attrs, g)
    reduced = reduce_to_inputs(case.op, case.args, cots)
    outcomes = [_direction(case, f, g, reduced, diff)]
    if case.sample.jacobian:
        outcomes.append(_jacobian(case, f, out.shape, diff))
    return outcomes


def check_linearity(case: Case) -> list[Outcome]:
    """Item 6: with random cotangents, vjp(a·g1 + b·g2) = a·vjp(g1) + b·vjp(g2). A vjp that
    ignores g, or adds something that does not scale with it, fails."""
    op, args = case.op, case.args
    diff = differentiable(op, args)
    if not diff:
        return [skipped("linearity", "no differentiable input")]
    out, _ = run_forward(op, tuple(a.copy() for a in args), case.attrs)
    g1 = random_cotangent(case.rng, out.shape)
    g2 = random_cotangent(case.rng, out.shape)
    a, b = case.rng.uniform(1.5, 2.5), case.rng.uniform(0.5, 1.0)  # a + b != 1, a != b
    combined = reduce_to_inputs(op, args, pullback(op, args, case.attrs, a * g1 + b * g2)[1])
    first = reduce_to_inputs(op, args, pullback(op, args, case.attrs, g1)[1])
    second = reduce_to_inputs(op, args, pullback(op, args, case.attrs, g2)[1])
    rtol, atol = fd_tolerances(op)
    for i in diff:
        problem = mismatch(a * first[i] + b * second[i], combined[i], rtol, atol)
        if problem:
            return [failed(
                "linearity",
                f"input {i}: vjp(a*g1 + b*g2) != a*vjp(g1) + b*vjp(g2) with a={a:.3f}, "
                f"b={b:.3f}: {problem} (does the vjp ignore g, or add a term without g?)",
            )]
    return [passed("linearity", "linear in random cotangents")]


def _convention_args(args: tuple[Any, ...]) -> tuple[np.ndarray, ...]:
    return sample_arrays(Sample(*args))


def check_conventions(ctx: OpContext) -> list[Outcome]:
    """Item 11: at kinks and ties, where finite differences mean nothing, the vjp gives the
    gradient the op documents (``Convention(args, g, expected, rule=...)``)."""
    op = ctx.op
    if not op.conventions:
        return [skipped("conventions", "no kink or tie convention declared")]
    outcomes = []
    for conv in op.conventions:
        where = f"convention: {conv.rule or 'unnamed'}"
        problem = _convention_problem(op, conv)
        if problem:
            outcomes.append(failed("conventions", problem, where))
        else:
            outcomes.append(passed("conventions", f"{conv.rule} holds", where))
    return outcomes


def _convention_problem(op: Any, conv: Any) -> str | None:
    args = _convention_args(conv.args)
    if len(conv.expected) != len(args):
        return f"declares {len(conv.expected)} expected cotangent(s) for {len(args)} input(s)"
    g = np.asarray(conv.g, dtype=np.float64)
    _, cots = pullback(op, args, dict(conv.attrs), g)
    reduced = reduce_to_inputs(op, args, cots)
    problems = []
    for i, expected in enumerate(conv.expected):
        if expected is None:
            continue
        if reduced[i] is None:
            problems.append(f"input {i}: expected {np.asarray(expected).tolist()}, the vjp gave None")
            continue
        problem = mismatch(np.asarray(expected, dtype=np.float64), reduced[i], op.rtol, op.atol)
        if problem:
            problems.append(f"input {i}: {problem} (the vjp gave {reduced[i].tolist()})")
    return "; ".join(problems) or None
