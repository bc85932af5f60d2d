"""The conformance suite passes on the example plugin and fails on a deliberately broken copy
of it: one vjp with a flipped sign, one op whose broadcasting is no longer undone. The
copies are real plugins, registered by hand and removed after the test."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tmt_core import plugins
from tmt_core.conformance import check_op, failures, run

PLUGIN_SOURCE = Path(__file__).resolve().parents[1] / "plugins" / "tmt-extra-ops" / "tmt_extra_ops" / "__init__.py"

FLIP_SIGN = (
    "return (g * _sigmoid(x),)  # d log(1+eˣ)/dx",
    "return (-g * _sigmoid(x),)  # d log(1+eˣ)/dx",
)
NO_BROADCAST = (  # maximum only (minimum comes from the same factory and stays sound)
    'maximum = _selection_op("maximum", np.maximum, np.greater)  # 1 for the larger input\n',
    'maximum = _selection_op("maximum", np.maximum, np.greater)\n'
    "maximum.broadcasts = False  # the engine no longer sums the cotangents back\n",
)


def load_copy(directory: Path, module_name: str, prefix: str, edits=()) -> ModuleType:
    """The plugin's source with ``edits`` applied and its ops renamed ``prefix.*`` (so the
    copy can sit beside the original), imported as ``module_name``."""
    source = PLUGIN_SOURCE.read_text(encoding="utf-8")
    for old, new in edits:
        assert source.count(old) == 1, f"the plugin source changed: {old!r} not found once"
        source = source.replace(old, new)
    source = source.replace('"extra.', f'"{prefix}.')
    path = directory / f"{module_name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def register():
    """Register a module as a plugin for the test only."""
    names = []

    def add(module: ModuleType, name: str) -> None:
        plugins.register(module, name=name)
        names.append(name)

    yield add
    for name in names:
        plugins.unregister(name)


def test_the_original_plugin_conforms(tmp_path):
    original = load_copy(tmp_path, "tmt_extra_ops_original", "extra")
    results = [r for op in original.OPS for r in check_op(op)]
    assert failures(results) == []
    assert {r.op for r in results} == {f"extra.{n}" for n in ("softplus", "leaky_relu", "gelu", "logsumexp", "maximum", "minimum")}


def test_an_unmodified_copy_registered_as_a_plugin_passes(tmp_path, register):
    register(load_copy(tmp_path, "tmt_extra_ops_pristine", "pristine"), name="pristine_extra")
    results = run(plugin="pristine_extra")
    assert len({r.op for r in results}) == 6
    assert failures(results) == []


def test_the_broken_copy_fails_on_exactly_the_broken_ops(tmp_path, register):
    broken = load_copy(tmp_path, "tmt_extra_ops_broken", "broken", edits=[FLIP_SIGN, NO_BROADCAST])
    register(broken, name="broken_extra")
    results = run(plugin="broken_extra")
    assert len({r.op for r in results}) == 6
    bad = failures(results)
    assert {r.op for r in bad} == {"broken.softplus", "broken.maximum"}
    softplus_checks = {r.check for r in bad if r.op == "broken.softplus"}
    assert softplus_checks >= {"finite_differences.direction", "finite_differences.jacobian"}
    maximum_messages = " ".join(r.message for r in bad if r.op == "broken.maximum" and r.check == "dtypes")
    assert "broadcasts=False" in maximum_messages


def test_the_broken_copy_is_gone_after_unregistering(tmp_path):
    broken = load_copy(tmp_path, "tmt_extra_ops_broken2", "broken2", edits=[FLIP_SIGN])
    plugins.register(broken, name="broken2_extra")
    assert any(not r.ok for r in run(plugin="broken2_extra", op="broken2.softplus"))
    plugins.unregister("broken2_extra")
    with pytest.raises(LookupError, match="broken2_extra"):
        run(plugin="broken2_extra")
