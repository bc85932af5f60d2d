"""Calling an op the way the engine does, on plain arrays, with the contract checked.

The suite never trusts an op: every call works on fresh copies of the sample, and a forward
or vjp that breaks the calling contract raises :class:`ContractError` with a message that
says what was expected and what came.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..broadcast import unbroadcast
from ..op import Op, Sample

__all__ = [
    "ContractError",
    "Case",
    "sample_arrays",
    "is_float",
    "differentiable",
    "cast_floats",
    "run_forward",
    "run_vjp",
    "pullback",
    "reduce_to_inputs",
    "shape_text",
]


class ContractError(Exception):
    """The op broke the forward/vjp calling contract; the message says how."""


@dataclass
class Case:
    """One sample of one op, ready for the per-sample checks (``args`` are never modified)."""

    op: Op
    sample: Sample
    index: int
    args: tuple[np.ndarray, ...]
    attrs: dict[str, Any]
    rng: np.random.Generator

    @property
    def label(self) -> str:
        return self.sample.describe()


def sample_arrays(sample: Sample) -> tuple[np.ndarray, ...]:
    """The sample's inputs as arrays. Float data is taken in float64 (finite differences need
    it); integer and bool arrays (labels, indices) stay as they are."""
    arrays = []
    for arg in sample.args:
        array = np.array(arg)  # a copy: the sample's own arrays are never handed to the op
        if array.dtype.kind == "f" and array.dtype != np.float64:
            array = array.astype(np.float64)
        arrays.append(array)
    return tuple(arrays)


def is_float(array: np.ndarray) -> bool:
    return array.dtype.kind == "f"


def differentiable(op: Op, args: tuple[np.ndarray, ...]) -> list[int]:
    """Inputs the vjp owes a cotangent: float arrays not declared ``nondiff``."""
    return [i for i, a in enumerate(args) if is_float(a) and i not in op.nondiff]


def cast_floats(args: tuple[np.ndarray, ...], dtype: Any) -> tuple[np.ndarray, ...]:
    return tuple(a.astype(dtype) if is_float(a) else a.copy() for a in args)


def shape_text(shape: tuple[int, ...]) -> str:
    return str(tuple(int(n) for n in shape))


def run_forward(op: Op, args: tuple[np.ndarray, ...], attrs: dict[str, Any]) -> tuple[np.ndarray, Any]:
    """``forward(*args, **attrs)``, which must return ``(output, residuals)``."""
    result = op.forward(*args, **attrs)
    if not isinstance(result, tuple) or len(result) != 2:
        got = f"a {type(result).__name__}"
        if isinstance(result, tuple):
            got += f" of length {len(result)}"
        raise ContractError(f"the forward must return (output, residuals); it returned {got}")
    out, residuals = result
    return np.asarray(out), residuals


def run_vjp(op: Op, g: np.ndarray, residuals: Any, attrs: dict[str, Any], count: int) -> tuple[Any, ...]:
    """``vjp(g, residuals, **attrs)``, which must return one slot per array input."""
    assert op.vjp is not None
    cots = op.vjp(g, residuals, **attrs)
    if not isinstance(cots, (tuple, list)):
        raise ContractError(
            f"the vjp must return a tuple with one cotangent per array input ({count}); "
            f"it returned a {type(cots).__name__}"
        )
    if len(cots) != count:
        raise ContractError(
            f"the vjp returned {len(cots)} cotangent(s) for {count} array input(s); it must "
            f"return one per input (None where declared non-differentiable)"
        )
    return tuple(cots)


def pullback(
    op: Op, args: tuple[np.ndarray, ...], attrs: dict[str, Any], g: np.ndarray
) -> tuple[np.ndarray, tuple[Any, ...]]:
    """A fresh forward on copies of ``args``, then the vjp of ``g`` (a copy too)."""
    out, residuals = run_forward(op, tuple(a.copy() for a in args), attrs)
    return out, run_vjp(op, g.copy(), residuals, attrs, len(args))


def reduce_to_inputs(
    op: Op, args: tuple[np.ndarray, ...], cots: tuple[Any, ...]
) -> list[np.ndarray | None]:
    """Each cotangent in its input's shape, summed back the way the engine does for an op
    declared ``broadcasts=True``; a shape the engine would reject raises ContractError."""
    reduced: list[np.ndarray | None] = []
    needed = differentiable(op, args)
    for i, (arg, cot) in enumerate(zip(args, cots)):
        if cot is None or i not in needed:
            reduced.append(None)
            continue
        cot = np.asarray(cot)
        if cot.shape != arg.shape and op.broadcasts:
            try:
                cot = unbroadcast(cot, arg.shape)
            except ValueError:
                pass  # reported just below with the shapes
        if cot.shape != arg.shape:
            why = (
                "it cannot be summed back to it"
                if op.broadcasts
                else "the op is declared broadcasts=False, so the engine does not sum it back"
            )
            raise ContractError(
                f"the vjp returned a cotangent of shape {shape_text(cot.shape)} for input {i} "
                f"of shape {shape_text(arg.shape)}; {why}"
            )
        reduced.append(cot)
    return reduced
