"""``fit``: the training loop, with reporters, NaN checks and interrupt safety.

    history = fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (X, y),
                  epochs=5, batch_size=128, validation_data=(X_test, y_test))

Each step: forward, loss, NaN check, backward, then the optimizer step under a guard that never
lets Ctrl-C leave it half-applied (see :mod:`tmt_nn.training.guard`). ``on_train_end`` is
always delivered with ``"success"``, ``"failed"`` (an exception, re-raised) or
``"interrupted"`` (Ctrl-C, re-raised after the reporters have heard of it).
"""

from __future__ import annotations

import contextlib
import importlib
import math
import time
import warnings
from typing import Any, Callable, ContextManager, Iterable, Mapping

import numpy as np

from tmt_core import Tensor
from tmt_core.threads import usable_cores

from ..errors import NonFiniteLossError
from ..module import Module
from ..reporters.base import Reporter
from ..reporters.history import HistoryReporter
from .data import as_arrays, batches, step_count
from .evaluate import evaluate
from .events import ReporterGroup, make_reporters
from .guard import StepGuard
from .history import History
from .losses import resolve_loss
from .metrics import correct_count
from .modes import keep_modes
from .processes import ProcessTeam, can_fork

__all__ = ["fit"]

ON_NAN = ("stop", "continue")


