"""Hook specification of the data layer."""

from __future__ import annotations

from typing import Any, Callable

from tmt_core.plugins import hookspec


@hookspec
def register_datasets(register: Callable[..., Any]) -> None:
    """Register datasets: ``register(loader, name="mnist")`` where ``loader(**options)``
    returns ``(X_train, y_train, X_test, y_test)`` as NumPy arrays (float32 inputs scaled to
    [0, 1], integer labels). ``override=True`` replaces a name on purpose.
    """
