"""Gradient checks the op-family tests (tests/test_ops_*.py) share: one pytest case per
declared sample, an op's gradients taken through the whole of tmt (tensors, dispatch, the
engine, the op's vjp) against central finite differences in float64, and a vjp that leaves
what it is given alone.

The finite differences are the conformance suite's own (``tmt_core.conformance.numeric``), so
these tests and ``tmt conformance`` measure every vjp with one yardstick. Unlike the conformance
checks, which call ``op.vjp`` directly, the gradients here go through ``Tensor.backward``.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pytest

import tmt_core as tc
from tmt_core.conformance.calling import cast_floats, differentiable
from tmt_core.conformance.numeric import numeric_vjp
from tmt_core.op import Op

Arrays = Sequence[Any]  # a sample's array inputs (a 0-d one may be an np.float64 scalar)
Attrs = dict[str, Any]


def sample_params(ops: Iterable[Op]) -> list[Any]:
    """One ``pytest.param(op, sample)`` per declared sample, for
    ``@pytest.mark.parametrize("op, sample", ...)``."""
    return [
        pytest.param(op, sample, id=f"{op.name}: {sample.describe()}")
        for op in ops
        for sample in op.sample_list(np.random.default_rng(0))
    ]


def float64_args(arrays: Arrays) -> tuple[np.ndarray, ...]:
    """Fresh arrays, float data in float64; integer inputs such as class labels stay integers."""
    return cast_floats(tuple(np.asarray(a) for a in arrays), np.float64)


def finite_difference_vjp(op: Op, arrays: Arrays, attrs: Attrs, g: np.ndarray) -> list[np.ndarray | None]:
    """d<g, op(*arrays)>/d(array) for every differentiable array (None for the others)."""
    args = float64_args(arrays)
    grads = numeric_vjp(lambda xs: op.forward(*xs, **attrs)[0], args, differentiable(op, args), g)
    return [grads.get(i) for i in range(len(args))]


def tmt_vjp(op: Op, arrays: Arrays, attrs: Attrs, g: np.ndarray) -> list[np.ndarray | None]:
    """The same gradients through tmt; inputs that take no gradient go in as plain arrays and
    get None."""
    args = float64_args(arrays)
    wanted = differentiable(op, args)
    inputs = [
        tc.Tensor(a, requires_grad=True, dtype=np.float64) if i in wanted else a
        for i, a in enumerate(args)
    ]
    op(*inputs, **attrs).backward(g)
    return [t.grad if i in wanted else None for i, t in enumerate(inputs)]


def assert_vjp_matches_finite_differences(
    op: Op, arrays: Arrays, attrs: Attrs, rng: np.random.Generator, rtol: float = 1e-6, atol: float = 1e-8
) -> None:
    """For a random cotangent g: one gradient per input, each equal to finite differences
    (None where none is owed)."""
    g = rng.standard_normal(np.shape(op.forward(*float64_args(arrays), **attrs)[0]))
    got = tmt_vjp(op, arrays, attrs, g)
    expected = finite_difference_vjp(op, arrays, attrs, g)
    assert len(got) == len(arrays)
    for i, (got_one, want) in enumerate(zip(got, expected)):
        if want is None:
            assert got_one is None
        else:
            np.testing.assert_allclose(got_one, want, rtol=rtol, atol=atol, err_msg=f"op '{op.name}', input {i}")


def assert_vjp_leaves_its_inputs_alone(op: Op, arrays: Arrays, attrs: Attrs, rng: np.random.Generator) -> None:
    """Forward, then the vjp of a random cotangent g: one cotangent per input, each fresh (no
    memory shared with g or another cotangent) in its input's shape and dtype (or, for an op
    declared ``broadcasts=True``, in a shape the engine sums back down to it), None only where
    declared nondiff; the inputs and g come back unchanged."""
    args = [np.array(a) for a in arrays]
    out, residuals = op.forward(*args, **attrs)
    g = np.asarray(rng.standard_normal(np.shape(out)))
    g_before = g.copy()
    cots = op.vjp(g, residuals, **attrs)
    assert len(cots) == len(args)
    present = [(i, cot) for i, cot in enumerate(cots) if cot is not None]
    for n, (i, cot) in enumerate(present):
        shape_ok = cot.shape == args[i].shape or (op.broadcasts and np.broadcast_shapes(cot.shape, args[i].shape) == cot.shape)
        assert shape_ok and cot.dtype == args[i].dtype, f"op '{op.name}', input {i}: {cot.shape} {cot.dtype}"
        assert not np.shares_memory(cot, g), "a cotangent is a view of the incoming g"
        for _, other in present[n + 1 :]:
            assert not np.shares_memory(cot, other), "two cotangents share memory"
    missing = [i for i, cot in enumerate(cots) if cot is None and i not in op.nondiff]
    assert not missing, f"op '{op.name}': None for differentiable input(s) {missing}"
    np.testing.assert_array_equal(g, g_before)
    for arg, original in zip(args, arrays):
        np.testing.assert_array_equal(arg, original)