def fit(
    model: Module,
    loss: str | Callable[[Any, Any], Any],
    optimizer: Any,
    train_data: tuple[Any, Any],
    epochs: int = 1,
    batch_size: int = 32,
    validation_data: tuple[Any, Any] | None = None,
    reporters: Iterable[str | Reporter] | str | Reporter | None = ("progress",),
    reporter_options: Mapping[str, Mapping[str, Any]] | None = None,
    shuffle: bool | Callable[[int], Any] = True,
    seed: int | None = None,
    on_nan: str = "stop",
    metrics: Iterable[str] = ("accuracy",),
    optimizer_options: Mapping[str, Any] | None = None,
    scheduler: Any = None,
    processes: int = 1,
) -> History:
    """Train ``model`` and return its :class:`History`.

    - ``loss``: ``"cross_entropy"``, ``"mse"``, ``"binary_cross_entropy"``,
      ``"binary_cross_entropy_with_logits"`` or a callable ``loss(outputs, targets)``.
    - ``optimizer``: an optimizer (anything with ``step()`` and ``zero_grad()``) or a name
      registered with tmt_optim (``"sgd"``, ``"adam"``...) built with ``optimizer_options``
      (e.g. ``{"lr": 0.1}``); a name imports tmt_optim when fit is called, not before.
    - ``train_data`` / ``validation_data``: ``(X, y)`` arrays; y holds int labels or one-hot
      rows. Batches are cut here (the last one may be smaller); ``shuffle`` draws a new order
      each epoch from ``seed`` (``None``: from NumPy's global state), or, given a function,
      takes ``shuffle(epoch)`` as the epoch's order of the rows: one row index per example,
      normally a permutation (e.g. another framework's order, as bench/train.py replays
      PyTorch's).
    - ``reporters``: names (``"progress"``, ``"history"``, ``"csv"``, plugins' names) or
      :class:`Reporter` instances; ``reporter_options={"csv": {"path": "run.csv"}}``.
    - ``on_nan``: ``"stop"`` raises :class:`NonFiniteLossError` naming the epoch and step, the
      weights untouched by that batch; ``"continue"`` skips that batch's update and goes on.
    - ``metrics``: ``("accuracy",)`` adds accuracy where the outputs are class scores (N, C);
      ``()`` computes the loss only.
    - ``scheduler``: a learning-rate schedule (``tmt_optim.StepLR(optimizer, 5)``, anything
      with ``step()``), stepped after every epoch; each epoch's metrics then record the
      ``lr`` it trained with.
    - ``processes``: train on that many processes, each running the forward and backward pass
      of its share of every batch, their gradients summed (data parallelism, as PyTorch's
      DistributedDataParallel; x86 Linux, elsewhere one process with a warning). With 2 on 2
      cores an epoch took 10-25% less time than on tmt's threads (bench/RESULTS.md). The loss
      must be a mean over the examples, as tmt's are; :mod:`tmt_nn.training.processes` says how
      it works and what else it asks of the model.
    """
    if on_nan not in ON_NAN:
        raise ValueError(f"fit: on_nan must be one of {ON_NAN}, got {on_nan!r}")
    if int(epochs) < 0 or int(batch_size) <= 0:
        raise ValueError(f"fit: epochs must be >= 0 and batch_size > 0, got {epochs} and {batch_size}")
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m != "accuracy"]
    if unknown:
        raise ValueError(f"fit: unknown metric(s) {unknown}; available: accuracy")
    epochs, batch_size = int(epochs), int(batch_size)
    processes = _process_count(processes)
    inputs, targets = as_arrays(train_data, "train_data")
    validation = as_arrays(validation_data, "validation_data") if validation_data is not None else None
    loss_fn, loss_name = resolve_loss(loss)
    optimizer = _resolve_optimizer(optimizer, model, optimizer_options)
    _check_scheduler(scheduler, optimizer)
    _check_team_optimizer(processes, model, optimizer)
    recorder = HistoryReporter()
    group = ReporterGroup([recorder, *make_reporters(reporters, reporter_options)])
    steps = step_count(len(inputs), batch_size)
    shuffler = np.random.default_rng(seed if seed is not None else np.random.randint(0, 2**31 - 1))

    config = {
        "epochs": epochs,
        "batch_size": batch_size,
        "shuffle": shuffle if isinstance(shuffle, bool) else "callable",
        "seed": seed,
        "steps_per_epoch": steps,
        "optimizer": getattr(optimizer, "name", type(optimizer).__name__),
        "optimizer_options": dict(getattr(optimizer, "hyperparameters", {}) or {}),
        "loss": loss_name,
        "model": repr(model),
        "parameters": sum(p.data.size for p in model.parameters()),
        "train_size": len(inputs),
        "validation_size": len(validation[0]) if validation is not None else 0,
        "processes": processes,
    }
    status, last_metrics = "failed", {}
    try:
        with keep_modes(model, True), StepGuard(model.parameters()) as guard, _team(
            processes, model, loss_fn, inputs, targets, batch_size, "accuracy" in metrics, optimizer
        ) as team:
            group.emit("on_train_begin", config=config)
            for epoch in range(1, epochs + 1):
                started = time.perf_counter()
                group.emit("on_epoch_begin", epoch=epoch, steps=steps)
                lr = getattr(optimizer, "lr", None)  # as this epoch began: a reporter may change it
                order = _epoch_order(shuffle, shuffler, len(inputs), epoch)
                where = dict(epoch=epoch, steps=steps, on_nan=on_nan)
                if team is None:
                    epoch_metrics = _train_epoch(
                        model, loss_fn, optimizer, guard, group, batches(inputs, targets, batch_size, order),
                        want_accuracy="accuracy" in metrics, **where,
                    )
                else:
                    team.set_order(order)
                    epoch_metrics = _train_epoch_on_team(team, guard, group, batch_size, **where)
                if validation is not None:
                    scores = evaluate(model, *validation, loss=loss_fn, batch_size=max(batch_size, 256), metrics=metrics)
                    epoch_metrics.update({f"val_{k}": v for k, v in scores.items()})
                epoch_metrics["seconds"] = time.perf_counter() - started
                if scheduler is not None and isinstance(lr, (int, float)):
                    epoch_metrics["lr"] = float(lr)
                last_metrics = epoch_metrics
                if scheduler is not None:
                    scheduler.step()  # the next epoch's learning rate
                group.emit("on_epoch_end", epoch=epoch, metrics=dict(epoch_metrics))
        status = "success"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        group.emit("on_train_end", status=status, metrics=dict(last_metrics))
    return recorder.history


