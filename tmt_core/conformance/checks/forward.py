"""Checklist items 3, 4 and 10: the forward's values, the dtypes and shapes that come out
of a call, and results that depend on nothing but the input values."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...broadcast import unbroadcast
from ..calling import (
    Case,
    cast_floats,
    differentiable,
    pullback,
    reduce_to_inputs,
    run_forward,
    run_vjp,
    shape_text,
)
from ..compare import mismatch, noncontiguous_variants
from ..numeric import random_cotangent
from ..results import Outcome, failed, passed

__all__ = ["check_reference", "check_dtypes", "check_determinism"]


def check_reference(case: Case) -> list[Outcome]:
    """Item 3: the forward matches the declared NumPy reference (float64)."""
    op = case.op
    assert op.reference is not None
    out, _ = run_forward(op, tuple(a.copy() for a in case.args), case.attrs)
    expected = np.asarray(op.reference(*(a.copy() for a in case.args), **case.attrs))
    if expected.shape != out.shape:
        return [failed(
            "reference",
            f"the forward gave shape {shape_text(out.shape)}, the reference "
            f"{shape_text(expected.shape)}",
        )]
    problem = mismatch(expected, out, op.rtol, op.atol)
    if problem:
        return [failed("reference", f"forward vs reference: {problem}")]
    return [passed("reference", f"output {shape_text(out.shape)} matches the reference")]


def _cotangent_problems(op: Any, i: int, cot: Any, arg: np.ndarray) -> list[str]:
    cot = np.asarray(cot)
    problems = []
    if cot.dtype != arg.dtype:
        problems.append(f"{arg.dtype} inputs: the cotangent of input {i} is {cot.dtype}")
    if cot.shape != arg.shape:
        if not op.broadcasts:
            why = "the op is declared broadcasts=False, so the engine will not sum it back"
        else:
            try:
                unbroadcast(cot, arg.shape)
                return problems
            except ValueError:
                why = "it does not sum back to it"
        problems.append(
            f"the cotangent of input {i} has shape {shape_text(cot.shape)} for an input of "
            f"shape {shape_text(arg.shape)}: {why}"
        )
    return problems


def check_dtypes(case: Case) -> list[Outcome]:
    """Item 4: float64 in gives float64 out and float32 in gives float32 out (no silent
    upcast); every cotangent has its input's dtype and (after broadcasting is undone) shape."""
    op = case.op
    problems: list[str] = []
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        args = cast_floats(case.args, dtype)
        out, residuals = run_forward(op, args, case.attrs)
        if out.dtype != dtype:
            problems.append(f"{name} inputs gave a {out.dtype} output")
        g = random_cotangent(case.rng, out.shape).astype(out.dtype)
        cots = run_vjp(op, g, residuals, case.attrs, len(args))
        for i in differentiable(op, args):
            if cots[i] is not None:
                problems += _cotangent_problems(op, i, cots[i], args[i])
    if problems:
        return [failed("dtypes", "; ".join(dict.fromkeys(problems)))]  # a shape problem once, not per dtype
    return [passed("dtypes", "float64 and float32 outputs and cotangents keep their dtype and shape")]


def _same(first: Any, second: Any) -> bool:
    if first is None or second is None:
        return first is second
    return np.array_equal(np.asarray(first), np.asarray(second), equal_nan=True)


def _repeat(case: Case, g: np.ndarray) -> Outcome:
    out1, cots1 = pullback(case.op, case.args, case.attrs, g)
    out2, cots2 = pullback(case.op, case.args, case.attrs, g)
    if not _same(out1, out2):
        return failed("determinism.repeat", "two forwards of the same inputs gave different outputs")
    for i, (c1, c2) in enumerate(zip(cots1, cots2)):
        if not _same(c1, c2):
            return failed(
                "determinism.repeat",
                f"two vjps of the same cotangent gave different results for input {i}",
            )
    return passed("determinism.repeat", "the same inputs gave the same output and cotangents twice")


def _layout(case: Case, g: np.ndarray, layout: str) -> Outcome | None:
    """Forward and vjp on inputs (and cotangent) stored ``layout``-wise, against contiguous."""
    op = case.op
    arrays = case.args + (g,)
    variants = [noncontiguous_variants(a).get(layout) for a in arrays]
    if all(v is None for v in variants):
        return None
    odd = [v if v is not None else a.copy() for a, v in zip(arrays, variants)]
    out, cots = pullback(op, case.args, case.attrs, g)
    out_odd, residuals = run_forward(op, tuple(odd[:-1]), case.attrs)
    cots_odd = run_vjp(op, odd[-1], residuals, case.attrs, len(case.args))
    check = f"determinism.{layout}"
    problem = mismatch(out, out_odd, op.rtol, op.atol)
    if problem:
        return failed(check, f"{layout} inputs changed the output: {problem}")
    reduced = reduce_to_inputs(op, case.args, cots)
    reduced_odd = reduce_to_inputs(op, case.args, cots_odd)
    for i in differentiable(op, case.args):
        problem = mismatch(reduced[i], reduced_odd[i], op.rtol, op.atol)
        if problem:
            return failed(check, f"{layout} inputs changed the cotangent of input {i}: {problem}")
    return passed(check, f"{layout} inputs give the same output and cotangents as contiguous ones")


def check_determinism(case: Case) -> list[Outcome]:
    """Item 10: the same inputs give the same results twice; transposed and strided inputs
    give the results of their contiguous copies."""
    out, _ = run_forward(case.op, tuple(a.copy() for a in case.args), case.attrs)
    g = random_cotangent(case.rng, out.shape)
    outcomes = [_repeat(case, g)]
    for layout in ("transposed", "strided"):
        outcome = _layout(case, g, layout)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes
