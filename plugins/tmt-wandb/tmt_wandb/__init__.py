"""tmt-wandb: a Weights & Biases reporter for tmt.

Installing this distribution registers the reporter ``wandb`` through the ``tmt`` entry
point group; a run uses it only when it asks for it::

    tmt_nn.fit(model, loss, optimizer, train_data=(X, y), epochs=3, batch_size=64,
               reporters=["progress", "wandb"],
               reporter_options={"wandb": {"project": "mnist"}})
"""

from __future__ import annotations

from typing import Any, Callable

from tmt_core.plugins import hookimpl

from .reporter import WandbReporter

__all__ = ["WandbReporter", "register_reporters"]
__version__ = "0.1.0"


@hookimpl
def register_reporters(register: Callable[..., Any]) -> None:
    register(WandbReporter)
