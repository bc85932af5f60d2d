"""Optimizers: construction errors, skipping parameters without gradients, state round trip,
the registry and lookups by name."""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
import tmt_optim
from tmt_core import plugins
from tmt_core.errors import NotFoundError
from tmt_optim import SGD, Adam, AdamW, Optimizer, OptimizerError

ALL = [
    (SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (Adam, {"lr": 0.01, "weight_decay": 0.1}),
    (AdamW, {"lr": 0.01}),
]


def parameters(seed=0):
    rng = np.random.default_rng(seed)
    return [
        tc.Tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True),
        tc.Tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True),
    ]


def gradients(step):
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)]


def run(optimizer, params, steps, first=0):
    for step in range(first, first + steps):
        for p, g in zip(params, gradients(step)):
            p.grad = g
        optimizer.step()


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_no_parameters_is_an_error(cls):
    kwargs = {"lr": 0.1}
    with pytest.raises(OptimizerError, match="optimizer got no parameters"):
        cls([], **kwargs)
    with pytest.raises(OptimizerError, match="optimizer got no parameters"):
        cls((p for p in []), **kwargs)


def test_a_generator_of_parameters_is_accepted_and_duplicates_count_once():
    params = parameters()
    optimizer = SGD((p for p in params + params), lr=0.1)
    assert optimizer.params == params


def test_bad_parameters_are_named():
    with pytest.raises(OptimizerError, match="got one tensor; wrap it in a list"):
        SGD(parameters()[0], lr=0.1)
    with pytest.raises(OptimizerError, match="parameter 0 .* must be a float tensor with requires_grad=True"):
        SGD([tc.Tensor(np.zeros(3))], lr=0.1)
    with pytest.raises(OptimizerError, match="parameter 1 is a ndarray"):
        SGD([parameters()[0], np.zeros(3)], lr=0.1)


def test_bad_hyperparameters_are_named():
    with pytest.raises(OptimizerError, match="SGD: lr must be >= 0, got -1"):
        SGD(parameters(), lr=-1)
    with pytest.raises(OptimizerError, match="nesterov=True needs a momentum"):
        SGD(parameters(), lr=0.1, nesterov=True)
    with pytest.raises(OptimizerError, match=r"Adam: betas\[1\] must be in \[0, 1\), got 1.0"):
        Adam(parameters(), betas=(0.9, 1.0))


@pytest.mark.parametrize("cls, kwargs", ALL)
def test_parameters_without_gradient_are_left_alone(cls, kwargs):
    params = parameters()
    frozen = params[1].data.copy()
    optimizer = cls(params, **kwargs)
    params[0].grad = gradients(0)[0]
    optimizer.step()
    np.testing.assert_array_equal(params[1].data, frozen)
    assert optimizer.state[1] == {}
    assert not np.array_equal(params[0].data, parameters()[0].data)


@pytest.mark.parametrize("cls, kwargs", ALL)
def test_updates_stay_float32_and_in_place(cls, kwargs):
    params = parameters()
    arrays = [p.data for p in params]
    optimizer = cls(params, **kwargs)
    run(optimizer, params, 3)
    for p, array in zip(params, arrays):
        assert p.data is array and p.data.dtype == np.float32
    for state in optimizer.state:
        for value in state.values():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32


@pytest.mark.parametrize("cls, kwargs", ALL)
def test_zero_grad_clears_gradients(cls, kwargs):
    params = parameters()
    optimizer = cls(params, **kwargs)
    run(optimizer, params, 1)
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)


@pytest.mark.parametrize("cls, kwargs", ALL)
def test_state_dict_round_trip_continues_identically(cls, kwargs):
    params = parameters()
    optimizer = cls(params, **kwargs)
    run(optimizer, params, 3)
    saved_state = optimizer.state_dict()
    saved_params = [p.data.copy() for p in params]
    run(optimizer, params, 2, first=3)
    expected = [p.data.copy() for p in params]

    restored_params = [tc.Tensor(a.copy(), requires_grad=True) for a in saved_params]
    restored = cls(restored_params, lr=123.0)
    restored.load_state_dict(saved_state)
    assert restored.hyperparameters == optimizer.hyperparameters
    run(restored, restored_params, 2, first=3)
    for p, e in zip(restored_params, expected):
        np.testing.assert_array_equal(p.data, e)


