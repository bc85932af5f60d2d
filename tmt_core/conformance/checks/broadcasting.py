"""Checklist item 7: an op declared ``broadcasts=True`` shows every broadcasting case in its
samples (a scalar with an array, ``(n,1)`` with ``(1,m)``, rank extension), and on each
such sample the engine sums the cotangents back to the inputs' shapes, correctly."""

from __future__ import annotations

from ...dispatch import apply
from ...grad_mode import enable_grad
from ...tensor import Tensor
from ..calling import Case, differentiable, is_float, sample_arrays, shape_text
from ..numeric import fd_tolerances, random_cotangent, vjp_problem
from ..results import Outcome, failed, passed, skipped
from .context import OpContext
from .gradient import forward_fn

__all__ = ["check_broadcasting", "broadcast_kinds"]

KINDS = {
    "scalar": "a 0-d input with an array",
    "outer": "(n,1) with (1,m): two inputs of one rank, each stretched along a different axis",
    "rank": "rank extension: inputs of different ranks, e.g. (2,3,4) with (4,)",
}


def broadcast_kinds(shapes: list[tuple[int, ...]]) -> set[str]:
    """Which broadcasting cases a set of float input shapes exercises."""
    kinds = set()
    for a in shapes:
        for b in shapes:
            if a == () and b != ():
                kinds.add("scalar")
            if a and b and len(a) != len(b):
                kinds.add("rank")
            if a and len(a) == len(b):
                stretched_a = any(x == 1 < y for x, y in zip(a, b))
                stretched_b = any(y == 1 < x for x, y in zip(a, b))
                if stretched_a and stretched_b:
                    kinds.add("outer")
    return kinds


def _reduce_back(case: Case) -> Outcome:
    """Run the sample through the real engine (Tensors, dispatch, backward) and compare each
    leaf's gradient with finite differences."""
    op, args = case.op, case.args
    diff = differentiable(op, args)
    with enable_grad():
        leaves = [
            Tensor(a.copy(), requires_grad=True, dtype=a.dtype) if i in diff else a.copy()
            for i, a in enumerate(args)
        ]
        out = apply(op, *leaves, **case.attrs)
        g = random_cotangent(case.rng, out.shape)
        out.backward(g)
    grads = {}
    for i in diff:
        grad = leaves[i].grad
        if grad is None or grad.shape != args[i].shape:
            got = "no gradient" if grad is None else f"a gradient of shape {shape_text(grad.shape)}"
            return failed(
                "broadcasting.reduce",
                f"input {i} of shape {shape_text(args[i].shape)} got {got} from the engine",
                case.label,
            )
        grads[i] = grad
    problem = vjp_problem(forward_fn(case), args, g, grads, fd_tolerances(op), case.rng)
    if problem:
        return failed("broadcasting.reduce", f"gradient through the engine: {problem}", case.label)
    shapes = ", ".join(shape_text(args[i].shape) for i in diff)
    return passed("broadcasting.reduce", f"gradients reduced back to {shapes}", case.label)


def check_broadcasting(ctx: OpContext) -> list[Outcome]:
    """Item 7 (see the module docstring)."""
    if not ctx.op.broadcasts:
        return [skipped("broadcasting", "the op is not declared broadcasts=True")]
    outcomes = []
    covered: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for sample in ctx.samples:  # coverage is about what is declared, runnable or not
        shapes = [a.shape for a in sample_arrays(sample) if is_float(a)]
        for kind in broadcast_kinds(shapes):
            covered[kind].append(sample.name or sample.describe())
    for kind, description in KINDS.items():
        if covered[kind]:
            outcomes.append(passed(f"broadcasting.{kind}", f"covered by {', '.join(covered[kind])}"))
        else:
            outcomes.append(failed(
                f"broadcasting.{kind}",
                f"no sample broadcasts {description}; add one (or declare xfail "
                f"{{'broadcasting.{kind}': reason}} if the op cannot take it)",
            ))
    for case in ctx.cases:
        if len({a.shape for a in case.args if is_float(a)}) > 1:
            outcomes.append(_reduce_back(case))
    return outcomes
