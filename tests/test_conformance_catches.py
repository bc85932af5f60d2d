"""The conformance suite must fail on wrong ops and pass on their correct versions. Each wrong
op below carries one classic vjp bug; the test asserts which check catches it."""

from __future__ import annotations

import numpy as np
import pytest

from tmt_core.conformance import assert_conforms, check_op, failures
from tmt_core.extend import Convention, Sample, binary_samples, defop, unary_samples


def failing(op) -> set[str]:
    """Names of the checks (first part: 'isolation', not 'isolation.aliasing') that failed."""
    return {r.check.split(".")[0] for r in failures(check_op(op))}


def statuses(op, check: str) -> set[str]:
    return {r.status for r in check_op(op) if r.check == check or r.check.startswith(check + ".")}


# ---------------------------------------------------------------------------- broadcasting


def make_add(name, *, broadcasts, vjp, samples=binary_samples(), xfail=None):
    op = defop(name, broadcasts=broadcasts, samples=samples, reference=np.add, xfail=xfail)(
        lambda a, b: (a + b, None)
    )
    op.defvjp(vjp)
    return op


def add_vjp(g, res):
    return g.copy(), g.copy()  # d(a+b)/da = d(a+b)/db = 1


def test_missing_broadcast_sum_fails_shape_checks():
    # declared broadcasts=False, so nobody sums the (3,4) cotangent back to a (3,1) input
    op = make_add("bad.add_nosum", broadcasts=False, vjp=add_vjp)
    assert "dtypes" in failing(op)
    assert "finite_differences" in failing(op)
    messages = " ".join(r.message for r in failures(check_op(op)) if r.check == "dtypes")
    assert "broadcasts=False" in messages and "(3, 1)" in messages


def test_broadcasting_add_passes():
    assert failing(make_add("good.add", broadcasts=True, vjp=add_vjp)) == set()


def test_add_returning_g_twice_fails_aliasing_only():
    op = make_add("bad.add_alias", broadcasts=True, vjp=lambda g, res: (g, g))
    assert failing(op) == {"isolation"}
    bad = failures(check_op(op))
    assert {r.check for r in bad} == {"isolation.aliasing"}
    assert "shares memory with the incoming cotangent" in bad[0].message


def test_missing_broadcasting_samples_fail_coverage():
    same_shape_only = lambda rng: [Sample(rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))]
    op = make_add("bad.add_samples", broadcasts=True, vjp=add_vjp, samples=same_shape_only)
    bad = {r.check for r in failures(check_op(op))}
    assert bad == {"broadcasting.scalar", "broadcasting.outer", "broadcasting.rank"}


def test_vjp_summing_the_wrong_axis_fails_through_the_engine():
    def vjp(g, res):  # sums every axis to a scalar: right shape for a scalar input only
        return g.copy(), np.full(g.shape[-1:], g.sum())

    op = make_add("bad.add_axis", broadcasts=True, vjp=vjp)
    assert {"finite_differences", "broadcasting"} <= failing(op)


# ---------------------------------------------------------------------------- wrong vjp math


def make_mul(name, vjp):
    op = defop(name, broadcasts=True, samples=binary_samples(), reference=np.multiply)(
        lambda a, b: (a * b, (a, b))
    )
    op.defvjp(vjp)
    return op


def test_wrong_sign_fails_finite_differences():
    op = make_mul("bad.mul_sign", lambda g, res: (g * res[1], -g * res[0]))
    assert failing(op) == {"finite_differences", "broadcasting"}


def test_wrong_factor_fails_finite_differences():
    op = make_mul("bad.mul_factor", lambda g, res: (2 * g * res[1], g * res[0]))
    assert "finite_differences" in failing(op)
    message = next(r.message for r in failures(check_op(op)) if r.check == "finite_differences.jacobian")
    assert "finite differences give" in message and "the vjp gives" in message


def test_correct_mul_passes():
    assert failing(make_mul("good.mul", lambda g, res: (g * res[1], g * res[0]))) == set()


def square_samples(rng):
    n = rng.standard_normal
    return [Sample(n((3, 3)), n((3, 3)), name="square"), Sample(n((2, 3)), n((3, 4)), name="wide")]


def make_matmul(name, vjp, samples=square_samples):
    op = defop(name, samples=samples, reference=np.matmul)(lambda a, b: (a @ b, (a, b)))
    op.defvjp(vjp)
    return op


def test_transposed_matmul_cotangent_fails():
    # dA = (G Bᵀ)ᵀ instead of G Bᵀ: the right shape on square matrices, the wrong values
    only_square = lambda rng: square_samples(rng)[:1]
    op = make_matmul("bad.matmul_t", lambda g, res: ((g @ res[1].T).T, res[0].T @ g), only_square)
    assert failing(op) == {"finite_differences"}


def test_correct_matmul_passes():
    assert failing(make_matmul("good.matmul", lambda g, res: (g @ res[1].T, res[0].T @ g))) == set()


def make_sin(name, vjp, conventions=()):
    op = defop(name, samples=unary_samples(), reference=np.sin, conventions=conventions)(
        lambda x: (np.sin(x), x)
    )
    op.defvjp(vjp)
    return op


