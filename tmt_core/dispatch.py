"""Dispatch: call an op on tensors, and build a graph node only when it is needed.

This is the hot path of every training step, so it does little: unwrap the inputs, run the
forward, wrap the output, and record a node only when grad mode is on and an input requires
grad. Errors from inside an op's forward come out as :class:`OpError` naming the op, the
input shapes and the attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import plugins
from .errors import OpError, TmtError
from .grad_mode import MODE
from .op import Op
from .registry import OPS
from .tensor import Node, Tensor

__all__ = ["apply", "ops", "OpNamespace"]

_new = object.__new__

_FLOAT32 = np.dtype(np.float32)
_FLOAT64 = np.dtype(np.float64)


def _float_dtype(args: tuple[Any, ...]) -> np.dtype | None:
    for other in args:
        if isinstance(other, Tensor) and other.data.dtype.kind == "f":
            return other.data.dtype
    return None


def _constant(value: Any, index: int, op: Op, args: tuple[Any, ...]) -> np.ndarray:
    """A non-tensor input as an array, in the float dtype of the tensors beside it, so that
    ``x * 2.0``, ``x + [1, 2]`` and ``x * np.ones(3)`` stay float32 (NumPy would compute them
    in float64). Integer and boolean inputs an op declares non-differentiable (labels, masks)
    keep their dtype."""
    array = value if isinstance(value, np.ndarray) else np.asarray(value)
    kind = array.dtype.kind
    if kind == "f" or (kind in "iub" and index not in op.nondiff):
        target = _float_dtype(args)
        if target is not None:
            return array.astype(target, copy=False)
        if array.dtype == _FLOAT64:
            return array.astype(_FLOAT32)
    return array


def apply(op: Op, *args: Any, **attrs: Any) -> Tensor:
    """Run ``op`` on ``args`` (tensors, arrays or Python scalars) with static ``attrs``."""
    arrays = []
    inputs: list[Tensor | None] = []
    track = False
    for arg in args:
        if isinstance(arg, Tensor):
            arrays.append(arg.data)
            if arg.requires_grad:
                track = True
                inputs.append(arg)
            else:
                inputs.append(None)
        else:
            arrays.append(_constant(arg, len(arrays), op, args))
            inputs.append(None)
    try:
        out, residuals = op.forward(*arrays, **attrs)
    except TmtError:
        raise
    except Exception as exc:
        raise OpError(_describe_failure(op, arrays, attrs, exc)) from exc
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if out.dtype is _FLOAT64:  # one identity check; the rare mixed int/float call pays the rest
        out, residuals = _without_upcast(op, arrays, attrs, out, residuals)
    result = _new(Tensor)  # make_tensor, inlined: this runs for every op of every step
    result.data = out
    result.grad = None
    if track and MODE.enabled:
        result._node = Node(op, residuals, attrs, tuple(inputs))
        result.requires_grad = True
    else:
        result._node = None
        result.requires_grad = False
    return result


def _without_upcast(
    op: Op, arrays: list[Any], attrs: dict[str, Any], out: np.ndarray, residuals: Any
) -> tuple[np.ndarray, Any]:
    """NumPy computes an integer array with a float32 one in float64. Unless an input is
    float64 on purpose, run the op again with the integer inputs in the float dtype of the
    others (float32 when none is float), as PyTorch promotes ``int_tensor * 2.5``."""
    if any(a.dtype == _FLOAT64 for a in arrays):
        return out, residuals
    target = next((a.dtype for a in arrays if a.dtype.kind == "f"), _FLOAT32)
    promoted = [
        a.astype(target) if a.dtype.kind in "iub" and i not in op.nondiff else a
        for i, a in enumerate(arrays)
    ]
    try:
        out, residuals = op.forward(*promoted, **attrs)
    except Exception as exc:
        raise OpError(_describe_failure(op, promoted, attrs, exc)) from exc
    return np.asarray(out), residuals


def _describe_failure(op: Op, arrays: list[Any], attrs: dict[str, Any], exc: Exception) -> str:
    shapes = ", ".join(
        f"{tuple(np.shape(a))} {getattr(a, 'dtype', type(a).__name__)}" for a in arrays
    )
    told = ", ".join(f"{k}={v!r}" for k, v in attrs.items())
    reason = str(exc).strip() or type(exc).__name__
    with_attrs = f" with {told}" if told else ""
    return f"op {op.name!r} failed on inputs [{shapes}]{with_attrs}: {reason}"


class OpNamespace:
    """``tmt_core.ops.NAME(...)`` calls any registered op; ``ops["family.name"]`` too.

    A name is looked up once and cached as an attribute; the cache is dropped whenever the set
    of plugins changes.
    """

    def __getattr__(self, name: str) -> Op:
        if name.startswith("__"):
            raise AttributeError(name)
        op = OPS.get(name)
        self.__dict__[name] = op
        return op

    def __getitem__(self, name: str) -> Op:
        try:
            return self.__dict__[name]
        except KeyError:
            return self.__getattr__(name)

    def __contains__(self, name: str) -> bool:
        return name in OPS

    def __dir__(self) -> list[str]:
        return OPS.names()

    def __repr__(self) -> str:
        return f"<tmt ops: {len(OPS)} registered>"

    def _forget(self) -> None:
        self.__dict__.clear()


ops = OpNamespace()
plugins.on_change(ops._forget)
