"""The test kit for plugin authors: one base test class per plugin kind, plus plain check
functions for a notebook.

In a pytest suite, inherit a base class and override its fixtures::

    import pytest
    from tmt.testing import ReporterPluginTests

    class TestMyReporter(ReporterPluginTests):
        @pytest.fixture
        def reporter_factory(self):
            return lambda: MyReporter(path="run.log")

In a notebook, call a check; it raises AssertionError naming what failed::

    from tmt.testing import check_optimizer
    check_optimizer(lambda params: Lion(params, lr=0.05))

| kind      | base class             | fixtures to override                  | check function    |
| --------- | ---------------------- | ------------------------------------- | ----------------- |
| op        | ``OpPluginTests``      | see ``tmt_core.conformance``          | ``check_op``      |
| optimizer | ``OptimizerPluginTests`` | ``optimizer_factory``               | ``check_optimizer`` |
| dataset   | ``DatasetPluginTests`` | ``dataset_loader`` (+ options, range) | ``check_dataset`` |
| reporter  | ``ReporterPluginTests`` | ``reporter_factory``                 | ``check_reporter`` |

``temporary_plugin(source, name=..., version=...)`` installs a throwaway plugin (a real entry
point) for the length of a ``with`` block, to test a plugin's loading without pip.

The base classes need pytest and are imported on first use, so the check functions work
where pytest is not installed.
"""

from __future__ import annotations

import importlib
from typing import Any

from .dataset_checks import check_dataset
from .optimizer_checks import check_optimizer
from .reporter_checks import check_reporter, fake_run
from .temporary import TemporaryPlugin, temporary_plugin

__all__ = [
    "OpPluginTests",
    "OptimizerPluginTests",
    "DatasetPluginTests",
    "ReporterPluginTests",
    "check_op",
    "check_optimizer",
    "check_dataset",
    "check_reporter",
    "fake_run",
    "temporary_plugin",
    "TemporaryPlugin",
]

# Public names that live in modules importing pytest or the conformance suite.
_LAZY = {
    "OptimizerPluginTests": "tmt.testing.plugin_tests",
    "DatasetPluginTests": "tmt.testing.plugin_tests",
    "ReporterPluginTests": "tmt.testing.plugin_tests",
    "OpPluginTests": "tmt.testing.op_tests",
    "check_op": "tmt.testing.op_tests",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tmt.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
