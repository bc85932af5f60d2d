"""The reporter catalog: every reporter class registered through ``register_reporters``."""

from __future__ import annotations

from typing import Any

from tmt_core import plugins
from tmt_core.catalog import Catalog
from tmt_core.errors import RegistrationError, TmtError

from .base import Reporter

__all__ = ["REPORTERS", "get_reporter"]


def _validate(value: Any, name: str, provider: plugins.PluginInfo) -> type[Reporter]:
    if not (isinstance(value, type) and issubclass(value, Reporter)):
        raise RegistrationError(
            f"reporter {name!r} from plugin {provider.label}: expected a subclass of "
            f"tmt_nn.Reporter, got {value!r}"
        )
    return value


REPORTERS: Catalog[type[Reporter]] = Catalog("reporter", "register_reporters", validate=_validate)


def get_reporter(name: str, /, **options: Any) -> Reporter:
    """A new reporter of the class registered as ``name``, built with ``options``; an unknown
    name lists the available ones."""
    entry = REPORTERS.entry(name)
    try:
        return entry.value(**options)
    except TypeError as exc:
        raise TmtError(
            f"reporter {name!r} (from plugin {entry.provider.label}) cannot be created with "
            f"options {options}: {exc}"
        ) from exc
