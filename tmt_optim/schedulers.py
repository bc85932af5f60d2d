"""Learning-rate schedules, as in PyTorch's ``torch.optim.lr_scheduler``.

A scheduler owns one optimizer's ``lr``: it remembers the learning rate the optimizer had when
the scheduler was made (``base_lr``) and, at each ``step()``, sets ``optimizer.lr`` to the
schedule's value for the number of epochs done so far (``last_epoch``). Call ``step()`` once
an epoch, after that epoch's optimizer steps; ``fit(..., scheduler=...)`` does it for you::

    optimizer = Adam(model.parameters(), lr=1e-3)
    fit(model, "cross_entropy", optimizer, data, epochs=10,
        scheduler=MultiStepLR(optimizer, milestones=[7], gamma=0.1))  # epochs 8-10 at 1e-4

Each schedule is written as its closed form ``lr_at(epoch)``, so it can be read off directly:

- ``StepLR(step_size, gamma=0.1)``:  base_lr · γ^⌊epoch / step_size⌋
- ``MultiStepLR(milestones, gamma=0.1)``:  base_lr · γ^(number of milestones ≤ epoch)
- ``ExponentialLR(gamma)``:  base_lr · γ^epoch
- ``CosineAnnealingLR(T_max, eta_min=0)``:  η_min + (base_lr − η_min)·(1 + cos(π·epoch/T_max))/2
"""

from __future__ import annotations

import bisect
import math
from abc import ABC, abstractmethod
from typing import Any, Iterable

from .errors import OptimizerError

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR"]


class LRScheduler(ABC):
    """The base: subclasses give ``lr_at(epoch)``; ``step()``, ``get_last_lr()`` and saving
    are shared."""

    def __init__(self, optimizer: Any) -> None:
        lr = getattr(optimizer, "lr", None)
        if not isinstance(lr, (int, float)) or isinstance(lr, bool):
            raise OptimizerError(
                f"{type(self).__name__}: the optimizer must have a numeric lr attribute, "
                f"got {type(optimizer).__name__} with lr={lr!r}"
            )
        self.optimizer = optimizer
        self.base_lr = float(lr)
        self.last_epoch = 0

    @abstractmethod
    def lr_at(self, epoch: int) -> float:
        """The learning rate once ``epoch`` epochs are done (epoch 0: ``base_lr``)."""

    def step(self) -> None:
        """One more epoch done: set the optimizer's learning rate for the next."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """The learning rate in force, as a one-element list (PyTorch's shape: one per group)."""
        return [self.optimizer.lr]

    def state_dict(self) -> dict[str, Any]:
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base_lr, self.last_epoch = float(state["base_lr"]), int(state["last_epoch"])
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_lr={self.base_lr}, last_epoch={self.last_epoch})"


def _positive_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptimizerError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return value


def _factor(owner: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise OptimizerError(f"{owner}: gamma (the factor the lr is multiplied by) must be > 0, got {value!r}")
    return float(value)


class StepLR(LRScheduler):
    """``StepLR(optimizer, step_size, gamma=0.1)``: the lr times γ every ``step_size`` epochs."""

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = _positive_int("StepLR", "step_size", step_size)
        self.gamma = _factor("StepLR", gamma)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """``MultiStepLR(optimizer, milestones, gamma=0.1)``: the lr times γ once each milestone
    (a number of epochs done) is reached."""

    def __init__(self, optimizer: Any, milestones: Iterable[int], gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.milestones = sorted(_positive_int("MultiStepLR", "each milestone", m) for m in milestones)
        self.gamma = _factor("MultiStepLR", gamma)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class ExponentialLR(LRScheduler):
    """``ExponentialLR(optimizer, gamma)``: the lr times γ every epoch."""

    def __init__(self, optimizer: Any, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = _factor("ExponentialLR", gamma)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """``CosineAnnealingLR(optimizer, T_max, eta_min=0)``: from base_lr down to ``eta_min``
    along half a cosine over ``T_max`` epochs (and back up after, as PyTorch's closed form)."""

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803 (PyTorch's name)
        super().__init__(optimizer)
        self.T_max = _positive_int("CosineAnnealingLR", "T_max", T_max)
        if not 0 <= eta_min <= self.base_lr:
            raise OptimizerError(f"CosineAnnealingLR: eta_min must be in [0, base lr {self.base_lr}], got {eta_min!r}")
        self.eta_min = float(eta_min)

    def lr_at(self, epoch: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2
