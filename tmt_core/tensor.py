"""The Tensor: an ndarray, its gradient, and the graph node that made it. It holds no math:
every operator and method names an op and dispatches through the registry."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .errors import TmtError

__all__ = ["Tensor", "Node", "make_tensor", "tensor", "stack", "concatenate"]

_RELEASED = object()


class Node:
    """How a tensor was made: the op, its residuals and attributes, and the inputs that need
    a gradient (``None`` for the others)."""

    __slots__ = ("op", "residuals", "attrs", "inputs")

    def __init__(self, op: Any, residuals: Any, attrs: dict[str, Any], inputs: tuple[Any, ...]):
        self.op = op
        self.residuals = residuals
        self.attrs = attrs
        self.inputs = inputs

    def release(self) -> None:
        self.residuals = _RELEASED

    @property
    def released(self) -> bool:
        return self.residuals is _RELEASED


def _as_array(data: Any, dtype: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    array = np.asarray(data)
    if array.dtype == np.float64 or array.dtype == np.float16:
        return array.astype(np.float32)  # float32 is the default; no silent float64
    return array


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.

    ``Tensor(data, requires_grad=False, dtype=None)``: float data becomes float32 unless a
    dtype is given. ``.grad`` is a NumPy array (or None) filled by :meth:`backward`.
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "__weakref__")
    __array_priority__ = 1000  # ndarray * Tensor defers to Tensor.__rmul__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = _as_array(data, dtype)
        self.grad: np.ndarray | None = None
        self._node: Node | None = None
        self.requires_grad = bool(requires_grad) and _differentiable(self.data)

    # ------------------------------------------------------------------ array facts
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self) -> str | None:
        """The name of the op that made this tensor, or None for a leaf."""
        return None if self._node is None else self._node.op.name

    def __len__(self) -> int:
        return len(self.data)

    def item(self) -> Any:
        return self.data.item()

    def numpy(self) -> np.ndarray:
        return self.data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        # NumPy 2 protocol: np.array(t) passes copy=True and trusts the result to be a copy;
        # np.asarray(t) passes copy=None and may share memory.
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        if dtype is None or np.dtype(dtype) == self.data.dtype:
            return self.data
        if copy is False:
            raise ValueError(
                f"a tensor of dtype {self.data.dtype} cannot become {np.dtype(dtype)} "
                f"without a copy"
            )
        return self.data.astype(dtype)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise TmtError(
                f"the truth value of a tensor of shape {self.data.shape} is ambiguous; use a "
                f"single-element tensor"
            )
        return bool(self.data.item())

    def __format__(self, spec: str) -> str:
        if self.data.size == 1 and spec:
            return format(self.data.item(), spec)
        return format(repr(self), spec)

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory, like PyTorch)."""
        return make_tensor(self.data, None)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = bool(requires_grad) and _differentiable(self.data)
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Reverse-mode pass from this tensor; fills ``.grad`` of every leaf requiring grad."""
        from .engine import backward

        backward(self, grad, retain_graph=retain_graph)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, prefix="tensor(")
        extra = [] if self.data.dtype == np.float32 else [f"dtype={self.data.dtype}"]
        if self._node is not None:
            extra.append(f"grad_fn={self._node.op.name}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extra)})"

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> Tensor:
        return apply(ops.add, self, other)

    def __radd__(self, other: Any) -> Tensor:
        return apply(ops.add, other, self)

    def __sub__(self, other: Any) -> Tensor:
        return apply(ops.sub, self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return apply(ops.sub, other, self)

    def __mul__(self, other: Any) -> Tensor:
        return apply(ops.mul, self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return apply(ops.mul, other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return apply(ops.div, self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return apply(ops.div, other, self)

    def __pow__(self, other: Any) -> Tensor:
        return apply(ops.pow, self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return apply(ops.pow, other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return apply(ops.matmul, self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return apply(ops.matmul, other, self)

    def __neg__(self) -> Tensor:
        return apply(ops.neg, self)

    # ------------------------------------------------------------------ pointwise math
    def exp(self) -> Tensor:
        return apply(ops.exp, self)

    def log(self) -> Tensor:
        return apply(ops.log, self)

    def tanh(self) -> Tensor:
        return apply(ops.tanh, self)

    def relu(self) -> Tensor:
        return apply(ops.relu, self)

    def sigmoid(self) -> Tensor:
        return apply(ops.sigmoid, self)

    def abs(self) -> Tensor:
        return apply(ops.abs, self)

    def sqrt(self) -> Tensor:
        return apply(ops.sqrt, self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        return apply(ops.clip, self, min=min, max=max)

    # ------------------------------------------------------------------ reductions
    # ``dtype`` and ``out`` are there for NumPy: np.sum(t), np.mean(t), np.max(t) call these
    # methods with both; they give a differentiable Tensor when both are left out.
    def sum(
        self, axis: int | Sequence[int] | None = None, keepdims: bool = False, dtype: Any = None, out: Any = None
    ) -> Tensor:
        _no_numpy_extras("sum", dtype, out)
        return apply(ops.sum, self, axis=_axis(axis), keepdims=keepdims)

    def mean(
        self, axis: int | Sequence[int] | None = None, keepdims: bool = False, dtype: Any = None, out: Any = None
    ) -> Tensor:
        _no_numpy_extras("mean", dtype, out)
        return apply(ops.mean, self, axis=_axis(axis), keepdims=keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, out: Any = None) -> Tensor:
        _no_numpy_extras("max", None, out)
        return apply(ops.max, self, axis=_axis(axis), keepdims=keepdims)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return apply(ops.reshape, self, shape=tuple(int(n) for n in shape))

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return apply(ops.transpose, self, axes=tuple(axes) if axes else None)

    @property
    def T(self) -> Tensor:
        return apply(ops.transpose, self, axes=None)

    def flatten(self, start_dim: int = 0) -> Tensor:
        shape = self.data.shape
        return self.reshape(*shape[:start_dim], -1)

    def pad(self, pad_width: Any, value: float = 0.0) -> Tensor:
        return apply(ops.pad, self, pad_width=_pad_width(pad_width), value=value)

    def __getitem__(self, index: Any) -> Tensor:
        return apply(ops.getitem, self, index=_index(index))


def _differentiable(data: np.ndarray) -> bool:
    """Only float tensors can require grad: an integer has no infinitesimal change."""
    if data.dtype.kind not in "fc":
        raise TmtError(
            f"only float tensors can require grad; this one is {data.dtype} of shape "
            f"{data.shape} (make it float first, e.g. Tensor(data, dtype=np.float32))"
        )
    return True


def _no_numpy_extras(method: str, dtype: Any, out: Any) -> None:
    if out is not None:
        raise TypeError(
            f"Tensor.{method}: out= is not supported (every op returns a new Tensor); "
            f"for a NumPy result use np.{method}(tensor.data, out=...)"
        )
    if dtype is not None:
        raise TypeError(
            f"Tensor.{method}: dtype= is not supported (asked for {np.dtype(dtype).name}); cast "
            f"the data first, e.g. Tensor(tensor.data.astype({np.dtype(dtype).name!r}))"
        )


def _axis(axis: Any) -> Any:
    if axis is None or isinstance(axis, int):
        return axis
    return tuple(int(a) for a in axis)


def _pad_width(pad_width: Any) -> Any:
    if isinstance(pad_width, int):
        return pad_width
    return tuple(
        tuple(int(n) for n in p) if isinstance(p, (tuple, list)) else int(p) for p in pad_width
    )


def _index(index: Any) -> Any:
    """Tensors inside an index become arrays: indices are attributes, never differentiated."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


_new = object.__new__


def make_tensor(data: np.ndarray, node: Node | None) -> Tensor:
    """Wrap an op's output (no copy, no dtype change): the fast path of dispatch."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t._node = node
    t.requires_grad = node is not None
    return t


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """``tmt_core.tensor([1.0, 2.0])``, as in PyTorch."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return apply(ops.stack, *tensors, axis=axis)


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return apply(ops.concatenate, *tensors, axis=axis)


from .dispatch import apply, ops  # noqa: E402  (dispatch needs Tensor defined first)
