"""Losses by name for ``fit`` / ``evaluate``: ``loss="cross_entropy"`` or any callable
``loss(outputs, targets) -> scalar Tensor``."""

from __future__ import annotations

from typing import Any, Callable

from .. import functional as F

__all__ = ["LOSSES", "resolve_loss"]

LOSSES: dict[str, Callable[[Any, Any], Any]] = {
    "cross_entropy": F.cross_entropy,
    "mse": F.mse,
    "binary_cross_entropy": F.binary_cross_entropy,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
}


def resolve_loss(loss: str | Callable[[Any, Any], Any]) -> tuple[Callable[[Any, Any], Any], str]:
    """The loss function and the name a run reports for it."""
    if isinstance(loss, str):
        try:
            return LOSSES[loss], loss
        except KeyError:
            raise ValueError(f"unknown loss {loss!r}; use a callable or one of {', '.join(LOSSES)}") from None
    if not callable(loss):
        raise TypeError(f"loss must be a name or a callable(outputs, targets), got {loss!r}")
    return loss, getattr(loss, "__name__", type(loss).__name__)
