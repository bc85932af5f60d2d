"""The ``plot`` reporter: training curves (loss and accuracy per epoch) written to a PNG.

matplotlib is an optional extra (``pip install matplotlib``, or ``pip install -e ".[plots]"`` in a clone of tmt). It is imported
when a run starts, not when tmt is imported; without it the reporter says so in one line and
stays off, and the run goes on. The figure is drawn through matplotlib's object API (no
``pyplot``), so it never opens a window nor changes the backend of the caller's session.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ..files import atomic_write, fresh_run_path
from .base import Reporter

__all__ = ["PlotReporter"]

INSTALL_HINT = 'pip install matplotlib (in a clone of tmt: pip install -e ".[plots]")'

# (panel title, [(metric, line label)]) : one panel per quantity, train and validation together.
PANELS = (
    ("loss", [("loss", "train"), ("val_loss", "validation")]),
    ("accuracy", [("accuracy", "train"), ("val_accuracy", "validation")]),
)


class PlotReporter(Reporter):
    """``plot`` reporter; option ``path`` (default ``runs/<timestamp>.png``).

    The PNG is written when the run ends, whatever its status, if at least one epoch finished.
    """

    name = "plot"

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.requested = path
        self.path: Path | None = None
        self.epochs: list[int] = []
        self.metrics: list[dict[str, float]] = []
        self.enabled = True

    def on_train_begin(self, *, config: dict[str, Any]) -> None:
        self.epochs, self.metrics = [], []
        try:
            import matplotlib  # noqa: F401  (only asks whether it is there)
        except ImportError:
            self.enabled = False
            print(f"plot: matplotlib is not installed, no training curves ({INSTALL_HINT})", file=sys.stderr)
            return
        self.path = Path(self.requested) if self.requested is not None else fresh_run_path(".png")

    def on_epoch_end(self, *, epoch: int, metrics: dict[str, float]) -> None:
        if self.enabled:
            self.epochs.append(epoch)
            self.metrics.append(dict(metrics))

    def on_train_end(self, *, status: str, metrics: dict[str, float]) -> None:
        if not self.enabled or not self.epochs or self.path is None:
            return
        write_curves(self.path, self.epochs, self.metrics)
        print(f"plot: training curves written to {self.path}", file=sys.stderr)


def write_curves(path: Path, epochs: list[int], metrics: list[dict[str, float]]) -> None:
    """Draw one panel per quantity of ``PANELS`` and save it to ``path`` as PNG, atomically."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(10, 4), layout="constrained")
    for axes, (title, lines) in zip(figure.subplots(1, len(PANELS)), PANELS):
        for key, label in lines:
            points = [(e, m[key]) for e, m in zip(epochs, metrics) if key in m]
            if points:
                xs, ys = zip(*points)
                axes.plot(xs, ys, marker="o", label=label)
        axes.set_title(title)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.25
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend()
    with atomic_write(path) as handle:  # an interrupted save never leaves half a PNG
        figure.savefig(handle, format="png", dpi=100)