def _train_epoch(
    model: Module,
    loss_fn: Callable[[Any, Any], Any],
    optimizer: Any,
    guard: StepGuard,
    group: ReporterGroup,
    data: Iterable[tuple[np.ndarray, np.ndarray]],
    *,
    epoch: int,
    steps: int,
    on_nan: str,
    want_accuracy: bool,
) -> dict[str, float]:
    """One pass over the batches; returns the epoch's mean loss (and accuracy)."""
    tally = _Tally(want_accuracy)
    for step, (x, y) in enumerate(data, start=1):
        outputs = model(Tensor(x))
        loss_tensor = loss_fn(outputs, Tensor(y))
        value = float(loss_tensor.data)
        if not math.isfinite(value):
            _non_finite(group, value, on_nan, epoch=epoch, step=step, steps=steps)
            continue  # on_nan="continue": this batch does not update the weights
        optimizer.zero_grad()
        loss_tensor.backward()
        guard.step(optimizer.step)
        hits = correct_count(getattr(outputs, "data", outputs), y) if tally.accuracy_known else None
        group.emit("on_batch_end", epoch=epoch, step=step, metrics=tally.add(value, len(x), hits))
    return tally.epoch_metrics()


def _train_epoch_on_team(
    team: ProcessTeam, guard: StepGuard, group: ReporterGroup, batch_size: int,
    *, epoch: int, steps: int, on_nan: str,
) -> dict[str, float]:
    """As :func:`_train_epoch`, each batch's forward and backward split over the team, and
    the optimizer step too where it can be (see :mod:`.sharding`); the backward runs before
    the NaN check (a skipped batch's gradients are simply not used)."""
    tally = _Tally(team.want_accuracy)
    for step, lo in enumerate(range(0, len(team.inputs), batch_size), start=1):
        value, count, hits = team.step(lo, min(lo + batch_size, len(team.inputs)))
        if not math.isfinite(value):
            _non_finite(group, value, on_nan, epoch=epoch, step=step, steps=steps)
            continue
        guard.step(team.optimizer_step)
        group.emit("on_batch_end", epoch=epoch, step=step, metrics=tally.add(value, count, hits))
    return tally.epoch_metrics()


class _Tally:
    """An epoch's running mean loss and accuracy (accuracy stops at the first batch where it
    does not apply)."""

    def __init__(self, want_accuracy: bool) -> None:
        self.loss_total, self.counted, self.correct_total = 0.0, 0, 0
        self.accuracy_known = want_accuracy

    def add(self, value: float, count: int, hits: int | None) -> dict[str, float]:
        """Count a trained batch; returns its metrics for ``on_batch_end``."""
        batch_metrics = {"loss": value}
        self.loss_total += value * count
        self.counted += count
        if self.accuracy_known:
            if hits is None:
                self.accuracy_known = False
            else:
                self.correct_total += hits
                batch_metrics["accuracy"] = hits / count
        return batch_metrics

    def epoch_metrics(self) -> dict[str, float]:
        metrics = {"loss": self.loss_total / self.counted if self.counted else math.nan}
        if self.accuracy_known and self.counted:
            metrics["accuracy"] = self.correct_total / self.counted
        return metrics


def _non_finite(group: ReporterGroup, value: float, on_nan: str, *, epoch: int, step: int, steps: int) -> None:
    """A NaN or infinite batch loss: raise (``on_nan="stop"``) or report it and go on."""
    if on_nan == "stop":
        raise NonFiniteLossError(
            f"fit: the loss became {value} at epoch {epoch}, step {step} of {steps}; "
            f"training stopped with the weights of the previous step (try a lower "
            f"learning rate, check the inputs, or pass on_nan='continue' to skip such "
            f"batches)"
        )
    group.emit("on_batch_end", epoch=epoch, step=step, metrics={"loss": value})


