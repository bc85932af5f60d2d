"""tmt_core defines no op: with no op plugin loaded it still imports and works, and asking for
an op is a clear OpNotFoundError."""

from __future__ import annotations

from importlib import metadata

import numpy as np
import pytest

import tmt_core as tc
from tmt_core import OpNotFoundError, Tensor, plugins


@pytest.fixture
def no_plugins_at_all(monkeypatch):
    """No entry point is visible, not even tmt's own default plugins."""
    monkeypatch.setenv("TMT_LOAD_PLUGINS", "")
    monkeypatch.setattr(metadata, "entry_points", lambda **selection: [])
    plugins.reset()
    yield
    monkeypatch.undo()
    plugins.reset()


def test_the_core_registers_no_op(no_plugins_at_all):
    assert tc.op_names() == []
    assert plugins.plugin_infos() == []
    assert "add" not in tc.ops


def test_calling_an_op_is_a_clear_error(no_plugins_at_all):
    with pytest.raises(OpNotFoundError, match=r"no op named 'add'.*Available: \(none\)"):
        Tensor([1.0]) + 1.0
    with pytest.raises(OpNotFoundError, match="no op named 'mul'"):
        tc.ops.mul


def test_tensors_and_the_engine_work_without_ops(no_plugins_at_all):
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    x.backward(np.array([0.5, 0.5], dtype=np.float32))
    np.testing.assert_array_equal(x.grad, [0.5, 0.5])
    assert x.detach().requires_grad is False
    with tc.no_grad():
        assert not tc.is_grad_enabled()


def test_ops_come_back_with_the_plugins(no_plugins_at_all, monkeypatch):
    monkeypatch.undo()
    monkeypatch.setenv("TMT_LOAD_PLUGINS", "")
    plugins.reset()
    assert "add" in tc.ops
