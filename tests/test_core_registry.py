"""The op registry: validation at registration, name conflicts, overrides, close-name lookups."""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
from tmt_core import OpNotFoundError, PluginLoadError, Tensor, plugins
from tmt_core.extend import Sample, defop, hookimpl
from tmt_core.registry import OPS


@pytest.fixture
def fresh(monkeypatch, capsys):
    """Built-ins only, loaded before the test so their stderr lines are not the test's."""
    monkeypatch.setenv("TMT_LOAD_PLUGINS", "")
    monkeypatch.delenv("TMT_STRICT_PLUGINS", raising=False)
    plugins.reset()
    assert "mul" in tc.ops
    capsys.readouterr()
    yield
    plugins.reset()


def make_op(name, vjp=True, samples=True):
    @defop(name, samples=[Sample(np.ones(3))] if samples else None)
    def forward(x):
        return x * 2, None

    if vjp:
        forward.defvjp(lambda g, res: (2 * g,))  # d(2x)/dx = 2
    return forward


def install(name, *ops, override=False):
    class Plugin:
        @hookimpl
        def register_ops(self, register):
            for op in ops:
                register(op, override=override)

    return plugins.register(Plugin(), name=name)


def lines_naming(text, word):
    return [line for line in text.splitlines() if word in line]


BAD_OPS = {
    "no vjp": (lambda: make_op("test.bad", vjp=False), "has no vjp"),
    "no samples": (lambda: make_op("test.bad", samples=False), "declares no samples"),
    "not an Op": (lambda: (lambda x: x), "expected a tmt_core.extend.Op"),
}


def install_bad(kind):
    build, _ = BAD_OPS[kind]
    value = build()

    class Plugin:
        @hookimpl
        def register_ops(self, register):
            register(value, name="test.bad")

    return plugins.register(Plugin(), name="test-bad-plugin")


@pytest.mark.parametrize("kind", list(BAD_OPS))
def test_an_invalid_op_fails_its_plugin_with_one_line(fresh, capsys, kind):
    install_bad(kind)
    expected = BAD_OPS[kind][1]
    failed = rf"test\.bad.*test-bad-plugin failed to load.*{expected}"
    with pytest.raises(OpNotFoundError, match=failed):
        tc.ops["test.bad"]
    info = plugins.plugin_info("test-bad-plugin")
    assert info.status == "failed"
    assert "'test.bad'" in info.error and expected in info.error
    lines = lines_naming(capsys.readouterr().err, "test-bad-plugin")
    assert len(lines) == 1
    assert "'test.bad'" in lines[0] and expected in lines[0]
    assert "unregister('test-bad-plugin')" in lines[0]  # how to remove it
    np.testing.assert_array_equal((Tensor([1.0]) * 3.0).data, [3.0])  # everything else works


@pytest.mark.parametrize("kind", list(BAD_OPS))
def test_an_invalid_op_raises_in_strict_mode(fresh, monkeypatch, kind):
    monkeypatch.setenv("TMT_STRICT_PLUGINS", "1")
    install_bad(kind)
    with pytest.raises(PluginLoadError, match=rf"test-bad-plugin.*'test\.bad'.*{BAD_OPS[kind][1]}"):
        tc.ops["test.bad"]


def test_a_failed_plugin_leaves_none_of_its_ops_behind(fresh):
    good, bad = make_op("test.good"), make_op("test.partial", vjp=False)
    install("test-half-plugin", good, bad)
    assert "test.good" not in tc.ops
    install("test-other-plugin", make_op("test.other"))  # the registry is rebuilt
    assert "test.good" not in tc.ops
    assert "test.other" in tc.ops


def test_register_without_a_name(fresh, capsys):
    class Plugin:
        @hookimpl
        def register_ops(self, register):
            register(object())

    plugins.register(Plugin(), name="test-nameless")
    assert "mul" in tc.ops
    assert "without a name" in plugins.plugin_info("test-nameless").error


