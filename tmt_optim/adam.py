"""Adam and AdamW, following PyTorch's ``torch.optim.Adam`` / ``AdamW`` single-tensor update
(amsgrad off). Each parameter counts its own steps, so one that had no gradient for a while
gets the right bias correction, as in PyTorch."""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from tmt_core import Tensor

from .errors import OptimizerError
from .optimizer import Optimizer
from .subnormal import FLUSH_EVERY, flush_is_exact, flush_subnormals

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``.

    With gradient g, parameter p, step t (from 1), learning rate η, weight decay λ::

        g ← g + λ·p                          (L2 weight decay, when λ ≠ 0)
        m ← m + (1−β₁)·(g − m)               (= β₁·m + (1−β₁)·g, PyTorch's lerp)
        v ← β₂·v + (1−β₂)·g²
        p ← p − η/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε)
    """

    name = "adam"
    hyperparameter_names = ("lr", "betas", "eps", "weight_decay")
    shard_across_processes = True  # 13 passes over each parameter: worth sharing out
    decoupled_weight_decay = False
    default_weight_decay = 0.0  # what weight_decay=None (left out) means; AdamW's is 1e-2

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float | None = None,
    ) -> None:
        label = type(self).__name__
        if weight_decay is None:
            weight_decay = self.default_weight_decay
        for key, value in (("lr", lr), ("eps", eps), ("weight_decay", weight_decay)):
            if not value >= 0:
                raise OptimizerError(f"{label}: {key} must be >= 0, got {value!r}")
        beta1, beta2 = betas
        for position, beta in enumerate((beta1, beta2)):
            if not 0 <= beta < 1:
                raise OptimizerError(f"{label}: betas[{position}] must be in [0, 1), got {beta!r}")
        super().__init__(params)
        self.lr = float(lr)
        self.betas = (float(beta1), float(beta2))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def update(self, index: int, param: Tensor, grad: np.ndarray, state: dict[str, Any]) -> None:
        p = param.data
        lr, (beta1, beta2), eps, decay = self.lr, self.betas, self.eps, self.weight_decay
        step = state["step"] = state.get("step", 0) + 1
        m = self.work_array(state, "exp_avg", p)
        v = self.work_array(state, "exp_avg_sq", p)
        work = self.work_array(state, "_work", p)
        if decay and self.decoupled_weight_decay:
            np.multiply(p, 1 - lr * decay, out=p)  # AdamW: p ← p·(1 − η·λ)
        elif decay:
            decayed = self.work_array(state, "_decayed", p)
            np.multiply(p, decay, out=decayed)
            grad = np.add(decayed, grad, out=decayed)  # g + λ·p
        np.subtract(grad, m, out=work)
        np.multiply(work, 1 - beta1, out=work)
        np.add(m, work, out=m)  # m ← m + (1−β₁)(g − m)
        np.multiply(v, beta2, out=v)
        np.multiply(grad, grad, out=work)
        np.multiply(work, 1 - beta2, out=work)
        np.add(v, work, out=v)  # v ← β₂·v + (1−β₂)·g²
        if step % FLUSH_EVERY == 0 and flush_is_exact(p.dtype, eps, beta2):
            flush_subnormals(m, work)
            flush_subnormals(v, work)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        np.sqrt(v, out=work)
        np.divide(work, math.sqrt(bias_correction2), out=work)
        np.add(work, eps, out=work)  # √v/√(1−β₂ᵗ) + ε
        np.divide(m, work, out=work)
        np.multiply(work, lr / bias_correction1, out=work)
        np.subtract(p, work, out=p)  # p ← p − η/(1−β₁ᵗ) · m/(…)


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)``: Adam with
    decoupled weight decay (Loshchilov & Hutter): the parameter shrinks by ``p ← p·(1 − η·λ)``
    before the Adam update, instead of adding λ·p to the gradient."""

    name = "adamw"
    decoupled_weight_decay = True
    default_weight_decay = 1e-2
