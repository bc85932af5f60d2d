"""tmt_optim: optimizers. ``SGD``, ``Adam`` and ``AdamW`` are built in; plugins add more
through the ``register_optimizers`` hook, and any of them can be created by name::

    from tmt_optim import SGD, create_optimizer
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    optimizer = create_optimizer("adam", model.parameters(), lr=1e-3)
"""

from __future__ import annotations

from typing import Any, Iterable

from tmt_core import Tensor, plugins
from tmt_core.catalog import Catalog
from tmt_core.errors import RegistrationError

from . import hookspecs
from .adam import Adam, AdamW
from .errors import OptimizerError
from .optimizer import Optimizer
from .sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "OptimizerError",
    "OPTIMIZERS",
    "get_optimizer",
    "create_optimizer",
]

plugins.add_hookspecs(hookspecs)


def _validate(value: Any, name: str, provider: plugins.PluginInfo) -> type[Optimizer]:
    if not (isinstance(value, type) and issubclass(value, Optimizer)):
        raise RegistrationError(
            f"optimizer {name!r} from plugin {provider.label}: expected a subclass of "
            f"tmt_optim.Optimizer, got {value!r}"
        )
    return value


OPTIMIZERS: Catalog[type[Optimizer]] = Catalog("optimizer", "register_optimizers", validate=_validate)


def get_optimizer(name: str) -> type[Optimizer]:
    """The optimizer class registered as ``name``; an unknown name lists the available ones."""
    return OPTIMIZERS.get(name)


def create_optimizer(name: str, params: Iterable[Tensor], /, **options: Any) -> Optimizer:
    """``create_optimizer("sgd", model.parameters(), lr=0.1)``."""
    return get_optimizer(name)(params, **options)
