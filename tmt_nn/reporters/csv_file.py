"""The ``csv`` reporter: one metrics file per run, one row per epoch.

After every epoch the whole file is rewritten to a temporary file and renamed over the old one,
so an interrupted run (Ctrl-C, a crash) always leaves a complete, valid CSV of the epochs
that finished. Epoch counts are small, so rewriting costs nothing that matters.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path
from typing import Any

from ..files import atomic_write, fresh_run_path
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
        self.path = Path(self.requested) if self.requested is not None else fresh_run_path(".csv")
        self.rows, self.columns = [], ["epoch"]
        self._write()

    def on_epoch_end(self, *, epoch: int, metrics: dict[str, float]) -> None:
        self.rows.append({"epoch": epoch, **metrics})
        self.columns += [key for key in metrics if key not in self.columns]
        self._write()

    def on_train_end(self, *, status: str, metrics: dict[str, float]) -> None:
        if self.path is not None:
            self._write()
            print(f"csv: metrics of each epoch written to {self.path}", file=sys.stderr)

    def _write(self) -> None:
        assert self.path is not None
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=self.columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        with atomic_write(self.path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text.getvalue())
