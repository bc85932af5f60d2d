"""The built-in reporters, registered through the same hook a plugin uses (a default plugin
listed in pyproject.toml's ``tmt`` entry points)."""

from __future__ import annotations

from tmt_core.plugins import hookimpl

from .csv_file import CSVReporter
from .history import HistoryReporter
from .plot import PlotReporter
from .progress import ProgressReporter

BUILTIN_REPORTERS = (ProgressReporter, HistoryReporter, CSVReporter, PlotReporter)


@hookimpl
def register_reporters(register):
    for reporter in BUILTIN_REPORTERS:
        register(reporter)
