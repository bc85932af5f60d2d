"""The Optimizer base class: holds the parameters, skips those without a gradient, saves and
restores its state. Subclasses write one method, ``update(index, param, grad, state)``.

Updates happen in place on ``param.data`` with float32 work arrays allocated once per
parameter (``out=`` ufuncs): a training step allocates nothing, and nothing becomes float64
(NumPy 2 keeps float32 when an array meets a Python float).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Iterable

import numpy as np

from tmt_core import Tensor

from .errors import OptimizerError

__all__ = ["Optimizer"]


class Optimizer(ABC):
    """Base class. ``Optimizer(params)``; ``params`` is a list or generator of parameters
    (tensors with ``requires_grad=True``), usually ``model.parameters()``. A subclass stores
    its hyper-parameters as plain attributes and lists their names in ``hyperparameter_names``
    (``optimizer.lr = 0.01`` then changes the learning rate for the next step).

    ``step()`` updates every parameter whose ``.grad`` is set (the others are left alone),
    ``zero_grad()`` clears the gradients, ``state_dict()`` / ``load_state_dict()`` save and
    restore hyper-parameters and per-parameter state (momentum buffers, moments, step counts).
    """

    name: str = "optimizer"
    hyperparameter_names: tuple[str, ...] = ()
    # fit(processes=N) shares the step out, each process updating a slice of the parameters
    # (tmt_nn.training.sharding). True promises that update() is elementwise: element k of the
    # parameter and of each state array (arrays of the parameter's shape; names starting with
    # "_" are scratch) follows from element k of the parameter, the gradient and the state,
    # and from scalars; and that only the hyper-parameters change between steps.
    shard_across_processes: bool = False

    def __init__(self, params: Iterable[Tensor]) -> None:
        self.params = _unique_parameters(params, type(self).__name__)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The current hyper-parameters by name (``{"lr": 0.1, "momentum": 0.9, ...}``)."""
        return {key: getattr(self, key) for key in self.hyperparameter_names}

    # ------------------------------------------------------------------ stepping
    def step(self) -> None:
        """Apply one update to every parameter that has a gradient."""
        for index, param in enumerate(self.params):
            grad = param.grad
            if grad is None:
                continue
            self.update(index, param, grad, self.state[index])

    @abstractmethod
    def update(self, index: int, param: Tensor, grad: np.ndarray, state: dict[str, Any]) -> None:
        """Update ``param.data`` in place from ``grad``; ``state`` persists between steps."""

    def zero_grad(self) -> None:
        """Forget every gradient (set to None, as PyTorch does by default)."""
        for param in self.params:
            param.grad = None

    @staticmethod
    def work_array(state: dict[str, Any], key: str, like: np.ndarray) -> np.ndarray:
        """A buffer of ``like``'s shape and dtype kept in ``state`` (allocated on first use)."""
        array = state.get(key)
        if array is None:
            array = state[key] = np.zeros_like(like)
        return array

    # ------------------------------------------------------------------ saving
    def state_dict(self) -> dict[str, Any]:
        """A snapshot: ``{"name", "hyperparameters", "state": [per-parameter dicts]}``.
        Buffers whose name starts with ``_`` are scratch space and are not saved."""
        return {
            "name": self.name,
            "hyperparameters": dict(self.hyperparameters),
            "state": [
                {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items() if not k.startswith("_")}
                for s in self.state
            ],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; checks the parameter count and every buffer's shape
        before changing anything."""
        label = type(self).__name__
        states = list(state_dict.get("state", []))
        if len(states) != len(self.params):
            raise OptimizerError(
                f"{label}.load_state_dict: the state holds {len(states)} parameter(s), "
                f"this optimizer has {len(self.params)}"
            )
        for index, (param, saved) in enumerate(zip(self.params, states)):
            for key, value in saved.items():
                if isinstance(value, np.ndarray) and value.shape != param.data.shape:
                    raise OptimizerError(
                        f"{label}.load_state_dict: state {key!r} of parameter {index} has shape "
                        f"{value.shape}, the parameter has shape {param.data.shape}"
                    )
        hyperparameters = dict(state_dict.get("hyperparameters", {}))
        unknown = set(hyperparameters) - set(self.hyperparameter_names)
        if unknown:
            raise OptimizerError(
                f"{label}.load_state_dict: unknown hyper-parameter(s) {sorted(unknown)}; "
                f"{label} has {sorted(self.hyperparameter_names)}"
            )
        for key, value in hyperparameters.items():
            setattr(self, key, value)
        self.state = [
            {
                k: (v.astype(param.data.dtype, copy=True) if isinstance(v, np.ndarray) else v)
                for k, v in saved.items()
            }
            for param, saved in zip(self.params, states)
        ]

    def __repr__(self) -> str:
        told = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({told})"


def _unique_parameters(params: Iterable[Tensor], label: str) -> list[Tensor]:
    if isinstance(params, Tensor):
        raise OptimizerError(
            f"{label} takes an iterable of parameters (e.g. model.parameters()), got one tensor; "
            f"wrap it in a list"
        )
    unique: list[Tensor] = []
    seen: set[int] = set()
    for index, param in enumerate(params):
        if not isinstance(param, Tensor):
            raise OptimizerError(
                f"{label}: parameter {index} is a {type(param).__name__}, not a tmt Tensor"
            )
        if not param.requires_grad or param.data.dtype.kind != "f":
            raise OptimizerError(
                f"{label}: parameter {index} of shape {param.data.shape} {param.data.dtype} "
                f"must be a float tensor with requires_grad=True"
            )
        if id(param) not in seen:  # a shared parameter is updated once per step
            seen.add(id(param))
            unique.append(param)
    if not unique:
        raise OptimizerError(
            f"optimizer got no parameters: {label} needs at least one (was model.parameters() "
            f"empty, or a generator already consumed?)"
        )
    return unique