def test_vjp_ignoring_the_cotangent_fails_linearity():
    op = make_sin("bad.sin_ignores_g", lambda g, x: (np.cos(x),))
    assert {"linearity", "finite_differences"} <= failing(op)


def test_correct_sin_passes():
    assert_conforms(make_sin("good.sin", lambda g, x: (g * np.cos(x),)))


def make_max_last_axis(name, pick):
    def samples(rng):
        return [Sample(rng.permutation(12).reshape(3, 4) + rng.uniform(0, 0.1, (3, 4)), name="distinct")]

    op = defop(name, samples=samples, reference=lambda x: x.max(axis=-1))(lambda x: (x.max(axis=-1), x))

    @op.defvjp
    def vjp(g, x):  # the gradient goes to the chosen element of each row
        out = np.zeros_like(x)
        np.put_along_axis(out, pick(x)[:, None], g[:, None], axis=-1)
        return (out,)

    return op


def test_max_routing_to_the_wrong_element_fails():
    assert "finite_differences" in failing(make_max_last_axis("bad.max_argmin", lambda x: x.argmin(-1)))
    assert failing(make_max_last_axis("good.max", lambda x: x.argmax(-1))) == set()


# ---------------------------------------------------------------------------- mutation


def test_forward_mutating_its_input_fails():
    op = defop("bad.exp_inplace", samples=unary_samples(), reference=np.exp)(
        lambda x: (np.exp(x, out=x), x)
    )
    op.defvjp(lambda g, out: (g * out,))
    assert "isolation" in failing(op)
    mutation = [r for r in failures(check_op(op)) if r.check == "isolation.mutation"]
    assert mutation and "the forward modified input 0" in mutation[0].message


def test_vjp_mutating_the_cotangent_fails():
    def vjp(g, x):
        g *= 2  # d(2x)/dx = 2, but computed in g's own memory
        return (g,)

    op = defop("bad.double_inplace", samples=unary_samples(), reference=lambda x: 2 * x)(
        lambda x: (2 * x, None)
    )
    op.defvjp(vjp)
    bad = {r.check: r.message for r in failures(check_op(op))}
    assert "the vjp modified the incoming cotangent g" in bad["isolation.mutation"]
    assert "isolation.aliasing" in bad


def test_vjp_mutating_its_residuals_fails():
    def vjp(g, x):
        np.cos(x, out=x)  # reuses the residual's memory
        return (g * x,)

    op = make_sin("bad.sin_residual", vjp)
    assert "the vjp modified residuals" in " ".join(r.message for r in failures(check_op(op)))


def test_vjp_returning_an_array_the_graph_still_holds_fails_aliasing():
    def vjp(g, x):
        np.multiply(g, np.cos(x), out=x)  # the cotangent written over the residual, returned
        return (x,)

    op = make_sin("bad.sin_residual_returned", vjp)
    bad = {r.check: r.message for r in failures(check_op(op))}
    assert "shares memory with residuals" in bad["isolation.aliasing"]


# ---------------------------------------------------------------------------- expected failures


def test_xfail_that_passes_is_an_xpass_and_a_failure():
    op = make_sin("bad.sin_stale_xfail", lambda g, x: (g * np.cos(x),))
    op.xfail = {"linearity": "thought to be broken"}
    assert statuses(op, "linearity") == {"xpass"}
    with pytest.raises(AssertionError, match="xpass"):
        assert_conforms(op)


def test_xfail_that_fails_is_reported_not_counted():
    op = make_sin("ok.sin_known_bug", lambda g, x: (2 * np.cos(x),))
    op.xfail = {"linearity": "known bug", "finite_differences": "known bug"}
    assert statuses(op, "linearity") == {"xfail"}
    assert failing(op) == set()


def test_xfail_for_one_sample_only():
    op = make_sin("ok.sin_scalar_bug", lambda g, x: (g * np.cos(x) + (x.ndim == 0),))
    op.xfail = {"finite_differences[scalar]": "scalar path is off by one", "linearity[scalar]": "same"}
    assert failing(op) == set()
    assert statuses(op, "finite_differences") == {"pass", "xfail"}


def test_xfail_naming_no_check_fails():
    op = make_sin("bad.sin_typo", lambda g, x: (g * np.cos(x),))
    op.xfail = {"linerity": "typo"}
    assert failing(op) == {"xfail"}


# ---------------------------------------------------------------------------- other checklist items


def test_op_without_samples_fails_registration():
    op = defop("bad.nosamples")(lambda x: (x, None))
    op.defvjp(lambda g, res: (g.copy(),))
    results = check_op(op)
    assert [(r.check, r.status) for r in results] == [("registration", "fail")]
    assert "declares no samples" in results[0].message


def test_op_without_vjp_fails_registration():
    op = defop("bad.novjp", samples=unary_samples())(lambda x: (x, None))
    assert failing(op) == {"registration"}


