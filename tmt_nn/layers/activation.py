"""Activation layers, and the activation names a Linear or Conv2D layer accepts."""

from __future__ import annotations

from typing import Any

from tmt_core import Tensor, apply, ops

from ..module import Module

__all__ = ["ACTIVATIONS", "check_activation", "activate", "ReLU", "Tanh", "Sigmoid"]

ACTIVATIONS = ("relu", "tanh", "sigmoid")


def check_activation(activation: str | None, layer: str) -> str | None:
    """``activation`` if it is None or a known name; otherwise an error listing the names."""
    if activation is None or activation in ACTIVATIONS:
        return activation
    raise ValueError(
        f"{layer}: unknown activation {activation!r}; use None or one of {', '.join(ACTIVATIONS)}"
    )


def activate(x: Tensor, activation: str | None) -> Tensor:
    """Apply the named activation op (``None``: the identity)."""
    return x if activation is None else apply(ops[activation], x)


class ReLU(Module):
    """max(x, 0), elementwise."""

    def forward(self, x: Any) -> Tensor:
        return apply(ops.relu, x)


class Tanh(Module):
    def forward(self, x: Any) -> Tensor:
        return apply(ops.tanh, x)


class Sigmoid(Module):
    """1 / (1 + e⁻ˣ), elementwise."""

    def forward(self, x: Any) -> Tensor:
        return apply(ops.sigmoid, x)