def test_state_dict_is_a_snapshot():
    params = parameters()
    optimizer = SGD(params, lr=0.1, momentum=0.9)
    run(optimizer, params, 1)
    saved = optimizer.state_dict()
    run(optimizer, params, 1, first=1)
    assert not np.array_equal(saved["state"][0]["momentum_buffer"], optimizer.state[0]["momentum_buffer"])
    assert saved["name"] == "sgd" and saved["hyperparameters"]["momentum"] == 0.9


def test_load_state_dict_checks_count_shapes_and_names():
    optimizer = Adam(parameters(), lr=0.01)
    run(optimizer, optimizer.params, 1)
    state = optimizer.state_dict()
    with pytest.raises(OptimizerError, match="holds 2 parameter"):
        Adam(parameters()[:1]).load_state_dict(state)
    bad = Adam([tc.Tensor(np.zeros((2, 2), np.float32), requires_grad=True), parameters()[1]])
    with pytest.raises(OptimizerError, match=r"state 'exp_avg' of parameter 0 has shape \(4, 3\)"):
        bad.load_state_dict(state)
    with pytest.raises(OptimizerError, match=r"unknown hyper-parameter\(s\) \['betas', 'eps'\]"):
        SGD(parameters(), lr=0.1).load_state_dict(state)


def test_learning_rate_can_be_changed_between_steps():
    params = parameters()
    optimizer = SGD(params, lr=0.1)
    optimizer.lr = 0.0
    before = [p.data.copy() for p in params]
    run(optimizer, params, 1)
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.data, b)
    assert optimizer.hyperparameters["lr"] == 0.0
    assert repr(optimizer) == "SGD(lr=0.0, momentum=0.0, nesterov=False, weight_decay=0.0)"


def test_minimises_a_convex_quadratic():
    target = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    for cls, kwargs in [(SGD, {"lr": 0.1, "momentum": 0.5}), (Adam, {"lr": 0.1}), (AdamW, {"lr": 0.1, "weight_decay": 0.0})]:
        x = tc.Tensor(np.zeros(3, np.float32), requires_grad=True)
        optimizer = cls([x], **kwargs)
        for _ in range(300):
            optimizer.zero_grad()
            ((x - target) * (x - target)).sum().backward()
            optimizer.step()
        np.testing.assert_allclose(x.data, target, atol=1e-2, err_msg=cls.__name__)


# ---------------------------------------------------------------------------- registry


def test_builtins_are_registered_by_name():
    assert {"sgd", "adam", "adamw"} <= set(tmt_optim.OPTIMIZERS.names())
    assert tmt_optim.get_optimizer("adamw") is AdamW
    optimizer = tmt_optim.create_optimizer("sgd", parameters(), lr=0.3, momentum=0.9)
    assert isinstance(optimizer, SGD) and optimizer.lr == 0.3
    with pytest.raises(TypeError, match="unexpected keyword argument 'name'"):
        tmt_optim.create_optimizer("sgd", parameters(), lr=0.1, name="x")  # reaches SGD itself
    assert tmt_optim.OPTIMIZERS.entry("sgd").provider.default


def test_unknown_optimizer_lists_close_and_available_names():
    with pytest.raises(NotFoundError, match=r"no optimizer named 'adma'; did you mean adam.*Available: .*sgd"):
        tmt_optim.get_optimizer("adma")


class Halve(Optimizer):
    name = "halve"

    def update(self, index, param, grad, state):
        param.data *= 0.5


class _Plugin:
    @plugins.hookimpl
    def register_optimizers(self, register):
        register(Halve)


class _BadPlugin:
    @plugins.hookimpl
    def register_optimizers(self, register):
        register(object, name="broken")


def test_a_plugin_optimizer_is_found_by_name_and_removed_after():
    name = plugins.register(_Plugin(), name="test-halve-plugin")
    try:
        params = parameters()
        optimizer = tmt_optim.create_optimizer("halve", params)
        expected = params[0].data * 0.5
        run(optimizer, params, 1)
        np.testing.assert_array_equal(params[0].data, expected)
        assert tmt_optim.OPTIMIZERS.entry("halve").provider.name == name
    finally:
        plugins.unregister(name)
    assert "halve" not in tmt_optim.OPTIMIZERS


def test_a_plugin_registering_a_non_optimizer_is_reported(capsys):
    name = plugins.register(_BadPlugin(), name="test-bad-optimizer-plugin")
    try:
        assert "broken" not in tmt_optim.OPTIMIZERS.names()
        assert "expected a subclass of tmt_optim.Optimizer" in capsys.readouterr().err
        assert "sgd" in tmt_optim.OPTIMIZERS
    finally:
        plugins.unregister(name)
