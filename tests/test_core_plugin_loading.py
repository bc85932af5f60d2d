"""Op plugins found through real entry points: a temporary ``*.dist-info`` on ``sys.path``."""

from __future__ import annotations

import itertools
import sys
import textwrap
from importlib import metadata

import numpy as np
import pytest

import tmt_core as tc
from tmt_core import OpNotFoundError, PluginLoadError, Tensor, plugins

_counter = itertools.count()

WORKING_PLUGIN = """
import numpy as np
from tmt_core.extend import Sample, defop, hookimpl

@defop("{op}", samples=[Sample(np.ones(3))])
def triple(x):
    return x * 3, None

@triple.defvjp
def triple_vjp(g, res):
    return (g * 3,)  # d(3x)/dx = 3

@hookimpl
def register_ops(register):
    register(triple)
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """``site(dist, version, entry=..., source=...)`` installs a one-module plugin
    distribution into a temporary directory on sys.path; returns its module name."""
    modules = []

    def install(dist, version, entry, source):
        module = f"tmt_test_plugin_{next(_counter)}"
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        info = tmp_path / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[tmt]\n{entry} = {module}\n")
        modules.append(module)
        return module

    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("TMT_STRICT_PLUGINS", raising=False)
    yield install
    for module in modules:
        sys.modules.pop(module, None)
    plugins.reset()


def load(monkeypatch, selection):
    monkeypatch.setenv("TMT_LOAD_PLUGINS", selection)
    plugins.reset()
    return tc.ops.mul  # first use of the registry: the entry points are scanned here


def lines_naming(text, word):
    return [line for line in text.splitlines() if word in line]


def test_a_plugin_that_raises_on_import_costs_one_line(site, monkeypatch, capsys):
    site("tmt-brokenplug", "1.2.3", "brokenplug", "raise RuntimeError('boom at import')")
    load(monkeypatch, "brokenplug")
    info = plugins.plugin_info("brokenplug")
    assert info.status == "failed" and "RuntimeError: boom at import" in info.error
    np.testing.assert_array_equal((Tensor([1.0, 2.0]) * 2.0 + 1.0).data, [3.0, 5.0])
    with pytest.raises(OpNotFoundError, match=r"brokenplug .*failed to load .*boom at import"):
        tc.ops["brokenplug.anything"]
    plugins.register(object(), name="test-rebuild")  # the registry is rebuilt: no new line
    assert "mul" in tc.ops
    lines = lines_naming(capsys.readouterr().err, "brokenplug")
    assert len(lines) == 1
    line = lines[0]
    for part in ("brokenplug", "tmt-brokenplug 1.2.3", "RuntimeError: boom at import",
                 "pip uninstall tmt-brokenplug", "TMT_LOAD_PLUGINS"):
        assert part in line


def test_the_remedy_says_how_to_skip_a_plugin_when_every_plugin_loads(site, monkeypatch, capsys):
    site("tmt-brokenplug", "1.2.3", "brokenplug", "raise RuntimeError('boom at import')")
    monkeypatch.delenv("TMT_LOAD_PLUGINS", raising=False)
    plugins.reset()
    assert "mul" in tc.ops
    (line,) = lines_naming(capsys.readouterr().err, "brokenplug")
    assert "pip uninstall tmt-brokenplug" in line
    assert "set TMT_LOAD_PLUGINS to the plugins to load" in line and "out of" not in line


def test_strict_mode_raises_the_import_error(site, monkeypatch):
    site("tmt-brokenplug", "1.2.3", "brokenplug", "raise RuntimeError('boom at import')")
    monkeypatch.setenv("TMT_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError, match=r"brokenplug.*1\.2\.3.*boom at import"):
        load(monkeypatch, "brokenplug")
    assert "mul" in tc.ops  # the scan finished before raising: the state is whole


def test_empty_selection_loads_no_third_party_plugin_but_every_built_in(site, monkeypatch, capsys):
    site("tmt-brokenplug", "1.2.3", "brokenplug", "raise RuntimeError('boom at import')")
    module = site("tmt-tripler", "0.1", "tripler", WORKING_PLUGIN.format(op="tripler.triple"))
    load(monkeypatch, "")
    assert plugins.plugin_info("brokenplug") is None
    assert plugins.plugin_info("tripler") is None
    assert module not in sys.modules
    assert "tripler.triple" not in tc.ops
    assert lines_naming(capsys.readouterr().err, "brokenplug") == []
    built_in = {
        e.name for e in metadata.entry_points(group="tmt")
        if e.dist is not None and e.dist.name == "tiny-micro-torch"
    }
    loaded = {info.name for info in plugins.plugin_infos() if info.default}
    assert built_in and built_in <= loaded
    assert plugins.plugin_info("arithmetic").status == "loaded"


@pytest.mark.parametrize("selection", ["tripler", "tmt-tripler", "tmt_tripler", "other, tripler"])
def test_a_plugin_is_selected_by_entry_point_or_distribution_name(site, monkeypatch, selection):
    site("tmt-tripler", "0.1", "tripler", WORKING_PLUGIN.format(op="tripler.triple"))
    load(monkeypatch, selection)
    x = Tensor([1.0, 2.0], requires_grad=True)
    tc.ops["tripler.triple"](x).backward(np.ones(2, dtype=np.float32))
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    info = plugins.plugin_info("tripler")
    assert (info.distribution, info.version, info.default) == ("tmt-tripler", "0.1", False)
    assert info.provides == {"op": ["tripler.triple"]}


def test_an_unselected_plugin_is_not_loaded(site, monkeypatch):
    site("tmt-tripler", "0.1", "tripler", WORKING_PLUGIN.format(op="tripler.triple"))
    load(monkeypatch, "something-else")
    assert "tripler.triple" not in tc.ops


def test_unset_selection_loads_every_installed_plugin(site, monkeypatch):
    site("tmt-tripler", "0.1", "tripler", WORKING_PLUGIN.format(op="tripler.triple"))
    monkeypatch.delenv("TMT_LOAD_PLUGINS")
    plugins.reset()
    assert "tripler.triple" in tc.ops


def test_a_plugin_found_first_on_sys_path_cannot_take_a_built_in_name(site, monkeypatch, capsys):
    # Entry point named like a built-in plugin, registering a built-in op name, without
    # override=True, and earlier on sys.path than tmt itself.
    site("tmt-shadow", "0.1", "arithmetic", WORKING_PLUGIN.format(op="mul"))
    mul = load(monkeypatch, "arithmetic")
    np.testing.assert_array_equal(mul(Tensor([2.0]), Tensor([5.0])).data, [10.0])
    from tmt_core.registry import OPS

    assert OPS.entry("mul").provider.distribution == "tiny-micro-torch"
    assert plugins.plugin_info("arithmetic").distribution == "tiny-micro-torch"
    shadow = plugins.plugin_info("tmt-shadow:arithmetic")
    assert shadow is not None and shadow.status == "loaded"
    lines = lines_naming(capsys.readouterr().err, "tmt-shadow")
    assert len(lines) == 1 and "'mul' is already registered by arithmetic" in lines[0]
