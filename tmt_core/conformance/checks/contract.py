"""Checklist items 1 and 2: the declaration is complete, and a call returns what the engine
expects (``(out, residuals)`` from the forward, one cotangent slot per array input)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ...errors import RegistrationError
from ...op import Op, Sample, validate_op
from ..calling import Case, ContractError, differentiable, run_forward, run_vjp
from ..numeric import random_cotangent
from ..results import Outcome, failed, passed

__all__ = ["check_registration", "check_vjp_slots"]


def _required_positional(forward: Any) -> list[str] | None:
    """Names of the forward's positional parameters without default; None for ``*args``."""
    params = inspect.signature(forward).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return [
        p.name
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]


def _sample_problem(op: Op, sample: Any, position: int) -> str | None:
    if not isinstance(sample, Sample):
        return f"sample {position} is a {type(sample).__name__}, not a tmt_core.extend.Sample"
    for i, arg in enumerate(sample.args):
        kind = np.asarray(arg).dtype.kind
        if kind not in "fiub":
            return f"sample {sample.describe()!r}: input {i} is not numeric (dtype kind {kind!r})"
    required = _required_positional(op.forward)
    if required is not None:
        arrays = [name for name in required if name not in sample.attrs]
        if len(sample.args) != len(arrays):
            return (
                f"sample {sample.describe()!r} passes {len(sample.args)} array input(s), but the "
                f"forward takes {len(arrays)} ({', '.join(arrays) or 'none'})"
            )
    return None


def check_registration(
    op: Any, rng: np.random.Generator, provider: str = "(not registered)"
) -> tuple[list[Outcome], list[Sample] | None]:
    """Item 1: forward, vjp and samples are declared and the samples can be built. Returns
    the outcome and the samples (None when the rest of the suite cannot run)."""
    name = getattr(op, "name", repr(op))
    try:
        validate_op(op, name, provider)
    except RegistrationError as exc:
        return [failed("registration", str(exc))], None
    try:
        samples = op.sample_list(rng)
    except Exception as exc:
        return [failed("registration", f"samples(rng) raised {type(exc).__name__}: {exc}")], None
    if not samples:
        return [failed("registration", "samples(rng) returned no sample: declare at least one")], None
    for position, sample in enumerate(samples):
        problem = _sample_problem(op, sample, position)
        if problem:
            return [failed("registration", problem)], None
    return [passed("registration", f"forward, vjp and {len(samples)} sample(s) declared")], samples


def check_vjp_slots(case: Case) -> list[Outcome]:
    """Item 2: the forward returns (out, residuals); the vjp returns one slot per array
    input, an array for each differentiable one, None only where declared non-differentiable."""
    op, args = case.op, case.args
    try:
        out, residuals = run_forward(op, tuple(a.copy() for a in args), case.attrs)
    except ContractError as exc:
        return [failed("vjp_slots", str(exc))]
    except Exception as exc:
        return [failed("vjp_slots", f"the forward raised {type(exc).__name__}: {exc}")]
    g = random_cotangent(case.rng, out.shape)
    try:
        cots = run_vjp(op, g, residuals, case.attrs, len(args))
    except ContractError as exc:
        return [failed("vjp_slots", str(exc))]
    except Exception as exc:
        return [failed("vjp_slots", f"the vjp raised {type(exc).__name__}: {exc}")]
    needed = differentiable(op, args)
    for i in needed:
        if cots[i] is None:
            return [failed(
                "vjp_slots",
                f"the vjp returned None for input {i} ({args[i].dtype}, shape {args[i].shape}), "
                f"which is not declared non-differentiable (nondiff={op.nondiff})",
            )]
        if not isinstance(cots[i], (np.ndarray, np.generic)):
            return [failed(
                "vjp_slots",
                f"the vjp returned a {type(cots[i]).__name__} for input {i}; cotangents are "
                f"NumPy arrays",
            )]
    others = len(args) - len(needed)
    detail = f", {others} without a gradient (nondiff or integer)" if others else ""
    return [passed("vjp_slots", f"{len(needed)} cotangent(s){detail}")]
