"""What conv2d and linear fuse into themselves (private): a ReLU, applied to the output in
place; their vjps mask the cotangent with ``relu'(z) = 1[z > 0]``."""

from __future__ import annotations

from typing import Any

from tmt_core.extend import OpError


def check_activation(op: str, activation: Any) -> None:
    """``activation`` is None or ``"relu"``; an error naming the op otherwise."""
    if activation is not None and not (isinstance(activation, str) and activation == "relu"):
        raise OpError(f"{op}: activation must be None or 'relu', got {activation!r}")
