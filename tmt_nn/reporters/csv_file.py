"""The ``csv`` reporter: one metrics file per run, one row per epoch.

After every epoch the whole file is rewritten to a temporary file and renamed over the old one,
so an interrupted run (Ctrl-C, a crash) always leaves a complete, valid CSV of the epochs
that finished. Epoch counts are small, so rewriting costs nothing that matters.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from .base import Reporter

__all__ = ["CSVReporter"]


class CSVReporter(Reporter):
    """``csv`` reporter; option ``path`` (default ``runs/<timestamp>.csv``)."""

    name = "csv"

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.requested = path
        self.path: Path | None = None
        self.rows: list[dict[str, Any]] = []
        self.columns: list[str] = ["epoch"]

    def on_train_begin(self, *, config: dict[str, Any]) -> None:
        self.path = Path(self.requested) if self.requested is not None else _fresh_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows, self.columns = [], ["epoch"]
        self._write()

    def on_epoch_end(self, *, epoch: int, metrics: dict[str, float]) -> None:
        self.rows.append({"epoch": epoch, **metrics})
        self.columns += [key for key in metrics if key not in self.columns]
        self._write()

    def on_train_end(self, *, status: str, metrics: dict[str, float]) -> None:
        if self.path is not None:
            self._write()

    def _write(self) -> None:
        assert self.path is not None
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=self.columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
                handle.write(text.getvalue())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _fresh_path() -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path("runs") / f"{stamp}.csv"
    counter = 1
    while path.exists():
        path = Path("runs") / f"{stamp}-{counter}.csv"
        counter += 1
    return path
