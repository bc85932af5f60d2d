"""The ``history`` reporter: keeps the run in memory (the data behind ``fit``'s History)."""

from __future__ import annotations

from typing import Any

from ..training.history import History
from .base import Reporter

__all__ = ["HistoryReporter"]


class HistoryReporter(Reporter):
    """Records the config, each epoch's metrics and the final status in ``.history``."""

    name = "history"

    def __init__(self) -> None:
        self.history = History()

    def on_train_begin(self, *, config: dict[str, Any]) -> None:
        self.history = History(config=dict(config))

    def on_epoch_end(self, *, epoch: int, metrics: dict[str, float]) -> None:
        self.history.add_epoch(epoch, metrics)

    def on_train_end(self, *, status: str, metrics: dict[str, float]) -> None:
        self.history.status = status
