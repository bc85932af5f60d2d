"""Hook specification of the training layer: reporters."""

from __future__ import annotations

from typing import Any, Callable

from tmt_core.plugins import hookspec


@hookspec
def register_reporters(register: Callable[..., Any]) -> None:
    """Register reporter classes: ``register(cls)`` uses ``cls.name`` (e.g. ``"csv"``). A run
    that asks for the reporter by name calls ``cls(**options)`` and sends it the events of
    :class:`tmt_nn.Reporter`. Installing a reporter never switches it on for every run.
    ``override=True`` replaces a name on purpose.
    """
