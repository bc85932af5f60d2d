"""The reverse-mode engine: topological order without recursion, cotangent accumulation,
broadcasting undone once, every cotangent checked against its input."""

from __future__ import annotations

from typing import Any

import numpy as np

from .broadcast import unbroadcast
from .errors import BackwardError
from .tensor import Node, Tensor

__all__ = ["backward", "topological_order"]


def topological_order(root: Tensor) -> list[Tensor]:
    """Non-leaf tensors reachable from ``root``, each after every tensor that uses it
    (root first). Iterative depth-first search: a chain of 100,000 ops is fine."""
    if root._node is None:
        return []
    post: list[Tensor] = []
    seen = {id(root)}
    stack = [(root, iter(root._node.inputs))]
    while stack:
        tensor, pending = stack[-1]
        for parent in pending:
            if parent is not None and parent._node is not None and id(parent) not in seen:
                seen.add(id(parent))
                stack.append((parent, iter(parent._node.inputs)))
                break
        else:
            stack.pop()
            post.append(tensor)
    post.reverse()
    return post


def _initial_gradient(root: Tensor, grad: Any) -> np.ndarray:
    if grad is None:
        if root.data.size != 1:
            raise BackwardError(
                f"backward() on a tensor of shape {root.data.shape} needs an explicit gradient "
                f"of that shape (only a single-element output has the implicit gradient 1)"
            )
        return np.ones_like(root.data)
    array = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=root.data.dtype)
    if array.shape != root.data.shape:
        raise BackwardError(
            f"backward() was given a gradient of shape {array.shape} for a tensor of shape "
            f"{root.data.shape}"
        )
    return array


def backward(root: Tensor, grad: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf), contracted with ``grad``, into every leaf's ``.grad``."""
    if not root.requires_grad:
        raise BackwardError(
            "backward() on a tensor that does not require grad: no input of the computation "
            "had requires_grad=True (or it ran under no_grad())"
        )
    seed = _initial_gradient(root, grad)
    if root._node is None:
        _accumulate_leaf(root, seed)
        return
    cotangents: dict[int, np.ndarray] = {id(root): seed}
    for tensor in topological_order(root):
        g = cotangents.pop(id(tensor), None)
        if g is None:
            continue
        node = tensor._node
        assert node is not None
        for parent, cot in zip(node.inputs, _input_cotangents(node, g)):
            if parent is None or cot is None:
                continue
            if parent._node is None:
                _accumulate_leaf(parent, cot)
            else:
                key = id(parent)
                held = cotangents.get(key)
                cotangents[key] = cot if held is None else held + cot
        if not retain_graph:
            node.release()


def _input_cotangents(node: Node, g: np.ndarray) -> tuple[Any, ...]:
    op = node.op
    if node.released:
        raise BackwardError(
            f"backward through op {op.name!r} a second time, but its residuals were released "
            f"after the first backward; pass retain_graph=True to the first backward() call"
        )
    try:
        cots = op.vjp(g, node.residuals, **node.attrs)
    except BackwardError:
        raise
    except Exception as exc:
        raise BackwardError(
            f"vjp of op {op.name!r} failed for an output cotangent of shape {g.shape}: {exc}"
        ) from exc
    if not isinstance(cots, (tuple, list)) or len(cots) != len(node.inputs):
        count = len(cots) if isinstance(cots, (tuple, list)) else type(cots).__name__
        raise BackwardError(
            f"vjp of op {op.name!r} returned {count} cotangent(s) for "
            f"{len(node.inputs)} input(s); it must return one per input (None where not "
            f"differentiable)"
        )
    return tuple(_checked(op, i, parent, cot) for i, (parent, cot) in enumerate(zip(node.inputs, cots)))


def _checked(op: Any, index: int, parent: Tensor | None, cot: Any) -> Any:
    if parent is None:
        return None
    if cot is None:
        if index in op.nondiff:
            return None
        raise BackwardError(
            f"vjp of op {op.name!r} returned None for input {index}, which requires grad and is "
            f"not declared non-differentiable"
        )
    if not isinstance(cot, (np.ndarray, np.generic)):
        raise BackwardError(
            f"vjp of op {op.name!r} returned a {type(cot).__name__} for input {index}; "
            f"cotangents are NumPy arrays"
        )
    shape = parent.data.shape
    if op.broadcasts and cot.shape != shape:
        try:
            cot = unbroadcast(cot, shape)
        except ValueError as exc:
            raise BackwardError(f"vjp of op {op.name!r}, input {index}: {exc}") from None
    if cot.shape != shape or cot.dtype != parent.data.dtype:
        raise BackwardError(
            f"vjp of op {op.name!r} returned a cotangent of shape {cot.shape} {cot.dtype} for "
            f"input {index} of shape {shape} {parent.data.dtype}"
        )
    return cot


def _accumulate_leaf(leaf: Tensor, cot: np.ndarray) -> None:
    # The first gradient is copied: the array may be shared with another leaf or the caller.
    leaf.grad = np.array(cot) if leaf.grad is None else leaf.grad + cot
