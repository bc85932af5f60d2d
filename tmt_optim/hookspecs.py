"""Hook specification of the optimizer layer."""

from __future__ import annotations

from typing import Any, Callable

from tmt_core.plugins import hookspec


@hookspec
def register_optimizers(register: Callable[..., Any]) -> None:
    """Register optimizer classes: ``register(cls)`` uses ``cls.name`` (e.g. ``"sgd"``);
    ``register(cls, name="lion")`` names it explicitly. The class is called as
    ``cls(params, **options)`` and must subclass :class:`tmt_optim.Optimizer`.
    ``override=True`` replaces a name on purpose.
    """
