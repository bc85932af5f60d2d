"""``evaluate`` and ``predict``: the model in evaluation mode, no graph recorded, the model's
previous mode restored afterwards."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from tmt_core import Tensor, no_grad

from ..module import Module
from .data import as_arrays, batches
from .losses import resolve_loss
from .metrics import correct_count
from .modes import keep_modes

__all__ = ["evaluate", "predict"]


def evaluate(
    model: Module,
    X: Any,
    y: Any,
    loss: str | Callable[[Any, Any], Any] = "cross_entropy",
    batch_size: int = 256,
    metrics: Iterable[str] = ("accuracy",),
) -> dict[str, float]:
    """``{"loss": mean loss over the examples, "accuracy": fraction right}`` (accuracy only
    where the outputs are class scores (N, C) and asked for in ``metrics``)."""
    inputs, targets = as_arrays((X, y), "evaluate data")
    loss_fn, _ = resolve_loss(loss)
    want_accuracy = "accuracy" in tuple(metrics)
    loss_total, correct_total, accuracy_known = 0.0, 0, want_accuracy
    with keep_modes(model, False), no_grad():
        for x, t in batches(inputs, targets, batch_size, None):
            outputs = model(Tensor(x))
            loss_total += float(loss_fn(outputs, Tensor(t)).data) * len(x)
            if accuracy_known:
                correct = correct_count(getattr(outputs, "data", outputs), t)
                accuracy_known = correct is not None
                correct_total += correct or 0
    scores = {"loss": loss_total / len(inputs)}
    if accuracy_known:
        scores["accuracy"] = correct_total / len(inputs)
    return scores


def predict(model: Module, X: Any, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for every row of ``X``, as one array (evaluation mode, no graph)."""
    inputs = np.asarray(getattr(X, "data", X))
    if inputs.dtype.kind == "f" and inputs.dtype != np.float32:
        inputs = inputs.astype(np.float32)
    if len(inputs) == 0:
        raise ValueError("predict: X is empty")
    with keep_modes(model, False), no_grad():
        outputs = [
            np.asarray(getattr(out, "data", out))
            for out in (model(Tensor(inputs[i : i + batch_size])) for i in range(0, len(inputs), batch_size))
        ]
    return np.concatenate(outputs) if len(outputs) > 1 else outputs[0]


