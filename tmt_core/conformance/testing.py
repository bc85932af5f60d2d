"""A pytest base class for op-plugin authors (the pandas extension-test pattern).

Inherit it, say which ops to check, and pytest runs every conformance check on each of them
as its own test (``test_conformance[extra.gelu-finite_differences]``)::

    from tmt_core.conformance.testing import OpConformanceTests

    class TestMyOps(OpConformanceTests):
        plugin = "tmt-myplugin"          # entry-point or distribution name

Instead of ``plugin``, set ``op_names = ("myplugin.softplus", ...)`` (registered ops) or
``ops = (softplus, ...)`` (Op objects, registered or not), or override the class method
``conformance_ops``. These are class attributes, not fixtures, because pytest needs the
list of ops when it collects the tests. The base class's name does not start with
``Test``, so pytest does not collect it on its own. Needs pytest (the ``dev`` extra).
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

import pytest

from ..op import Op
from ..registry import get_op
from .checks import check_names
from .results import FAILING, format_results
from .runner import check_op
from .selection import load_plugin, select_entries

__all__ = ["OpConformanceTests"]


class OpConformanceTests:
    """Base class: every conformance check of every selected op is one test."""

    plugin: ClassVar[str | None] = None
    op_names: ClassVar[Sequence[str]] = ()
    ops: ClassVar[Sequence[Op]] = ()
    seed: ClassVar[int] = 0

    @classmethod
    def conformance_ops(cls) -> list[Op]:
        """The ops to check. The plugin is loaded on purpose if TMT_LOAD_PLUGINS (which a
        test suite sets to keep installed plugins out) leaves it out."""
        chosen = list(cls.ops) + [get_op(name) for name in cls.op_names]
        if cls.plugin is not None:
            load_plugin(cls.plugin)
            chosen += [entry.value for entry in select_entries(plugin=cls.plugin)]
        if not chosen:
            raise TypeError(
                f"{cls.__name__} selects no op: set plugin = '...', op_names = (...) or ops = (...)"
            )
        return chosen

    def pytest_generate_tests(self, metafunc: Any) -> None:
        if "conformance_case" not in metafunc.fixturenames:
            return
        cases = [(op, check) for op in metafunc.cls.conformance_ops() for check in check_names()]
        metafunc.parametrize(
            "conformance_case", cases, ids=[f"{op.name}-{check}" for op, check in cases]
        )

    def test_conformance(self, conformance_case: tuple[Op, str]) -> None:
        op, check = conformance_case
        results = check_op(op, rng=self.seed, checks=[check])
        if not results:
            pytest.skip(f"{check} did not run: registration or vjp_slots failed (see those tests)")
        bad = [r for r in results if r.status in FAILING]
        if bad:
            pytest.fail(f"op {op.name!r}, check {check}:\n" + "\n".join(format_results(bad)), pytrace=False)
        statuses = {r.status for r in results}
        if statuses == {"skip"}:
            pytest.skip("; ".join(sorted({r.message for r in results})))
        if statuses == {"xfail"}:
            pytest.xfail("; ".join(sorted({r.message for r in results})))
