"""Flatten: (N, ...) -> (N, features), between convolutions and linear layers."""

from __future__ import annotations

import math
from typing import Any

from tmt_core import Tensor, apply, ops

from ..module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Keep the first ``start_dim`` axes (the batch) and join the rest into one."""

    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        self.start_dim = int(start_dim)

    def forward(self, x: Any) -> Tensor:
        shape = getattr(x, "shape", None)
        if shape is None:
            x = Tensor(x)
            shape = x.shape
        # the joined size spelled out: NumPy cannot infer a -1 in an empty batch
        return apply(ops.reshape, x, shape=(*shape[: self.start_dim], math.prod(shape[self.start_dim :])))

    def extra_repr(self) -> str:
        return "" if self.start_dim == 1 else f"start_dim={self.start_dim}"
