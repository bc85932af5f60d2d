"""Errors of the optimizer layer."""

from __future__ import annotations

from tmt_core.errors import TmtError

__all__ = ["OptimizerError"]


class OptimizerError(TmtError, ValueError):
    """An optimizer was built or loaded with something it cannot use."""
