"""Reporters: objects a training run sends its events to (see :mod:`tmt_nn.reporters.base`)."""

from __future__ import annotations

from .base import Reporter
from .registry import REPORTERS, get_reporter

__all__ = ["Reporter", "REPORTERS", "get_reporter"]
