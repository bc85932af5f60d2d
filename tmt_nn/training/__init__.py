"""The training loop: ``fit``, ``evaluate``, ``predict`` and the ``History`` fit returns."""

from __future__ import annotations

from .evaluate import evaluate, predict
from .fit import fit
from .history import History
from .losses import LOSSES

__all__ = ["fit", "evaluate", "predict", "History", "LOSSES"]
