"""Module: the base class of layers and models.

A module's parameters and sub-modules are found by looking at its attributes (and inside lists,
tuples and dicts held by them), so a layer only assigns them: ``self.weight = Parameter(...)``,
``self.blocks = [Linear(...), Linear(...)]``. Names follow the attribute path, as in PyTorch
(``"blocks.0.weight"``); :class:`Network` names its layers ``"0"``, ``"1"``, ...
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Mapping, NamedTuple

import numpy as np

from tmt_core import Tensor

from .errors import StateDictError
from .parameter import Parameter
from .serialization import load_arrays, save_arrays

__all__ = ["Module", "IncompatibleKeys"]


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class: define ``forward``; call the module to run it.

    ``parameters()`` / ``named_parameters()`` (recursive, each shared parameter once),
    ``zero_grad()``, ``train()`` / ``eval()`` and ``.training``, ``state_dict()`` /
    ``load_state_dict()``, ``save(path)`` / ``load(path)`` (``.npz``, written atomically).
    """

    # A class default, so a subclass that forgets super().__init__() still has a mode.
    training: bool = True

    def __init__(self) -> None:
        self.training = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ discovery
    def _members(self) -> Iterator[tuple[str, Parameter | Module]]:
        """Direct parameters and sub-modules, by name (overridden by :class:`Network`)."""
        for attribute, value in vars(self).items():
            yield from _walk(attribute, value)

    def named_children(self) -> list[tuple[str, Module]]:
        return [(name, member) for name, member in self._members() if isinstance(member, Module)]

    def children(self) -> list[Module]:
        return [module for _, module in self.named_children()]

    def named_modules(self) -> list[tuple[str, Module]]:
        """This module (named ``""``) and every sub-module, depth first, each once."""
        found: list[tuple[str, Module]] = []
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:
            prefix, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            found.append((prefix, module))
            children = module.named_children()
            stack.extend((_join(prefix, name), child) for name, child in reversed(children))
        return found

    def modules(self) -> list[Module]:
        return [module for _, module in self.named_modules()]

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """Every parameter with its dotted name; a parameter shared by two layers comes once."""
        found: list[tuple[str, Parameter]] = []
        seen: set[int] = set()
        for prefix, module in self.named_modules():
            for name, member in module._members():
                if isinstance(member, Parameter) and id(member) not in seen:
                    seen.add(id(member))
                    found.append((_join(prefix, name), member))
        return found

    def parameters(self) -> list[Parameter]:
        return [parameter for _, parameter in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many numbers the model learns."""
        return sum(parameter.data.size for parameter in self.parameters())

    # ------------------------------------------------------------------ training state
    def zero_grad(self) -> None:
        """Forget the gradients of every parameter (set to None)."""
        for parameter in self.parameters():
            parameter.grad = None

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and every sub-module."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off); same as ``train(False)``."""
        return self.train(False)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, np.ndarray]:
        """A snapshot of every parameter: ``{"0.weight": array, ...}`` (copies)."""
        return {name: parameter.data.copy() for name, parameter in self.named_parameters()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy saved values into the parameters, in place.

        Every problem is named at once: keys missing from ``state_dict``, keys the model does
        not have (both allowed with ``strict=False``) and shape mismatches (never allowed).
        Nothing is changed unless the whole load can succeed.
        """
        own = dict(self.named_parameters())
        values = {key: (value.data if isinstance(value, Tensor) else np.asarray(value)) for key, value in state_dict.items()}
        missing = [key for key in own if key not in values]
        unexpected = [key for key in values if key not in own]
        mismatched = [
            f"{key!r} expects shape {own[key].data.shape}, got {values[key].shape}"
            for key in own
            if key in values and values[key].shape != own[key].data.shape
        ]
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        if mismatched:
            problems.append("shape mismatch: " + ", ".join(mismatched))
        if problems:
            raise StateDictError(
                f"{type(self).__name__}.load_state_dict: " + "; ".join(problems)
                + f" (the model has {list(own)})"
            )
        for key, value in values.items():
            if key in own:
                own[key].data[...] = value  # in place: optimizers keep their references
        return IncompatibleKeys(missing, unexpected)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the parameters to ``path`` as ``.npz``, atomically (temp file + rename)."""
        return save_arrays(path, self.state_dict())

    def load(self, path: str | os.PathLike[str], strict: bool = True) -> Module:
        """Load parameters saved by :meth:`save`; returns the module."""
        try:
            self.load_state_dict(load_arrays(path), strict=strict)
        except StateDictError as exc:
            raise StateDictError(f"{os.fspath(path)}: {exc}") from None
        return self

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        """The layer's settings, shown inside its repr (``in_features=784, ...``)."""
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        children = self.named_children()
        if not children:
            return head + ")"
        lines = [head]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _walk(name: str, value: Any) -> Iterator[tuple[str, Parameter | Module]]:
    if isinstance(value, (Parameter, Module)):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk(f"{name}.{index}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(f"{name}.{key}", item)
