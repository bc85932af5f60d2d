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


class set_grad_enabled(ContextDecorator):
    """Context manager (and decorator) that sets grad mode and restores it on exit."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = bool(enabled)
        self._saved: list[bool] = []

    def __enter__(self) -> None:
        self._saved.append(MODE.enabled)
        MODE.enabled = self.enabled

    def __exit__(self, *exc: Any) -> None:
        MODE.enabled = self._saved.pop()


class no_grad(set_grad_enabled):
    """Ops run inside record no graph: ``with no_grad(): logits = model(x)``."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Turn recording back on inside a ``no_grad`` block."""

    def __init__(self) -> None:
        super().__init__(True)
