"""Checks a reporter plugin must pass, as plain functions (usable from a notebook).

``factory() -> Reporter`` builds the reporter under test. Each check plays a scripted run
through the reporter's events, with keyword arguments exactly as the training loop sends
them: ``on_train_begin(config=)``, ``on_epoch_begin(epoch=, steps=)``,
``on_batch_end(epoch=, step=, metrics=)``, ``on_epoch_end(epoch=, metrics=)``,
``on_train_end(status=, metrics=)``; epochs and steps count from 1.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

__all__ = [
    "FAKE_CONFIG",
    "fake_run",
    "check_reporter",
    "check_reporter_is_named",
    "check_reporter_full_run",
    "check_reporter_failed_run",
    "check_reporter_interrupted_run",
    "check_reporter_empty_metrics",
    "check_reporter_unusual_values",
    "check_reporter_end_without_begin",
    "check_reporter_two_runs",
]

ReporterFactory = Callable[[], Any]

FAKE_CONFIG: dict[str, Any] = {
    "epochs": 2, "batch_size": 32, "steps_per_epoch": 3, "optimizer": "sgd",
    "optimizer_options": {"lr": 0.1}, "model": "Network(Linear(4, 3))", "seed": 0,
}


def _deliver(reporter: Any, event: str, **kwargs: Any) -> None:
    try:
        getattr(reporter, event)(**kwargs)
    except Exception as exc:
        name = getattr(reporter, "name", type(reporter).__name__)
        arguments = ", ".join(f"{key}={_short(value)}" for key, value in kwargs.items())
        raise AssertionError(
            f"reporter {name!r} raised in {event}({arguments}): {type(exc).__name__}: {exc}"
        ) from exc


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fake_run(
    reporter: Any,
    *,
    epochs: int = 2,
    steps: int = 3,
    status: str = "success",
    stop_at: tuple[int, int] | None = None,
    metrics: Callable[[int], dict[str, float]] | None = None,
) -> None:
    """Send ``reporter`` the events of a run of ``epochs`` x ``steps``. ``stop_at=(epoch,
    step)`` ends the run right after that batch with ``status``, as a crash or Ctrl-C does."""
    values = metrics or (lambda i: {"loss": 1.0 / i, "accuracy": 1.0 - 0.5 / i})
    _deliver(reporter, "on_train_begin", config=dict(FAKE_CONFIG, epochs=epochs))
    counter = 0
    for epoch in range(1, epochs + 1):
        _deliver(reporter, "on_epoch_begin", epoch=epoch, steps=steps)
        for step in range(1, steps + 1):
            counter += 1
            _deliver(reporter, "on_batch_end", epoch=epoch, step=step, metrics=values(counter))
            if stop_at == (epoch, step):
                _deliver(reporter, "on_train_end", status=status, metrics=values(counter))
                return
        epoch_metrics = dict(values(counter))
        epoch_metrics.update({f"val_{k}": v for k, v in values(counter + 1).items()})
        _deliver(reporter, "on_epoch_end", epoch=epoch, metrics=epoch_metrics)
    _deliver(reporter, "on_train_end", status=status, metrics=values(counter))


def check_reporter_is_named(factory: ReporterFactory) -> None:
    """The reporter subclasses ``tmt_nn.Reporter`` and has a non-empty ``name``."""
    from tmt_nn import Reporter

    reporter = factory()
    assert isinstance(reporter, Reporter), (
        f"{type(reporter).__name__} does not subclass tmt_nn.Reporter"
    )
    assert isinstance(reporter.name, str) and reporter.name, (
        f"{type(reporter).__name__}.name must be a non-empty string, got {reporter.name!r}"
    )


def check_reporter_full_run(factory: ReporterFactory) -> None:
    """Every event of a two-epoch successful run, validation metrics included."""
    fake_run(factory())


def check_reporter_failed_run(factory: ReporterFactory) -> None:
    """A run that fails in the middle of its first epoch (no ``on_epoch_end``)."""
    fake_run(factory(), status="failed", stop_at=(1, 2))


def check_reporter_interrupted_run(factory: ReporterFactory) -> None:
    """A run stopped by Ctrl-C in its second epoch."""
    fake_run(factory(), status="interrupted", stop_at=(2, 1))


def check_reporter_empty_metrics(factory: ReporterFactory) -> None:
    """Events whose metrics dicts are empty."""
    fake_run(factory(), metrics=lambda i: {})


def check_reporter_unusual_values(factory: ReporterFactory) -> None:
    """A diverging run: NaN and infinite losses, NumPy float32 values."""
    values = [math.nan, math.inf, np.float32(0.5), 2.0]
    fake_run(factory(), metrics=lambda i: {"loss": values[i % len(values)],
                                           "accuracy": np.float32(0.1)})


def check_reporter_end_without_begin(factory: ReporterFactory) -> None:
    """``on_train_end`` alone: the loop always delivers it, even when the run failed before
    (or while) ``on_train_begin`` was delivered, so the reporter has none of its data."""
    reporter = factory()
    _deliver(reporter, "on_train_end", status="failed", metrics={})


def check_reporter_two_runs(factory: ReporterFactory) -> None:
    """One reporter object used for two runs in a row (an instance passed to two fits)."""
    reporter = factory()
    fake_run(reporter, epochs=1)
    fake_run(reporter, epochs=1, status="failed", stop_at=(1, 1))


def check_reporter(factory: ReporterFactory) -> None:
    """Every reporter check; raises AssertionError naming the first one that fails."""
    check_reporter_is_named(factory)
    check_reporter_full_run(factory)
    check_reporter_failed_run(factory)
    check_reporter_interrupted_run(factory)
    check_reporter_empty_metrics(factory)
    check_reporter_unusual_values(factory)
    check_reporter_end_without_begin(factory)
    check_reporter_two_runs(factory)