def _epoch_order(shuffle: Any, shuffler: np.random.Generator, examples: int, epoch: int) -> np.ndarray | None:
    """The epoch's order of the rows: None (as they are), a draw, or ``shuffle(epoch)``'s."""
    if not callable(shuffle):
        return shuffler.permutation(examples) if shuffle else None
    order = np.asarray(shuffle(epoch))
    if order.shape != (examples,) or order.dtype.kind not in "iu":
        got = f"{order.dtype} of shape {order.shape}"
    elif order.min() < 0 or order.max() >= examples:
        got = f"values from {order.min()} to {order.max()}"
    else:
        return order
    raise ValueError(
        f"fit: shuffle({epoch}) must give the epoch's order of the {examples} training "
        f"examples, integers 0..{examples - 1}; got {got}"
    )


def _process_count(processes: Any) -> int:
    if isinstance(processes, bool) or not isinstance(processes, (int, np.integer)) or processes < 1:
        raise ValueError(f"fit: processes must be an integer >= 1, got {processes!r}")
    if processes > 1 and not can_fork():
        warnings.warn(
            f"fit: processes={processes} needs fork() on x86 Linux; training on one process",
            RuntimeWarning,
            stacklevel=3,
        )
        return 1
    cores = usable_cores()
    if processes > cores:
        warnings.warn(
            f"fit: processes={processes} on {cores} core(s): the processes will take turns, "
            f"which is slower than {cores}",
            RuntimeWarning,
            stacklevel=3,
        )
    return int(processes)


def _check_team_optimizer(processes: int, model: Module, optimizer: Any) -> None:
    """The processes share and sum the model's parameters: an optimizer that also updates
    others (one it lists in ``params``) would get only the main process's share of their
    gradient."""
    if processes == 1:
        return
    own = {id(p) for p in model.parameters()}
    strangers = [p for p in getattr(optimizer, "params", ()) if id(p) not in own]
    if strangers:
        raise ValueError(
            f"fit(processes={processes}): the optimizer updates {len(strangers)} parameter(s) "
            f"that are not the model's (the first of shape {strangers[0].shape}); the processes "
            f"share and sum the model's parameters only, so train those on one process"
        )


def _team(processes: int, *args: Any) -> ContextManager[ProcessTeam | None]:
    return ProcessTeam(processes, *args) if processes > 1 else contextlib.nullcontext()


def _check_scheduler(scheduler: Any, optimizer: Any) -> None:
    if scheduler is None:
        return
    if isinstance(scheduler, type):
        raise TypeError(
            f"fit: scheduler must be a schedule made for the optimizer, e.g. "
            f"{scheduler.__name__}(optimizer, ...), not the class {scheduler.__name__}"
        )
    if not callable(getattr(scheduler, "step", None)):
        raise TypeError(f"fit: scheduler must have step() (e.g. tmt_optim.StepLR), got {scheduler!r}")
    driven = getattr(scheduler, "optimizer", optimizer)
    if driven is not optimizer:
        raise ValueError(
            f"fit: the scheduler {scheduler!r} sets the learning rate of another optimizer "
            f"({type(driven).__name__} at {id(driven):#x}), not of the one fit steps; make it "
            f"with the same optimizer"
        )


def _resolve_optimizer(optimizer: Any, model: Module, options: Mapping[str, Any] | None) -> Any:
    if isinstance(optimizer, str):
        # Only a name needs the optimizer layer; tmt_nn itself imports tmt_core alone.
        tmt_optim = importlib.import_module("tmt_optim")
        return tmt_optim.create_optimizer(optimizer, model.parameters(), **dict(options or {}))
    if options:
        raise ValueError("fit: optimizer_options applies only when optimizer is given by name")
    if not (callable(getattr(optimizer, "step", None)) and callable(getattr(optimizer, "zero_grad", None))):
        raise TypeError(f"fit: optimizer must have step() and zero_grad(), or be a name; got {optimizer!r}")
    return optimizer
