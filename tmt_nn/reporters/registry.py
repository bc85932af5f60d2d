"""The reporter catalog: every reporter class registered through ``register_reporters``."""

from __future__ import annotations

from typing import Any

from tmt_core.catalog import Catalog, subclass_of
from tmt_core.errors import TmtError

from .base import Reporter

__all__ = ["REPORTERS", "get_reporter"]


REPORTERS: Catalog[type[Reporter]] = Catalog(
    "reporter", "register_reporters", validate=subclass_of(Reporter, "reporter")
)


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
