"""tmt_optim: optimizers and learning-rate schedules. ``SGD``, ``Adam`` and ``AdamW`` are
built in; plugins add more through the ``register_optimizers`` hook, and any of them can be
created by name::

    from tmt_optim import SGD, StepLR, create_optimizer
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    optimizer = create_optimizer("adam", model.parameters(), lr=1e-3)
    scheduler = StepLR(optimizer, step_size=5, gamma=0.1)  # scheduler.step() once an epoch
"""

from __future__ import annotations

from typing import Any, Iterable

from tmt_core import Tensor, plugins
from tmt_core.catalog import Catalog, subclass_of

from . import hookspecs
from .adam import Adam, AdamW
from .errors import OptimizerError
from .optimizer import Optimizer
from .schedulers import CosineAnnealingLR, ExponentialLR, LRScheduler, MultiStepLR, StepLR
from .sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "OptimizerError",
    "LRScheduler",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "OPTIMIZERS",
    "get_optimizer",
    "create_optimizer",
]

plugins.add_hookspecs(hookspecs)


OPTIMIZERS: Catalog[type[Optimizer]] = Catalog(
    "optimizer", "register_optimizers", validate=subclass_of(Optimizer, "optimizer")
)


def get_optimizer(name: str) -> type[Optimizer]:
    """The optimizer class registered as ``name``; an unknown name lists the available ones."""
    return OPTIMIZERS.get(name)


def create_optimizer(name: str, params: Iterable[Tensor], /, **options: Any) -> Optimizer:
    """``create_optimizer("sgd", model.parameters(), lr=0.1)``."""
    return get_optimizer(name)(params, **options)
