"""Remember each sub-module's train/eval mode and put it back afterwards."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from ..module import Module

__all__ = ["keep_modes"]


@contextmanager
def keep_modes(model: Module, training: bool) -> Iterator[None]:
    """Switch the whole model to ``training`` mode inside the block; on exit every module
    gets back the mode it had (a frozen sub-module in eval mode stays so)."""
    saved = [(module, module.training) for module in model.modules()]
    model.train(training)
    try:
        yield
    finally:
        for module, mode in saved:
            module.training = mode
