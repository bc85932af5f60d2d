"""Checklist item 8: the samples exercise the op's attributes: every attribute with at least
two values, ``axis`` with 0, a negative axis and None (when None is its default),
``keepdims`` both ways, and ``stride`` combined with ``padding``."""

from __future__ import annotations

import inspect
from typing import Any

from ..results import Outcome, failed, passed, skipped
from .context import OpContext

__all__ = ["check_attributes", "declared_attributes"]

REQUIRED = object()


def declared_attributes(ctx: OpContext) -> dict[str, Any]:
    """Attribute name -> default (REQUIRED when it has none): the forward's keyword
    parameters, plus whatever the samples pass when the forward takes ``**attrs``."""
    params = inspect.signature(ctx.op.forward).parameters.values()
    attrs = {}
    for p in params:
        if p.kind is p.KEYWORD_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty):
            attrs[p.name] = REQUIRED if p.default is p.empty else p.default
    named_in_samples = {name for s in ctx.samples for name in s.attrs}
    for p in params:  # a positional parameter the samples pass by keyword is an attribute too
        if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty and p.name in named_in_samples:
            attrs[p.name] = REQUIRED
    if any(p.kind is p.VAR_KEYWORD for p in params):
        for name in named_in_samples:
            attrs.setdefault(name, REQUIRED)
    return attrs


def _values(ctx: OpContext, name: str, default: Any) -> list[Any]:
    return [s.attrs.get(name, default) for s in ctx.samples]


def _distinct(values: list[Any]) -> dict[str, Any]:
    return {repr(v): v for v in values if v is not REQUIRED}


def _axis_problems(values: list[Any], default: Any) -> list[str]:
    flat = [a for v in values for a in (v if isinstance(v, (tuple, list)) else (v,))]
    problems = []
    if 0 not in flat:
        problems.append("axis=0")
    if not any(isinstance(a, int) and a < 0 for a in flat):
        problems.append("a negative axis (axis=-1)")
    if default is None and None not in values:
        problems.append("axis=None")
    return [f"no sample uses {', '.join(problems)}"] if problems else []


def check_attributes(ctx: OpContext) -> list[Outcome]:
    """Item 8 (see the module docstring)."""
    declared = declared_attributes(ctx)
    if not declared:
        return [skipped("attributes", "the forward takes no attributes")]
    problems = []
    for name, default in declared.items():
        values = _values(ctx, name, default)
        seen = _distinct(values)
        if len(seen) < 2:
            only = next(iter(seen), "unset")
            problems.append(f"{name} is {only} in every sample: add a sample with another value")
        if name == "axis":
            problems += _axis_problems(values, default)
        if name == "keepdims" and not {True, False} <= {bool(v) for v in values}:
            problems.append("keepdims needs samples with True and with False")
    if "stride" in declared and "padding" in declared:
        stride_default, padding_default = declared["stride"], declared["padding"]
        if not any(
            s.attrs.get("stride", stride_default) != stride_default
            and s.attrs.get("padding", padding_default) != padding_default
            for s in ctx.samples
        ):
            problems.append("no sample combines a non-default stride with a non-default padding")
    if problems:
        return [failed("attributes", "; ".join(problems))]
    return [passed("attributes", f"{', '.join(declared)} exercised")]
