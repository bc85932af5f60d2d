"""Base test classes for plugin authors, in the pattern of pandas' extension tests: inherit
one, override its fixtures, and pytest runs every check against your plugin::

    from tmt.testing import OptimizerPluginTests

    class TestLion(OptimizerPluginTests):
        @pytest.fixture
        def optimizer_factory(self):
            return lambda params: Lion(params, lr=0.05)

The base classes are not collected on their own (they do not start with ``Test`` and carry
``__test__ = False``); a subclass is collected as usual.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

from . import dataset_checks, optimizer_checks, reporter_checks

__all__ = ["PluginTests", "OptimizerPluginTests", "DatasetPluginTests", "ReporterPluginTests"]


class PluginTests:
    """Common base: not collected itself; every subclass is (unless it says otherwise)."""

    __test__ = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__test__" not in cls.__dict__:
            cls.__test__ = True


def _override(fixture: str, returns: str) -> None:
    pytest.fail(f"override the fixture {fixture!r} in your test class: it returns {returns}",
                pytrace=False)


# ---------------------------------------------------------------------------- optimizers


class OptimizerPluginTests(PluginTests):
    """Override ``optimizer_factory``: a callable ``(params) -> Optimizer`` with the
    hyper-parameters you want checked (it must lower a quadratic in 100 steps)."""

    __test__ = False  # collected only through a subclass

    @pytest.fixture
    def optimizer_factory(self) -> Callable[[list[Any]], Any]:
        _override("optimizer_factory", "a callable (params) -> Optimizer")

    def test_lowers_convex_quadratic(self, optimizer_factory: Any) -> None:
        optimizer_checks.check_lowers_convex_quadratic(optimizer_factory)

    def test_skips_parameters_without_grad(self, optimizer_factory: Any) -> None:
        optimizer_checks.check_skips_parameters_without_grad(optimizer_factory)

    def test_zero_grad_clears(self, optimizer_factory: Any) -> None:
        optimizer_checks.check_zero_grad_clears(optimizer_factory)

    def test_state_dict_round_trip(self, optimizer_factory: Any) -> None:
        optimizer_checks.check_state_dict_round_trip(optimizer_factory)


# ---------------------------------------------------------------------------- datasets


class DatasetPluginTests(PluginTests):
    """Override ``dataset_loader`` (the callable your plugin registers) and, when needed,
    ``dataset_options`` (keywords for the loader, e.g. a local folder), ``dataset_value_range``
    (default ``(0.0, 1.0)``) and ``dataset_num_classes`` (default: inferred from the labels)."""

    __test__ = False  # collected only through a subclass

    @pytest.fixture
    def dataset_loader(self) -> Callable[..., Any]:
        _override("dataset_loader", "the loader your plugin registers")

    @pytest.fixture
    def dataset_options(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def dataset_value_range(self) -> tuple[float, float]:
        return (0.0, 1.0)

    @pytest.fixture
    def dataset_num_classes(self) -> int | None:
        return None

    @pytest.fixture
    def dataset_splits(self, dataset_loader: Any, dataset_options: dict[str, Any]) -> Any:
        return dataset_checks.load_splits(dataset_loader, dataset_options)

    def test_shapes(self, dataset_splits: Any) -> None:
        dataset_checks.check_dataset_shapes(dataset_splits)

    def test_dtypes(self, dataset_splits: Any) -> None:
        dataset_checks.check_dataset_dtypes(dataset_splits, input_dtype=np.float32)

    def test_values(self, dataset_splits: Any, dataset_value_range: Any,
                    dataset_num_classes: Any) -> None:
        dataset_checks.check_dataset_values(
            dataset_splits, value_range=dataset_value_range, num_classes=dataset_num_classes
        )

    def test_same_order_for_same_seed(self, dataset_loader: Any,
                                      dataset_options: dict[str, Any]) -> None:
        dataset_checks.check_dataset_deterministic(dataset_loader, dataset_options)


# ---------------------------------------------------------------------------- reporters


class ReporterPluginTests(PluginTests):
    """Override ``reporter_factory``: a callable ``() -> Reporter``. Each test plays a fake run
    through every event the training loop sends."""

    __test__ = False  # collected only through a subclass

    @pytest.fixture
    def reporter_factory(self) -> Callable[[], Any]:
        _override("reporter_factory", "a callable () -> Reporter")

    def test_is_named_reporter(self, reporter_factory: Any) -> None:
        reporter_checks.check_reporter_is_named(reporter_factory)

    def test_full_run(self, reporter_factory: Any) -> None:
        reporter_checks.check_reporter_full_run(reporter_factory)

    def test_failed_run(self, reporter_factory: Any) -> None:
        reporter_checks.check_reporter_failed_run(reporter_factory)

    def test_interrupted_run(self, reporter_factory: Any) -> None:
        reporter_checks.check_reporter_interrupted_run(reporter_factory)

    def test_empty_metrics(self, reporter_factory: Any) -> None:
        reporter_checks.check_reporter_empty_metrics(reporter_factory)

    def test_unusual_values(self, reporter_factory: Any) -> None:
        reporter_checks.check_reporter_unusual_values(reporter_factory)

    def test_end_without_begin(self, reporter_factory: Any) -> None:
        reporter_checks.check_reporter_end_without_begin(reporter_factory)

    def test_two_runs(self, reporter_factory: Any) -> None:
        reporter_checks.check_reporter_two_runs(reporter_factory)
