"""Linear: y = activation(x @ W + b)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tmt_core import Tensor, apply, ops

from .. import init
from ..errors import LayerInputError
from ..init import RandomSource
from ..module import Module
from ..parameter import Parameter
from .activation import activate, check_activation

__all__ = ["Linear"]


class Linear(Module):
    """``Linear(in_features, out_features, activation=None, bias=True, rng=None)``.

    ``weight`` has shape (in_features, out_features), so the forward is the plain matmul
    ``x @ W`` (PyTorch stores the transpose and computes ``x @ Wᵀ``); ``bias`` has shape
    (out_features,). Both start from U(−1/√in_features, 1/√in_features), PyTorch's default.
    ``activation`` is None, ``"relu"``, ``"tanh"`` or ``"sigmoid"``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str | None = None,
        bias: bool = True,
        rng: RandomSource = None,
    ) -> None:
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(
                f"Linear: in_features and out_features must be positive, got "
                f"{in_features} and {out_features}"
            )
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.activation = check_activation(activation, f"Linear({in_features}, {out_features})")
        generator = init.generator(rng)
        bound = init.default_bound(self.in_features)
        self.weight = Parameter(init.uniform((self.in_features, self.out_features), bound, generator))
        self.bias = Parameter(init.uniform((self.out_features,), bound, generator)) if bias else None
        # linear always takes a bias; a layer without one passes constant zeros (no gradient)
        self._zero_bias = None if bias else np.zeros(self.out_features, dtype=np.float32)

    def forward(self, x: Any) -> Tensor:
        shape = getattr(x, "shape", None)
        if shape is None:
            x = Tensor(x)
            shape = x.shape
        if not shape or shape[-1] != self.in_features:
            raise LayerInputError(
                f"{self!r} expects inputs of shape (..., {self.in_features}), got {tuple(shape)}"
            )
        bias = self.bias if self.bias is not None else self._zero_bias
        if self.activation == "relu":  # one op: linear applies its ReLU in place
            return apply(ops.linear, x, self.weight, bias, activation="relu")
        return activate(apply(ops.linear, x, self.weight, bias), self.activation)

    def extra_repr(self) -> str:
        told = f"in_features={self.in_features}, out_features={self.out_features}"
        if self.bias is None:
            told += ", bias=False"
        if self.activation is not None:
            told += f", activation={self.activation!r}"
        return told
