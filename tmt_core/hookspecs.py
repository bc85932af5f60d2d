"""Hook specifications of the core: the one hook through which every op arrives.

Each hook hands the plugin a ``register`` callback, so tmt validates what comes in and owns
name conflicts in one place. Built-in op families use this very hook.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("tmt")


@hookspec
def register_ops(register: Callable[..., Any]) -> None:
    """Register ops: call ``register(op)`` for each :class:`tmt_core.extend.Op`.

    ``register(op, override=True)`` replaces an op of the same name on purpose; without it a
    name that is already taken is an error naming both providers.
    """
