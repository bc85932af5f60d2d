"""Errors and warnings of the neural-network layer. Each message names the layer, the file or
the reporter, and the shapes or values involved."""

from __future__ import annotations

from tmt_core.errors import TmtError

__all__ = ["LayerInputError", "StateDictError", "NonFiniteLossError", "TrainingProcessError", "ReporterWarning"]


class LayerInputError(TmtError, ValueError):
    """A layer was called on an input of the wrong rank or size."""


class StateDictError(TmtError, ValueError):
    """``load_state_dict`` / ``load`` got missing, unexpected or mis-shaped entries."""


class NonFiniteLossError(TmtError, FloatingPointError):
    """The training loss became NaN or infinite (``fit(..., on_nan="stop")``)."""


class TrainingProcessError(TmtError, RuntimeError):
    """A helper process of ``fit(..., processes=N)`` raised or died."""


class ReporterWarning(UserWarning):
    """A reporter raised during a run and was switched off; the run went on."""
