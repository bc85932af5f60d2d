"""Keeping the model whole when Ctrl-C arrives during a step.

Forward and backward only fill ``.grad``; the weights change in ``optimizer.step()`` alone, so
that is the one place an interruption could leave them half-updated. Two ways to prevent it:

- On the main thread (where Python delivers signals), fit installs a SIGINT handler for the
  run: a Ctrl-C that arrives while ``optimizer.step()`` runs is held until the step has
  finished, then raised as KeyboardInterrupt. The weights *and* the optimizer's state
  (momentum, moments) reflect whole steps only, and it costs nothing per step. Outside the
  step, Ctrl-C is passed on to the previous handler at once.
- Where no handler can be installed (fit running in another thread), the parameters are copied
  into buffers allocated once before each step, and copied back if the step raises (about
  35 µs a step for the W1 MLP); the optimizer's state is not rolled back.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["StepGuard"]


class StepGuard:
    """``with StepGuard(params) as guard: ... guard.step(optimizer.step) ...``"""

    def __init__(self, parameters: Sequence[Any]) -> None:
        self.parameters = list(parameters)
        self.in_step = False
        self.pending = False
        self.saved: list[np.ndarray] | None = None
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> StepGuard:
        try:
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
            self._installed = True
        except ValueError:  # not the main thread: fall back to snapshots
            self.saved = [np.empty_like(p.data) for p in self.parameters]
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def step(self, step: Callable[[], None]) -> None:
        """``step()`` (an optimizer's), never left half-applied by Ctrl-C."""
        if self.saved is not None:
            self._step_with_snapshot(step)
            return
        self.in_step = True
        try:
            step()
        finally:
            self.in_step = False
        if self.pending:  # Ctrl-C came during the step, which is now complete
            self.pending = False
            self._pass_on(signal.SIGINT, None)

    def _on_interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self.in_step:
            self.pending = True
        else:
            self._pass_on(signum, frame)

    def _pass_on(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous
        if callable(previous):
            previous(signum, frame)  # default_int_handler raises KeyboardInterrupt
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    def _step_with_snapshot(self, step: Callable[[], None]) -> None:
        assert self.saved is not None
        for parameter, saved in zip(self.parameters, self.saved):
            np.copyto(saved, parameter.data)
        try:
            step()
        except BaseException:
            for parameter, saved in zip(self.parameters, self.saved):
                np.copyto(parameter.data, saved)
            raise
