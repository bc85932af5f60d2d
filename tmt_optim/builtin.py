"""The built-in optimizers, registered through the same hook a plugin uses (a default plugin
listed in pyproject.toml's ``tmt`` entry points)."""

from __future__ import annotations

from tmt_core.plugins import hookimpl

from .adam import Adam, AdamW
from .sgd import SGD

BUILTIN_OPTIMIZERS = (SGD, Adam, AdamW)


@hookimpl
def register_optimizers(register):
    for optimizer in BUILTIN_OPTIMIZERS:
        register(optimizer)
