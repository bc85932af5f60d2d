"""Every declared sample of every built-in op family (arithmetic, reduction, shape, conv, loss),
checked through the whole of tmt: the forward against the op's reference, the gradient through
``Tensor.backward`` against finite differences, float32 in and out, and a vjp that leaves what
it is given alone. The family files (tests/test_ops_*.py) hold what is particular to each."""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
from tmt_ops import arithmetic, conv, loss, reduction, shape

from gradcheck import assert_vjp_leaves_its_inputs_alone, assert_vjp_matches_finite_differences, sample_params

CASES = sample_params(op for family in (arithmetic, reduction, shape, conv, loss) for op in family.OPS)


@pytest.mark.parametrize("op, sample", CASES)
def test_forward_matches_reference(op, sample):
    out, _ = op.forward(*sample.args, **sample.attrs)
    np.testing.assert_allclose(out, op.reference(*sample.args, **sample.attrs), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op, sample", CASES)
def test_gradient_matches_finite_differences(op, sample):
    assert_vjp_matches_finite_differences(op, sample.args, sample.attrs, np.random.default_rng(1), atol=1e-7)


@pytest.mark.parametrize("op, sample", CASES)
def test_float32_in_float32_out_and_gradients(op, sample):
    inputs = [
        a if i in op.nondiff else tc.Tensor(np.asarray(a, dtype=np.float32), requires_grad=True)
        for i, a in enumerate(sample.args)
    ]
    out = op(*inputs, **sample.attrs)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, dtype=np.float32))
    for t in inputs:
        if isinstance(t, tc.Tensor):
            assert t.grad.dtype == np.float32 and t.grad.shape == t.shape and np.all(np.isfinite(t.grad))


@pytest.mark.parametrize("op, sample", CASES)
def test_nothing_is_mutated_and_cotangents_do_not_alias(op, sample):
    assert_vjp_leaves_its_inputs_alone(op, sample.args, sample.attrs, np.random.default_rng(2))
