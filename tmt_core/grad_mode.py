"""Grad mode: whether ops record the graph. ``no_grad()`` for evaluation, like PyTorch."""

from __future__ import annotations

from contextlib import ContextDecorator
from typing import Any

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled"]


class _Mode:
    enabled = True


MODE = _Mode()  # read by dispatch on every call: one attribute lookup


def is_grad_enabled() -> bool:
    return MODE.enabled


class _GradMode(ContextDecorator):
    """Sets grad mode for a ``with`` block or a decorated function, and restores it on exit
    (a stack, so one instance may be re-entered, e.g. by a recursive decorated function)."""

    enabled: bool

    def __init__(self) -> None:
        self._saved: list[bool] = []

    def __enter__(self) -> None:
        self._saved.append(MODE.enabled)
        MODE.enabled = self.enabled

    def __exit__(self, *exc: Any) -> None:
        MODE.enabled = self._saved.pop()


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