def test_wrong_number_of_cotangents_fails_vjp_slots():
    op = make_add("bad.add_one_slot", broadcasts=True, vjp=lambda g, res: (g.copy(),))
    bad = failures(check_op(op))
    assert {r.check for r in bad} == {"vjp_slots"}
    assert "returned 1 cotangent(s) for 2 array input(s)" in bad[0].message


def test_float64_upcast_fails_dtypes():
    op = defop("bad.scale64", samples=unary_samples(), reference=lambda x: x * 3)(
        lambda x: (x * np.float64(3.0), None)  # a NumPy float64 scalar upcasts float32 arrays
    )
    op.defvjp(lambda g, res: (g * 3,))
    bad = {r.check: r.message for r in failures(check_op(op))}
    assert set(bad) == {"dtypes"}
    assert "float32 inputs gave a float64 output" in bad["dtypes"]


def test_reference_mismatch_fails():
    op = make_sin("bad.sin_ref", lambda g, x: (g * np.cos(x),))
    op.reference = np.cos
    assert failing(op) == {"reference"}


def test_violated_convention_fails():
    relu_at_zero = Convention((np.array([-1.0, 0.0, 2.0]),), np.ones(3), (np.array([0.0, 0.0, 1.0]),), rule="relu'(0) = 0")
    samples = unary_samples(lambda rng, shape: rng.standard_normal(shape) + 0.1 * np.sign(rng.standard_normal(shape)))
    op = defop("bad.relu_kink", samples=samples, conventions=[relu_at_zero])(lambda x: (np.maximum(x, 0), x))
    op.defvjp(lambda g, x: (g * (x >= 0),))  # relu'(0) = 1: not what the op documents
    bad = [r for r in failures(check_op(op))]
    assert [(r.check, r.sample) for r in bad] == [("conventions", "convention: relu'(0) = 0")]


def test_layout_dependent_forward_fails_determinism():
    def samples(rng):
        return [Sample(rng.standard_normal((3, 4)), name="matrix")]

    op = defop("bad.ravel_k", samples=samples)(lambda x: (x.ravel(order="K"), x.shape))
    op.defvjp(lambda g, shape: (g.reshape(shape).copy(),))
    bad = {r.check for r in failures(check_op(op))}
    assert "determinism.transposed" in bad


def test_nondeterministic_forward_fails_determinism():
    noise = np.random.default_rng(1)
    op = defop("bad.noisy", samples=unary_samples())(lambda x: (x + noise.normal(size=x.shape) * 1e-3, None))
    op.defvjp(lambda g, res: (g.copy(),))
    assert "determinism" in failing(op)


def test_attribute_coverage():
    def forward(x, axis=None, keepdims=False):
        return np.sum(x, axis=axis, keepdims=keepdims), x.shape

    def vjp(g, shape, axis=None, keepdims=False):
        kept = g if keepdims or axis is None else np.expand_dims(g, axis)
        return (np.broadcast_to(kept, shape).copy(),)  # d(Σx)/dxᵢ = 1

    narrow = defop("bad.sum_axis_none", samples=lambda rng: [Sample(rng.standard_normal((3, 4)))])(forward)
    narrow.defvjp(vjp)
    message = next(r.message for r in failures(check_op(narrow)) if r.check == "attributes")
    assert "axis=0" in message and "keepdims" in message

    def full_samples(rng):
        x = rng.standard_normal((3, 4))
        return [Sample(x), Sample(x, axis=0), Sample(x, axis=-1, keepdims=True)]

    wide = defop("good.sum", samples=full_samples, reference=np.sum)(forward)
    wide.defvjp(vjp)
    assert failing(wide) == set()


def test_op_raising_in_its_forward_fails_with_the_error():
    op = defop("bad.raises", samples=unary_samples())(lambda x: (np.linalg.inv(x), None))
    op.defvjp(lambda g, res: (g.copy(),))
    bad = failures(check_op(op))
    assert {r.check for r in bad} == {"vjp_slots"}
    assert all("the forward raised LinAlgError" in r.message for r in bad)


def test_labels_are_not_differentiated_nor_cast():
    seen = []

    def forward(x, labels):
        seen.append(labels.dtype)
        picked = x[np.arange(len(labels)), labels]
        return picked, (x.shape, labels)

    def vjp(g, res):
        shape, labels = res
        gx = np.zeros(shape, dtype=g.dtype)
        gx[np.arange(len(labels)), labels] = g  # d x[i, yᵢ] / d x = one-hot
        return gx, None

    samples = lambda rng: [Sample(rng.standard_normal((4, 3)), np.array([0, 2, 1, 2]), name="labels")]
    op = defop("good.pick", nondiff=(1,), samples=samples)(forward)
    op.defvjp(vjp)
    assert failing(op) == set()
    assert set(seen) == {np.dtype(np.int64)}


def test_assert_conforms_report_is_readable():
    op = make_mul("bad.mul_report", lambda g, res: (g * res[1], -g * res[0]))
    with pytest.raises(AssertionError) as caught:
        assert_conforms(op)
    text = str(caught.value)
    assert text.startswith("op 'bad.mul_report' does not conform")
    assert "FAIL" in text and "finite_differences.direction" in text and "failed" in text
