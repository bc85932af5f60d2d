"""Exceptions raised by tmt. Every message names the culprit: the op, the plugin or the file."""

from __future__ import annotations

__all__ = [
    "TmtError",
    "OpError",
    "OpNotFoundError",
    "RegistrationError",
    "NotFoundError",
    "PluginLoadError",
    "BackwardError",
]


class TmtError(Exception):
    """Base class of every error tmt raises on purpose."""


class OpError(TmtError, ValueError):
    """An op was called with inputs it cannot take (shapes, values, attributes)."""


class RegistrationError(TmtError):
    """A plugin tried to register something invalid, or a name that is already taken."""


class NotFoundError(TmtError, LookupError):
    """A name (op, optimizer, dataset, reporter) that no loaded plugin provides."""


class OpNotFoundError(NotFoundError, AttributeError):
    """An op name that is not registered; the message lists close names."""


class PluginLoadError(TmtError):
    """A plugin failed to load (raised only with TMT_STRICT_PLUGINS=1)."""


class BackwardError(TmtError, RuntimeError):
    """The backward pass cannot run: no gradient for a non-scalar, released residuals, a bad vjp."""
