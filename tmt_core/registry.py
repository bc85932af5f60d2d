"""The op registry: every op any plugin registered through ``register_ops``, by name."""

from __future__ import annotations

from typing import Any

from . import plugins
from .catalog import Catalog
from .errors import OpNotFoundError
from .op import Op, validate_op

__all__ = ["OPS", "get_op", "op_names"]


class _OpCatalog(Catalog[Op]):
    not_found_error = OpNotFoundError


def _validate(op: Any, name: str, provider: plugins.PluginInfo) -> Op:
    return validate_op(op, name, provider.label)


OPS: Catalog[Op] = _OpCatalog("op", "register_ops", validate=_validate)


def get_op(name: str) -> Op:
    """The op registered under ``name``; an unknown name lists close ones."""
    return OPS.get(name)


def op_names() -> list[str]:
    return OPS.names()
