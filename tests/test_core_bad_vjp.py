"""The engine catches a broken vjp with the op's name and the shapes, never a bare traceback.

Each case registers a throwaway op plugin whose vjp is wrong in one way.
"""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
from tmt_core import BackwardError, Tensor, plugins
from tmt_core.extend import Sample, defop, hookimpl

F32 = np.float32


@pytest.fixture
def op_plugin(monkeypatch):
    """``op_plugin(*ops)`` registers the ops as one plugin; removed after the test."""
    monkeypatch.setenv("TMT_LOAD_PLUGINS", "")
    monkeypatch.delenv("TMT_STRICT_PLUGINS", raising=False)
    names = []

    def install(*ops):
        class Plugin:
            @hookimpl
            def register_ops(self, register):
                for op in ops:
                    register(op)

        names.append(plugins.register(Plugin(), name=f"test-bad-vjp-{len(names)}"))

    yield install
    for name in names:
        plugins.unregister(name)


def unary(name, vjp, **declared):
    @defop(name, samples=[Sample(np.ones(3))], **declared)
    def forward(x):
        return x * 2, None

    forward.defvjp(vjp)
    return forward


def binary(name, vjp, **declared):
    @defop(name, samples=[Sample(np.ones((2, 3)), np.ones((2, 3)))], **declared)
    def forward(a, b):
        return a * b, (a, b)

    forward.defvjp(vjp)
    return forward


def run_backward(name, *shapes):
    inputs = [Tensor(np.ones(s, dtype=F32), requires_grad=True) for s in shapes]
    out = tc.ops[name](*inputs)
    out.backward(np.ones(out.shape, dtype=F32))


def test_wrong_number_of_cotangents(op_plugin):
    op_plugin(unary("test.two_for_one", lambda g, res: (2 * g, 2 * g)))
    with pytest.raises(BackwardError, match=r"'test\.two_for_one'.*returned 2 .*1 input.*\(3,\)"):
        run_backward("test.two_for_one", (3,))


def test_a_bare_array_instead_of_a_tuple(op_plugin):
    op_plugin(unary("test.bare", lambda g, res: 2 * g))
    with pytest.raises(BackwardError, match=r"'test\.bare'.*ndarray.*\(3,\)"):
        run_backward("test.bare", (3,))


def test_wrong_shape(op_plugin):
    op_plugin(unary("test.wrong_shape", lambda g, res: (np.ones(4, dtype=g.dtype),)))
    with pytest.raises(BackwardError, match=r"'test\.wrong_shape'.*\(3,\).*\(4,\)"):
        run_backward("test.wrong_shape", (3,))


def test_wrong_dtype(op_plugin):
    op_plugin(unary("test.wrong_dtype", lambda g, res: ((2 * g).astype(np.float64),)))
    with pytest.raises(BackwardError, match=r"'test\.wrong_dtype'.*\(3,\) float32.*float64"):
        run_backward("test.wrong_dtype", (3,))


def test_python_float(op_plugin):
    op_plugin(unary("test.py_float", lambda g, res: (2.0,)))
    with pytest.raises(BackwardError, match=r"'test\.py_float'.*\(3,\).*returned a float"):
        run_backward("test.py_float", (3,))


def test_none_for_a_differentiable_input(op_plugin):
    op_plugin(binary("test.none_grad", lambda g, res: (g * res[1], None)))
    with pytest.raises(BackwardError, match=r"'test\.none_grad'.*input 1 of shape \(2, 3\).*None"):
        run_backward("test.none_grad", (2, 3), (2, 3))


def test_none_for_a_declared_non_differentiable_input_is_fine(op_plugin):
    op_plugin(binary("test.nondiff", lambda g, res: (g * res[1], None), nondiff=(1,)))
    a = Tensor(np.full((2, 3), 2.0, dtype=F32), requires_grad=True)
    b = Tensor(np.full((2, 3), 5.0, dtype=F32), requires_grad=True)
    tc.ops["test.nondiff"](a, b).backward(np.ones((2, 3), dtype=F32))
    np.testing.assert_array_equal(a.grad, np.full((2, 3), 5.0))
    assert b.grad is None


def test_vjp_that_raises(op_plugin):
    def vjp(g, res):
        raise IndexError("tuple index out of range")

    op_plugin(unary("test.raises", vjp))
    with pytest.raises(BackwardError, match=r"'test\.raises'.*\(3,\).*IndexError"):
        run_backward("test.raises", (3,))


def test_a_transposed_cotangent_is_not_taken_for_broadcasting(op_plugin):
    # A broadcasting op's cotangent of shape (3, 2) for a (2, 3) input is a bug, not a
    # broadcast: it must not be summed or reshaped into place.
    op_plugin(binary("test.transposed", lambda g, res: (g.T * 1, g * res[0]), broadcasts=True))
    with pytest.raises(BackwardError, match=r"'test\.transposed'.*\(2, 3\).*\(3, 2\)"):
        run_backward("test.transposed", (2, 3), (2, 3))


def test_a_non_broadcasting_op_gets_no_broadcast_sum(op_plugin):
    # Only ops declared broadcasts=True have their cotangents summed back.
    op_plugin(binary("test.no_sum", lambda g, res: (g * res[1], np.ones((4, 2, 3), F32))))
    expected = r"'test\.no_sum'.*input 1 of shape \(2, 3\).*\(4, 2, 3\)"
    with pytest.raises(BackwardError, match=expected):
        run_backward("test.no_sum", (2, 3), (2, 3))


def test_a_numpy_scalar_cotangent_for_a_0d_input_is_accepted(op_plugin):
    op_plugin(unary("test.scalar", lambda g, res: (np.float32(2.0) * g[()],)))
    x = Tensor(np.float32(1.5), requires_grad=True)
    tc.ops["test.scalar"](x).backward()
    assert isinstance(x.grad, np.ndarray) and x.grad == 2.0


@pytest.mark.parametrize(
    "vjp",
    [
        lambda g, res: (g, g * 2),  # hands back the cotangent it was given
        lambda g, res: (2 * g,) * 2,  # one array for both inputs
        lambda g, res: (g.reshape(g.shape), g * 2),  # a view of the cotangent
    ],
    ids=["g itself", "one array twice", "a view of g"],
)
def test_leaf_grads_of_a_careless_vjp_share_no_memory(op_plugin, vjp):
    op_plugin(binary("test.careless", vjp))
    a, b = (Tensor(np.ones((2, 3), dtype=F32), requires_grad=True) for _ in range(2))
    g = np.full((2, 3), 3.0, dtype=F32)
    tc.ops["test.careless"](a, b).backward(g)
    assert not np.shares_memory(a.grad, b.grad)
    assert not np.shares_memory(a.grad, g) and not np.shares_memory(b.grad, g)
