"""The ``progress`` reporter: tqdm bars, one over epochs and one over the batches of the
current epoch, showing the running loss. Off when stderr is not a terminal (tqdm's
``disable=None``), so logs and CI output stay clean."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from .base import Reporter

__all__ = ["ProgressReporter"]


class ProgressReporter(Reporter):
    """``progress`` reporter; option ``disable`` (default None: only on a terminal)."""

    name = "progress"

    def __init__(self, disable: bool | None = None) -> None:
        self.disable = disable
        self._epochs: Any = None
        self._batches: Any = None
        self._loss_sum = 0.0
        self._count = 0

    def on_train_begin(self, *, config: dict[str, Any]) -> None:
        self._epochs = tqdm(total=config.get("epochs"), desc="epochs", unit="epoch", position=0, file=sys.stderr, disable=self.disable)

    def on_epoch_begin(self, *, epoch: int, steps: int) -> None:
        self._close_batches()
        self._loss_sum, self._count = 0.0, 0
        self._batches = tqdm(total=steps, desc=f"epoch {epoch}", unit="step", position=1, leave=False, file=sys.stderr, disable=self.disable)

    def on_batch_end(self, *, epoch: int, step: int, metrics: dict[str, float]) -> None:
        bar = self._batches
        if bar is None or bar.disable:
            return
        self._loss_sum += metrics.get("loss", 0.0)
        self._count += 1
        bar.set_postfix_str(f"loss={self._loss_sum / self._count:.4f}", refresh=False)
        bar.update(1)

    def on_epoch_end(self, *, epoch: int, metrics: dict[str, float]) -> None:
        self._close_batches()
        if self._epochs is not None:
            shown = {k: f"{v:.4f}" for k, v in metrics.items() if k != "seconds"}
            self._epochs.set_postfix(shown, refresh=False)
            self._epochs.update(1)

    def on_train_end(self, *, status: str, metrics: dict[str, float]) -> None:
        self._close_batches()
        if self._epochs is not None:
            self._epochs.close()
            self._epochs = None

    def _close_batches(self) -> None:
        if self._batches is not None:
            self._batches.close()
            self._batches = None
