"""Sending events to a run's reporters: a reporter that raises is reported once and switched
off; the run and the others go on. KeyboardInterrupt is not caught: it interrupts the run."""

from __future__ import annotations

import warnings
from typing import Any, Iterable, Mapping

from ..errors import ReporterWarning
from ..reporters.base import Reporter
from ..reporters.registry import get_reporter

__all__ = ["ReporterGroup", "make_reporters"]

EVENTS = ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end")


def make_reporters(
    reporters: Iterable[str | Reporter] | str | Reporter | None,
    options: Mapping[str, Mapping[str, Any]] | None,
) -> list[Reporter]:
    """Names become new reporters (with ``options[name]``), instances are used as given."""
    if reporters is None:
        reporters = ()
    elif isinstance(reporters, (str, Reporter)):
        reporters = (reporters,)
    reporters = list(reporters)
    options = dict(options or {})
    names = [r for r in reporters if isinstance(r, str)]
    stray = [key for key in options if key not in names]
    if stray:
        raise ValueError(f"reporter_options names {stray}, which reporters={names} does not ask for")
    made: list[Reporter] = []
    for reporter in reporters:
        if isinstance(reporter, str):
            made.append(get_reporter(reporter, **dict(options.get(reporter, {}))))
        elif isinstance(reporter, Reporter):
            made.append(reporter)
        else:
            raise TypeError(f"reporters= takes names or tmt_nn.Reporter instances, got {reporter!r}")
    return made


class ReporterGroup:
    """The reporters of one run. Each event goes only to reporters that override it."""

    def __init__(self, reporters: Iterable[Reporter]) -> None:
        self.reporters = list(reporters)
        self._listeners = {
            event: [r for r in self.reporters if getattr(type(r), event, None) is not getattr(Reporter, event)]
            for event in EVENTS
        }

    def emit(self, event: str, **arguments: Any) -> None:
        for reporter in self._listeners[event]:
            try:
                getattr(reporter, event)(**arguments)
            except Exception as exc:
                self._switch_off(reporter, event, exc)

    def _switch_off(self, reporter: Reporter, event: str, exc: Exception) -> None:
        # new lists, not in-place removal: emit() may be iterating the old one right now
        self._listeners = {
            event: [r for r in listeners if r is not reporter]
            for event, listeners in self._listeners.items()
        }
        label = getattr(reporter, "name", "") or type(reporter).__name__
        warnings.warn(
            ReporterWarning(
                f"reporter {label!r}{_provider(reporter, label)} failed in {event} with {type(exc).__name__}: {exc}; it is "
                f"switched off for the rest of this run (training goes on)"
            ),
            stacklevel=4,
        )


def _provider(reporter: Reporter, label: str) -> str:
    """`` (plugin NAME (DIST VERSION))`` when a plugin registered this reporter's class."""
    from ..reporters.registry import REPORTERS

    if label not in REPORTERS:
        return ""
    entry = REPORTERS.entry(label)
    if isinstance(entry.value, type) and isinstance(reporter, entry.value):
        return f" (plugin {entry.provider.label})"
    return ""
