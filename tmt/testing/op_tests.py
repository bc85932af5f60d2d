"""The op part of the test kit: the conformance suite's base class and check, under the names
the other plugin kinds use. An op plugin's test suite::

    from tmt.testing import OpPluginTests

    class TestMyOps(OpPluginTests):
        plugin = "tmt-myplugin"      # or op_names = ("myplugin.softplus",), or ops = (softplus,)

runs every conformance check on every op of the plugin, one test each. In a notebook,
``check_op(op_or_name)`` raises AssertionError with a report when the op breaks the contract
(``tmt_core.conformance.check_op`` returns the results instead of raising).
"""

from __future__ import annotations

from typing import Any

from tmt_core.conformance import assert_conforms
from tmt_core.conformance.testing import OpConformanceTests

from .plugin_tests import PluginTests

__all__ = ["OpPluginTests", "check_op"]


class OpPluginTests(OpConformanceTests, PluginTests):
    """Every conformance check on every op the class selects (``plugin``, ``op_names``,
    ``ops``: class attributes, because pytest needs the ops when it collects)."""

    __test__ = False  # collected only through a subclass


def check_op(op_or_name: Any, rng: Any = None) -> None:
    """Run every conformance check on one op (an Op object or a registered name); raises
    AssertionError naming the op and every failing check."""
    assert_conforms(op_or_name, rng=rng)
