"""The conformance suite over every built-in op, found through the registry: each op and
each check is its own test (``TestBuiltinOps::test_conformance[matmul-finite_differences]``).
Op families that land later are picked up with no change here."""

from __future__ import annotations

from tmt_core.conformance import check_names, run
from tmt_core.conformance.testing import OpConformanceTests
from tmt_core.registry import OPS


def builtin_ops():
    """Ops of tmt's default plugins (the tests load no third-party plugin)."""
    return [entry.value for entry in OPS.entries() if entry.provider.default]


class TestBuiltinOps(OpConformanceTests):
    @classmethod
    def conformance_ops(cls):
        return builtin_ops()


def test_every_builtin_family_present_is_covered():
    names = {op.name for op in builtin_ops()}
    assert {"add", "sub", "mul", "div", "pow", "matmul", "exp", "log", "tanh", "relu", "sigmoid", "clip"} <= names


def test_run_over_the_registry_covers_every_check_of_every_op():
    results = run(op="add")
    assert {r.check.split(".")[0] for r in results} == set(check_names())
    assert all(r.ok for r in results)
