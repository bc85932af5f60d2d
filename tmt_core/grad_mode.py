"""Grad mode: whether ops record the graph. ``no_grad()`` for evaluation, like PyTorch.

The mode is per thread, as in PyTorch: ``with no_grad():`` in one thread (scoring a model
while another thread trains it) does not stop the other thread's ops from being recorded.
A new thread starts with recording on.
"""

from __future__ import annotations

import threading
from contextlib import ContextDecorator
from typing import Any

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled"]


class _Mode(threading.local):
    enabled = True  # each thread's own value; a new thread sees this default


MODE = _Mode()  # read by dispatch on every call: one attribute lookup


def is_grad_enabled() -> bool:
    return MODE.enabled


class _GradMode(ContextDecorator):
    """Sets grad mode for a ``with`` block or a decorated function, and restores it on exit
    (a stack, so one instance may be re-entered, e.g. by a recursive decorated function)."""

    enabled: bool

    def __init__(self) -> None:
        self._saved = threading.local()  # a decorated function may run in several threads

    def _stack(self) -> list[bool]:
        stack = getattr(self._saved, "stack", None)
        if stack is None:
            stack = self._saved.stack = []
        return stack

    def __enter__(self) -> None:
        self._stack().append(MODE.enabled)
        MODE.enabled = self.enabled

    def __exit__(self, *exc: Any) -> None:
        MODE.enabled = self._stack().pop()


class no_grad(_GradMode):
    """Ops run inside record no graph: ``with no_grad(): logits = model(x)``."""

    enabled = False


class enable_grad(_GradMode):
    """Turn recording back on inside a ``no_grad`` block."""

    enabled = True


class set_grad_enabled:
    """``set_grad_enabled(False)`` switches grad mode at once, as in PyTorch; used as
    ``with set_grad_enabled(training):`` it restores the previous mode on exit."""

    def __init__(self, enabled: bool) -> None:
        self._previous = MODE.enabled
        MODE.enabled = bool(enabled)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        MODE.enabled = self._previous
