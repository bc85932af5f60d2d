"""Dropout: inverted dropout while training, the identity in evaluation mode."""

from __future__ import annotations

from typing import Any

from tmt_core import Tensor

from .. import functional as F
from .. import init
from ..init import RandomSource
from ..module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """``Dropout(p=0.5, rng=None)``: in training mode each element is zeroed with probability
    ``p`` and the others are scaled by 1/(1-p); after ``model.eval()`` it passes x through.

    The masks come from one generator made at construction: ``rng`` (a Generator or an int
    seed), else :func:`tmt_nn.init.manual_seed`'s, else one seeded from NumPy's global state.
    """

    def __init__(self, p: float = 0.5, rng: RandomSource = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p!r}")
        self.p = float(p)
        self._generator = init.generator(rng)

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, training=self.training, rng=self._generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"
