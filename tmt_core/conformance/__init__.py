"""The conformance suite: does an op keep the contract the engine relies on?

The conformance checklist (docs/op-plugins.md lists it), one check per item (``CHECKS``), run
on every declared sample::

    >>> from tmt_core import conformance
    >>> conformance.assert_conforms("mul")          # raises AssertionError with a report
    >>> results = conformance.check_op(my_op)       # list[CheckResult], registered or not
    >>> results = conformance.run(plugin="tmt-extra-ops")   # the ops of one plugin

``tmt conformance`` runs it from the command line; ``tmt_core.conformance.testing`` holds
the pytest base class plugin authors inherit.
"""

from __future__ import annotations

from .checks import CHECKS, Check, check_names
from .results import CheckResult, failures, format_results, summary_line
from .runner import assert_conforms, check_op, run
from .selection import load_plugin, select_entries

__all__ = [
    "check_op",
    "assert_conforms",
    "run",
    "CheckResult",
    "CHECKS",
    "Check",
    "check_names",
    "failures",
    "format_results",
    "summary_line",
    "select_entries",
    "load_plugin",
]