# ------------------------------------------------------------------------------ conflicts


def test_two_plugins_registering_one_name(fresh, capsys):
    first, second = make_op("test.dup"), make_op("test.dup")
    install("test-dup-a", first)
    install("test-dup-b", second)
    assert tc.ops["test.dup"] is first
    lines = lines_naming(capsys.readouterr().err, "test.dup")
    assert len(lines) == 1
    assert "test-dup-a" in lines[0] and "test-dup-b" in lines[0]
    assert "override=True" in lines[0]
    info = plugins.plugin_info("test-dup-b")
    assert info.status == "loaded" and len(info.problems) == 1
    install("test-unrelated", make_op("test.unrelated"))  # a rebuild does not repeat it
    assert "test.unrelated" in tc.ops
    assert lines_naming(capsys.readouterr().err, "test.dup") == []


def test_override_replaces_on_purpose(fresh, capsys):
    first, second = make_op("test.dup"), make_op("test.dup")
    install("test-dup-a", first)
    name = install("test-dup-b", second, override=True)
    assert tc.ops["test.dup"] is second
    assert OPS.entry("test.dup").provider.name == "test-dup-b"
    assert capsys.readouterr().err == ""
    plugins.unregister(name)
    assert tc.ops["test.dup"] is first  # the cached op is dropped with the plugin


def test_a_third_party_cannot_silently_replace_a_built_in(fresh, capsys):
    builtin_mul = tc.ops.mul
    install("test-shadow", make_op("mul"))
    assert tc.ops.mul is builtin_mul
    lines = lines_naming(capsys.readouterr().err, "test-shadow")
    assert len(lines) == 1 and "arithmetic (tiny-micro-torch" in lines[0]


def test_a_conflict_raises_in_strict_mode(fresh, monkeypatch):
    monkeypatch.setenv("TMT_STRICT_PLUGINS", "1")
    install("test-dup-a", make_op("test.dup"))
    install("test-dup-b", make_op("test.dup"))
    with pytest.raises(PluginLoadError, match=r"test-dup-b.*'test\.dup'.*test-dup-a"):
        tc.ops["test.dup"]


# ------------------------------------------------------------------------------ lookups


def test_an_unknown_op_lists_close_names(fresh):
    with pytest.raises(OpNotFoundError, match=r"no op named 'mull'; did you mean .*mul") as caught:
        tc.ops.mull
    assert "matmul" in str(caught.value)
    assert isinstance(caught.value, AttributeError) and isinstance(caught.value, LookupError)
    assert not hasattr(tc.ops, "mull")
    assert "mull" not in tc.ops
    with pytest.raises(OpNotFoundError, match="did you mean"):
        tc.get_op("mull")
    with pytest.raises(OpNotFoundError, match="did you mean"):
        tc.ops["mull"]


def test_ops_by_attribute_by_name_and_by_function(fresh):
    assert tc.ops.mul is tc.ops["mul"] is tc.get_op("mul")
    assert "mul" in tc.op_names() and "mul" in dir(tc.ops)
    assert OPS.entry("mul").provider.name == "arithmetic"
    out = tc.ops.mul(Tensor([1.0, 2.0]), 3.0)
    np.testing.assert_array_equal(out.data, [3.0, 6.0])
    info = plugins.plugin_info("arithmetic")
    assert info.default and "mul" in info.provides["op"]


def test_a_module_object_is_a_plugin_too(fresh):
    import types

    module = types.ModuleType("tmt_test_module_plugin")
    op = make_op("test.from_module")

    @hookimpl
    def register_ops(register):
        register(op)

    module.register_ops = register_ops
    name = plugins.register(module)
    assert name == "tmt_test_module_plugin"
    assert tc.ops["test.from_module"] is op
    assert plugins.plugin_info(name).provides == {"op": ["test.from_module"]}
    plugins.unregister(name)
    assert "test.from_module" not in tc.ops
