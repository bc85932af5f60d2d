"""Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
following PyTorch's ``torch.optim.SGD`` update (dampening 0)."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from tmt_core import Tensor

from .errors import OptimizerError
from .optimizer import Optimizer
from .subnormal import FLUSH_EVERY, flush_subnormals

__all__ = ["SGD"]


class SGD(Optimizer):
    """``SGD(params, lr, momentum=0, nesterov=False, weight_decay=0)``.

    With gradient g, parameter p, learning rate η, momentum μ and weight decay λ::

        g ← g + λ·p                  (weight decay, when λ ≠ 0)
        b₁ = g;  b_t = μ·b_{t-1} + g   (momentum buffer, when μ ≠ 0)
        g ← g + μ·b_t  (Nesterov)   or   g ← b_t
        p ← p − η·g
    """

    name = "sgd"
    hyperparameter_names = ("lr", "momentum", "nesterov", "weight_decay")
    # Elementwise, but two to four passes over each parameter: shared out over two processes
    # the hand-offs cost more than that saves (W1 on 2 processes: 0.26 -> 0.29 s an epoch).
    shard_across_processes = False

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        for key, value in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
            if not value >= 0:
                raise OptimizerError(f"SGD: {key} must be >= 0, got {value!r}")
        if nesterov and momentum == 0:
            raise OptimizerError("SGD: nesterov=True needs a momentum > 0")
        super().__init__(params)
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)

    def update(self, index: int, param: Tensor, grad: np.ndarray, state: dict[str, Any]) -> None:
        p = param.data
        work = self.work_array(state, "_work", p)
        direction = grad
        if self.weight_decay:
            np.multiply(p, self.weight_decay, out=work)
            direction = np.add(work, grad, out=work)  # g + λ·p
        if self.momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = direction.copy()  # b₁ = g
            else:
                np.multiply(buffer, self.momentum, out=buffer)
                np.add(buffer, direction, out=buffer)  # b_t = μ·b_{t-1} + g
                state["_steps"] = state.get("_steps", 0) + 1
                if state["_steps"] % FLUSH_EVERY == 0:
                    flush_subnormals(buffer, self.work_array(state, "_flush", p))  # work may hold g + λ·p
            if self.nesterov:
                lookahead = self.work_array(state, "_lookahead", p)
                np.multiply(buffer, self.momentum, out=lookahead)
                direction = np.add(direction, lookahead, out=lookahead)  # g + μ·b_t
            else:
                direction = buffer
        np.multiply(direction, self.lr, out=work)
        np.subtract(p, work, out=p)  # p ← p − η·g
