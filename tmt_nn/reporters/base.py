"""The Reporter base class: what a training run tells the reporters it was given.

A reporter is chosen for a run by name (``fit(..., reporters=["progress", "csv"])``) or passed
as an instance; installing a reporter plugin never switches it on for every run. Every event
is called with keywords only, so a later event argument never breaks an older reporter.
Epochs and steps count from 1; metrics are plain floats.

Events, in order::

    on_train_begin(config=...)                  once
      on_epoch_begin(epoch=1, steps=469)        each epoch
        on_batch_end(epoch=1, step=1, metrics={"loss": ..., "accuracy": ...})
        ...
      on_epoch_end(epoch=1, metrics={"loss", "accuracy", "val_loss", "val_accuracy", "seconds"})
    on_train_end(status="success" | "failed" | "interrupted", metrics=<last epoch's>)

``on_train_end`` is always delivered, also when the run fails or is interrupted (Ctrl-C). A
reporter that raises is reported once (a :class:`~tmt_nn.errors.ReporterWarning`) and switched
off for the rest of the run; the run and the other reporters go on.

The ``config`` of ``on_train_begin`` holds: ``epochs``, ``batch_size``, ``shuffle``, ``seed``,
``steps_per_epoch``, ``optimizer`` (its name) and ``optimizer_options`` (its
hyper-parameters), ``loss`` (its name), ``model`` (its repr), ``parameters`` (how many numbers
it learns), ``train_size`` and ``validation_size`` (examples).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Reporter"]


class Reporter:
    """Base class of reporters; override the events you need (each defaults to nothing).

    ``name`` is the name a run asks for (``reporters=["csv"]``) and the plugin registers.
    Options given through ``fit(..., reporter_options={"csv": {"path": ...}})`` arrive as
    keyword arguments of the constructor.
    """

    name: str = ""

    def on_train_begin(self, *, config: dict[str, Any]) -> None:
        """The run starts; ``config`` describes it (see the module docstring)."""

    def on_epoch_begin(self, *, epoch: int, steps: int) -> None:
        """Epoch ``epoch`` (from 1) starts; it has ``steps`` batches."""

    def on_batch_end(self, *, epoch: int, step: int, metrics: dict[str, float]) -> None:
        """Step ``step`` (from 1) of ``epoch`` is done; ``metrics`` are this batch's."""

    def on_epoch_end(self, *, epoch: int, metrics: dict[str, float]) -> None:
        """Epoch ``epoch`` is done; ``metrics`` average the epoch (plus validation ones)."""

    def on_train_end(self, *, status: str, metrics: dict[str, float]) -> None:
        """The run ended with ``status`` "success", "failed" or "interrupted"; ``metrics``
        are the last completed epoch's (empty if none completed)."""

    def __repr__(self) -> str:
        return f"<reporter {self.name or type(self).__name__}>"
