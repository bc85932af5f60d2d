"""History: what ``fit`` returns, one metrics dict per epoch."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["History"]


class History:
    """Per-epoch metrics of a run.

    ``history.loss``, ``.accuracy``, ``.val_loss``, ``.val_accuracy`` (lists, one value per
    epoch; NaN where a metric was not computed), ``history["seconds"]`` for any metric,
    ``history.history`` (a dict of lists, as in Keras), ``history.epochs`` (the raw dicts),
    ``history.status`` and ``history.config``.
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = config or {}
        self.epochs: list[dict[str, float]] = []
        self.status: str | None = None

    def add_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        self.epochs.append({"epoch": epoch, **metrics})

    def metric_names(self) -> list[str]:
        names: list[str] = []
        for row in self.epochs:
            names += [key for key in row if key != "epoch" and key not in names]
        return names

    def __getitem__(self, metric: str) -> list[float]:
        if metric not in self.metric_names() and metric != "epoch":
            raise KeyError(f"no metric {metric!r} in this history; it has {self.metric_names()}")
        return [row.get(metric, math.nan) for row in self.epochs]

    def __contains__(self, metric: object) -> bool:
        return metric in self.metric_names()

    @property
    def history(self) -> dict[str, list[float]]:
        return {name: self[name] for name in self.metric_names()}

    @property
    def loss(self) -> list[float]:
        return self._column("loss")

    @property
    def accuracy(self) -> list[float]:
        return self._column("accuracy")

    @property
    def val_loss(self) -> list[float]:
        return self._column("val_loss")

    @property
    def val_accuracy(self) -> list[float]:
        return self._column("val_accuracy")

    def _column(self, metric: str) -> list[float]:
        return [row.get(metric, math.nan) for row in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        last = self.epochs[-1] if self.epochs else {}
        shown = ", ".join(f"{k}={v:.4f}" for k, v in last.items() if k != "epoch")
        return f"History({len(self.epochs)} epoch(s), status={self.status!r}" + (f", last: {shown})" if shown else ")")
