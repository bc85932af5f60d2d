"""Checklist item 9: an op leaves alone what it is given (inputs, cotangent, residuals) and
returns cotangents that share no memory with the incoming cotangent, with each other, or with
its inputs and residuals: the engine keeps a fresh cotangent as a leaf's ``.grad`` and sums
into them, so an alias would corrupt another gradient or an array the graph still holds
(``add`` returning ``(g, g)`` is the classic)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..calling import Case, differentiable, run_forward, run_vjp
from ..compare import arrays_in, copy_tree
from ..numeric import random_cotangent
from ..results import Outcome, failed, passed

__all__ = ["check_isolation"]


def _changed(before: np.ndarray, after: np.ndarray) -> bool:
    return before.shape != after.shape or not np.array_equal(before, after, equal_nan=True)


def _modified(before: tuple[np.ndarray, ...], after: tuple[np.ndarray, ...], who: str) -> list[str]:
    return [f"{who} modified input {i}" for i, (b, a) in enumerate(zip(before, after)) if _changed(b, a)]


def _mutations(case: Case) -> tuple[list[str], tuple, np.ndarray, tuple, Any]:
    work = tuple(a.copy() for a in case.args)
    out, residuals = run_forward(case.op, work, case.attrs)
    problems = _modified(case.args, work, "the forward")
    saved = copy_tree(residuals)
    g = random_cotangent(case.rng, out.shape)
    g_saved = g.copy()
    cots = run_vjp(case.op, g, residuals, case.attrs, len(work))
    problems += _modified(case.args, work, "the vjp")
    if _changed(g_saved, g):
        problems.append("the vjp modified the incoming cotangent g")
    for (path, before), (_, after) in zip(arrays_in(saved), arrays_in(residuals)):
        if _changed(before, after):
            problems.append(f"the vjp modified {path}")
    return problems, cots, g, work, residuals


def _aliases(case: Case, cots: tuple, g: np.ndarray, inputs: tuple, residuals: Any) -> list[str]:
    needed = differentiable(case.op, case.args)
    arrays = [(i, c) for i, c in enumerate(cots) if isinstance(c, np.ndarray) and i in needed]
    problems = [
        f"the cotangent of input {i} shares memory with the incoming cotangent g (return a copy)"
        for i, c in arrays
        if np.shares_memory(c, g)
    ]
    for n, (i, c) in enumerate(arrays):
        for j, d in arrays[n + 1:]:
            if np.shares_memory(c, d):
                problems.append(f"the cotangents of inputs {i} and {j} share memory")
    held = [(f"input {k}", a) for k, a in enumerate(inputs) if isinstance(a, np.ndarray)]
    for i, c in arrays:
        for what, a in held + list(arrays_in(residuals)):
            if np.shares_memory(c, a):
                problems.append(f"the cotangent of input {i} shares memory with {what} (return a new array)")
    return problems


def check_isolation(case: Case) -> list[Outcome]:
    """Item 9 (see the module docstring)."""
    mutations, cots, g, inputs, residuals = _mutations(case)
    aliases = _aliases(case, cots, g, inputs, residuals)
    return [
        failed("isolation.mutation", "; ".join(mutations))
        if mutations
        else passed("isolation.mutation", "inputs, cotangent and residuals unchanged"),
        failed("isolation.aliasing", "; ".join(aliases))
        if aliases
        else passed("isolation.aliasing", "no cotangent shares memory with g, another, an input or a residual"),
    ]
