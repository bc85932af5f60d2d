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
from .tensor import Node, Tensor, make_tensor

__all__ = ["apply", "ops", "OpNamespace"]

_SCALARS = (int, float, bool, np.number, np.bool_)


def _constant(value: Any, args: tuple[Any, ...]) -> np.ndarray:
    """A non-tensor input as an array, in the float dtype of the tensors beside it, so that
    ``x * 2.0`` stays float32 (NumPy would make a Python float a float64 array)."""
    if isinstance(value, np.ndarray):
        array = value
    else:
        array = np.asarray(value)
    if array.dtype.kind in "fiub" and (array.dtype.kind == "f" or isinstance(value, _SCALARS)):
        for other in args:
            if isinstance(other, Tensor) and other.data.dtype.kind == "f":
                return array.astype(other.data.dtype, copy=False)
        if array.dtype == np.float64:
            return array.astype(np.float32)
    return array


def apply(op: Op, *args: Any, **attrs: Any) -> Tensor:
    """Run ``op`` on ``args`` (tensors, arrays or Python scalars) with static ``attrs``."""
    arrays = []
    track = False
    for arg in args:
        if isinstance(arg, Tensor):
            arrays.append(arg.data)
            if arg.requires_grad:
                track = True
        else:
            arrays.append(_constant(arg, args))
    try:
        out, residuals = op.forward(*arrays, **attrs)
    except TmtError:
        raise
    except Exception as exc:
        raise OpError(_describe_failure(op, arrays, attrs, exc)) from exc
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if track and MODE.enabled:
        inputs = tuple(a if isinstance(a, Tensor) and a.requires_grad else None for a in args)
        return make_tensor(out, Node(op, residuals, attrs, inputs))
    return make_tensor(out, None)


def _describe_failure(op: Op, arrays: list[Any], attrs: dict[str, Any], exc: Exception) -> str:
    shapes = ", ".join(f"{tuple(np.shape(a))} {getattr(a, 'dtype', type(a).__name__)}" for a in arrays)
    told = ", ".join(f"{k}={v!r}" for k, v in attrs.items())
    reason = str(exc).strip() or type(exc).__name__
    return f"op {op.name!r} failed on inputs [{shapes}]" + (f" with {told}" if told else "") + f": {reason}"


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
