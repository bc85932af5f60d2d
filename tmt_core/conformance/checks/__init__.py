"""The conformance checks, one per item of the conformance checklist (docs/op-plugins.md), in checklist order.

A check of scope ``sample`` is ``fn(case) -> [Outcome]`` and runs on every sample whose
call contract holds (``vjp_slots``); a check of scope ``op`` is ``fn(OpContext) ->
[Outcome]``. ``registration`` runs first and yields the samples the others use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .attributes import check_attributes
from .broadcasting import check_broadcasting
from .context import OpContext
from .contract import check_registration, check_vjp_slots
from .expected import apply_xfail, check_xfail
from .forward import check_determinism, check_dtypes, check_reference
from .gradient import check_conventions, check_finite_differences, check_linearity
from .isolation import check_isolation

__all__ = ["Check", "CHECKS", "check_names", "OpContext", "apply_xfail", "check_registration"]


@dataclass(frozen=True)
class Check:
    name: str
    item: int  # its number in the checklist
    scope: str  # "registration", "sample" or "op"
    run: Callable[..., Any] | None
    parts: tuple[str, ...] = ()  # finer names its results may carry (xfail keys can use them)
    applies: Callable[[Any], str | None] = lambda op: None  # a reason to skip the whole op

    @property
    def doc(self) -> str:
        return (self.run.__doc__ or "").strip().splitlines()[0] if self.run else ""


def _no_reference(op: Any) -> str | None:
    return None if op.reference is not None else "no NumPy reference declared"


CHECKS: tuple[Check, ...] = (
    Check("registration", 1, "registration", check_registration),
    Check("vjp_slots", 2, "sample", check_vjp_slots),
    Check("reference", 3, "sample", check_reference, applies=_no_reference),
    Check("dtypes", 4, "sample", check_dtypes),
    Check("finite_differences", 5, "sample", check_finite_differences, ("direction", "jacobian")),
    Check("linearity", 6, "sample", check_linearity),
    Check("broadcasting", 7, "op", check_broadcasting, ("scalar", "outer", "rank", "reduce")),
    Check("attributes", 8, "op", check_attributes),
    Check("isolation", 9, "sample", check_isolation, ("mutation", "aliasing")),
    Check("determinism", 10, "sample", check_determinism, ("repeat", "transposed", "strided")),
    Check("conventions", 11, "op", check_conventions),
    Check("xfail", 12, "op", check_xfail),
)


def check_names(parts: bool = False) -> list[str]:
    """The checks' names, in checklist order (with ``parts``: their finer names too)."""
    names = []
    for check in CHECKS:
        names.append(check.name)
        if parts:
            names += [f"{check.name}.{part}" for part in check.parts]
    return names
