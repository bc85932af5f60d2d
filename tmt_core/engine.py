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
            made_by = f" (output of op {root.grad_fn!r})" if root.grad_fn else ""
            raise BackwardError(
                f"backward() on a tensor of shape {root.data.shape}{made_by} needs an explicit "
                f"gradient of that shape (only a single-element output has the implicit "
                f"gradient 1): call .backward(grad) or reduce it to a scalar first"
            )
        return np.ones_like(root.data)
    array = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=root.data.dtype)
    if array.shape != root.data.shape:
        raise BackwardError(
            f"backward() was given a gradient of shape {array.shape} for a tensor of shape "
            f"{root.data.shape}; they must be equal"
        )
    return array


def backward(root: Tensor, grad: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf), contracted with ``grad``, into every leaf's ``.grad``.

    The loop is the hot path of every training step: a cotangent of the expected type, shape
    and dtype costs three comparisons; anything else takes the slow path in :func:`_checked`.
    """
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
        cots = _vjp(node, g)
        for index, parent in enumerate(node.inputs):
            if parent is None:
                continue
            cot = cots[index]
            data = parent.data
            if (
                type(cot) is not np.ndarray
                or cot.shape != data.shape
                or cot.dtype is not data.dtype
            ):
                cot = _checked(node, index, parent, cot, g)
                if cot is None:
                    continue
            if parent._node is None:
                _accumulate_leaf(parent, cot, fresh=cot.base is None and cot is not g and _once(cot, cots))
            else:
                key = id(parent)
                held = cotangents.get(key)
                cotangents[key] = cot if held is None else held + cot
        if not retain_graph:
            node.release()


def _once(cot: np.ndarray, cots: tuple[Any, ...] | list[Any]) -> bool:
    return sum(other is cot for other in cots) == 1


def _vjp(node: Node, g: np.ndarray) -> tuple[Any, ...] | list[Any]:
    op = node.op
    if node.released:
        raise BackwardError(
            f"backward through op {op.name!r} a second time, but its residuals were released "
            f"after the first backward; pass retain_graph=True to the first backward() call"
        )
    try:
        if op.vjp_takes_needs:
            needs = tuple(parent is not None for parent in node.inputs)
            cots = op.vjp(g, node.residuals, needs=needs, **node.attrs)
        else:
            cots = op.vjp(g, node.residuals, **node.attrs)
    except BackwardError:
        raise
    except Exception as exc:
        raise BackwardError(
            f"vjp of op {op.name!r} failed for an output cotangent of shape {g.shape} "
            f"{g.dtype} and inputs {_input_shapes(node)}: {type(exc).__name__}: {exc}"
        ) from exc
    if (type(cots) is not tuple and type(cots) is not list) or len(cots) != len(node.inputs):
        if isinstance(cots, (tuple, list)):
            got = f"{len(cots)} cotangent(s)"
        else:
            got = f"a {type(cots).__name__} instead of a tuple of cotangents"
        raise BackwardError(
            f"vjp of op {op.name!r} returned {got} for {len(node.inputs)} input(s) "
            f"{_input_shapes(node)} (output cotangent of shape {g.shape}); it must return a "
            f"tuple with one cotangent per input (None where not differentiable)"
        )
    return cots


def _input_shapes(node: Node) -> str:
    """The inputs as the engine knows them: shapes of those that need a gradient."""
    return "[" + ", ".join(
        "constant" if t is None else f"{t.data.shape} {t.data.dtype}" for t in node.inputs
    ) + "]"


def _checked(node: Node, index: int, parent: Tensor, cot: Any, g: np.ndarray) -> np.ndarray | None:
    """The slow path of a cotangent: None, a NumPy scalar, a broadcast shape to sum back, or
    an error naming the op, the input and both shapes."""
    op = node.op
    shape, dtype = parent.data.shape, parent.data.dtype
    if isinstance(cot, np.generic):  # NumPy returns scalars for 0-d arithmetic
        cot = np.asarray(cot)
        if cot.shape == shape and cot.dtype is dtype:
            return cot
    if cot is not None and type(cot) is np.ndarray and op.broadcasts and cot.dtype is dtype:
        try:  # the common slow path (a bias): sum back without formatting any message
            return unbroadcast(cot, shape)
        except ValueError:
            pass
    where = (
        f"vjp of op {op.name!r}, input {index} of shape {shape} {dtype} "
        f"(output cotangent of shape {g.shape} {g.dtype})"
    )
    if cot is None:
        if index in op.nondiff:
            return None
        raise BackwardError(
            f"{where}: returned None, but this input requires grad and the op does not "
            f"declare it non-differentiable (nondiff={op.nondiff})"
        )
    if isinstance(cot, np.generic):
        cot = np.asarray(cot)
    if not isinstance(cot, np.ndarray):
        raise BackwardError(
            f"{where}: returned a {type(cot).__name__}; a cotangent is a NumPy array of the "
            f"input's shape and dtype"
        )
    if op.broadcasts and cot.shape != shape:
        try:
            cot = unbroadcast(cot, shape)
        except ValueError as exc:
            raise BackwardError(f"{where}: {exc}") from None
    if cot.shape != shape or cot.dtype != dtype:
        raise BackwardError(
            f"{where}: returned a cotangent of shape {cot.shape} {cot.dtype}; it must have "
            f"the input's shape and dtype"
        )
    return cot


def _accumulate_leaf(leaf: Tensor, cot: np.ndarray, fresh: bool = False) -> None:
    # The first gradient becomes .grad as it is only when it is ``fresh``: an array of its own
    # (not a view) that is neither the cotangent its vjp was given nor returned twice by it
    # (conformance item 9 checks that a vjp returns such arrays). Anything else is copied: it
    # may be shared with another leaf or the caller. Later gradients make a new array, never
    # add in place into an array the user may hold.
    held = leaf.grad
    if held is None:
        leaf.grad = cot if fresh else np.array(cot)
    else:
        total = held + cot
        # NumPy returns a scalar, not an array, for the sum of two 0-d arrays.
        leaf.grad = total if type(total) is np.ndarray else np.asarray(total)
