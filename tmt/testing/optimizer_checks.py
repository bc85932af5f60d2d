"""Checks an optimizer plugin must pass, as plain functions (usable from a notebook).

``factory(params) -> Optimizer`` builds the optimizer under test with the hyper-parameters its
author wants checked. Gradients are set by hand from a known convex quadratic,
``f(p) = ½ Σ a (p - t)²`` with ``∇f = a (p - t)``, so the checks need no op plugin: they test
the optimizer, not the autodiff engine.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tmt_core import Tensor

__all__ = [
    "Quadratic",
    "check_optimizer",
    "check_lowers_convex_quadratic",
    "check_skips_parameters_without_grad",
    "check_zero_grad_clears",
    "check_state_dict_round_trip",
    "check_update_by_slices",
]

OptimizerFactory = Callable[[list[Tensor]], Any]


@dataclass
class Quadratic:
    """``f(p) = ½ Σ a (p - t)²`` over a few float32 parameters of different shapes."""

    curvature: list[np.ndarray]
    target: list[np.ndarray]
    start: list[np.ndarray]

    @classmethod
    def make(cls, seed: int = 0) -> Quadratic:
        rng = np.random.default_rng(seed)
        shapes = [(4, 3), (3,), (2, 1, 2)]
        draw = lambda low, high: [rng.uniform(low, high, s).astype(np.float32) for s in shapes]
        return cls(curvature=draw(0.5, 2.0), target=draw(-1.0, 1.0), start=draw(-3.0, 3.0))

    def parameters(self) -> list[Tensor]:
        return [Tensor(s.copy(), requires_grad=True) for s in self.start]

    def value(self, params: list[Tensor]) -> float:
        return float(sum(0.5 * np.sum(a * (p.data - t) ** 2)
                         for p, a, t in zip(params, self.curvature, self.target)))

    def set_gradients(self, params: list[Tensor]) -> None:
        for p, a, t in zip(params, self.curvature, self.target):
            p.grad = a * (p.data - t)  # ∇ ½ a (p - t)² = a (p - t)


def _describe(optimizer: Any) -> str:
    return f"optimizer {getattr(optimizer, 'name', type(optimizer).__name__)!r} ({optimizer!r})"


def _train(optimizer: Any, params: list[Tensor], problem: Quadratic, steps: int) -> None:
    for _ in range(steps):
        optimizer.zero_grad()
        problem.set_gradients(params)
        optimizer.step()


def check_lowers_convex_quadratic(factory: OptimizerFactory, steps: int = 100) -> None:
    """100 steps on a convex quadratic lower it by at least 10%, stay finite and float32."""
    problem = Quadratic.make()
    params = problem.parameters()
    optimizer = factory(params)
    before = problem.value(params)
    _train(optimizer, params, problem, steps)
    after = problem.value(params)
    assert np.isfinite(after), f"{_describe(optimizer)} diverged: loss {before:.4g} -> {after}"
    assert after < 0.9 * before, (
        f"{_describe(optimizer)} did not lower a convex quadratic in {steps} steps: loss "
        f"{before:.4g} -> {after:.4g} (is the learning rate in the factory large enough?)"
    )
    for index, (param, start) in enumerate(zip(params, problem.start)):
        assert param.data.dtype == np.float32 and param.data.shape == start.shape, (
            f"{_describe(optimizer)} turned parameter {index} from float32 {start.shape} "
            f"into {param.data.dtype} {param.data.shape}"
        )


def check_skips_parameters_without_grad(factory: OptimizerFactory) -> None:
    """A parameter whose ``.grad`` is None is left exactly as it was (frozen layers)."""
    problem = Quadratic.make()
    params = problem.parameters()
    optimizer = factory(params)
    for _ in range(3):
        problem.set_gradients(params)
        params[1].grad = None
        optimizer.step()
    assert np.array_equal(params[1].data, problem.start[1]), (
        f"{_describe(optimizer)} changed a parameter that has no gradient: "
        f"{problem.start[1]} -> {params[1].data}"
    )
    assert not np.array_equal(params[0].data, problem.start[0]), (
        f"{_describe(optimizer)} did not move a parameter that has a gradient"
    )


def check_zero_grad_clears(factory: OptimizerFactory) -> None:
    """After ``zero_grad()`` every gradient is None or all zeros."""
    problem = Quadratic.make()
    params = problem.parameters()
    optimizer = factory(params)
    problem.set_gradients(params)
    optimizer.zero_grad()
    for index, param in enumerate(params):
        assert param.grad is None or not np.any(param.grad), (
            f"{_describe(optimizer)}.zero_grad() left parameter {index}'s gradient {param.grad}"
        )


def check_state_dict_round_trip(factory: OptimizerFactory, steps: int = 5) -> None:
    """A fresh optimizer loaded with a (deep-copied) ``state_dict()`` takes exactly the steps
    the original takes: momentum buffers, moments and step counts all come back."""
    problem = Quadratic.make()
    original_params = problem.parameters()
    original = factory(original_params)
    _train(original, original_params, problem, steps)
    saved = copy.deepcopy(original.state_dict())
    restored_params = [Tensor(p.data.copy(), requires_grad=True) for p in original_params]
    restored = factory(restored_params)
    restored.load_state_dict(saved)
    _train(original, original_params, problem, steps)
    _train(restored, restored_params, problem, steps)
    for index, (a, b) in enumerate(zip(original_params, restored_params)):
        assert np.allclose(a.data, b.data, rtol=1e-6, atol=1e-7), (
            f"{_describe(original)}: after load_state_dict() parameter {index} follows another "
            f"path (largest difference {np.max(np.abs(a.data - b.data)):.3g} after {steps} "
            f"steps); state_dict() misses part of the state"
        )


def check_update_by_slices(factory: OptimizerFactory, steps: int = 5) -> None:
    """An optimizer that says ``shard_across_processes = True`` takes the steps it takes whole
    when two processes' gradients are summed and each parameter is updated in two slices, each
    with its own state, as ``fit(..., processes=2)`` does (tmt_nn.training.sharding). Others
    are not checked: their step runs whole."""
    from tmt_nn.errors import TrainingProcessError
    from tmt_nn.training.sharding import STATE_SLOTS, ShardedStep, wants_sharded_step  # what fit uses

    problem = Quadratic.make()
    whole_params, sliced_params = problem.parameters(), problem.parameters()
    whole, sliced = factory(whole_params), factory(sliced_params)
    if not wants_sharded_step(whole):
        return
    shared = [p.data for p in sliced_params]
    memory = dict(  # what the processes share; the hyper-parameters are never sent here
        names=[f"parameter {index}" for index in range(len(shared))],
        stepped=list(range(len(shared))),
        shared=shared,
        sums=[np.zeros_like(a) for a in shared],
        gradients=[[np.zeros_like(a) for a in shared] for _ in range(2)],
        flags=[np.zeros(len(shared), np.int8) for _ in range(2)],
        slots=[[np.zeros_like(a) for _ in range(STATE_SLOTS)] for a in shared],
        hyper=memoryview(bytearray(1 << 14)),
    )
    ranks = [ShardedStep(optimizer, 2, **memory) for optimizer in (sliced, copy.deepcopy(sliced))]
    for _ in range(steps):
        _train(whole, whole_params, problem, 1)
        problem.set_gradients(sliced_params)
        halves = [p.grad / 2 for p in sliced_params]  # each process's share: they add up exactly
        try:
            for rank, step in enumerate(ranks):
                step.publish(rank, halves.__getitem__)
            for rank, step in enumerate(ranks):
                step.update(rank, halves.__getitem__)
        except TrainingProcessError as error:
            raise AssertionError(f"{_describe(whole)}: {error}") from None
    for index, (a, b) in enumerate(zip(whole_params, sliced_params)):
        assert np.allclose(a.data, b.data, rtol=1e-6, atol=1e-7), (
            f"{_describe(whole)} says shard_across_processes = True, but updated in two slices "
            f"parameter {index} follows another path than whole (largest difference "
            f"{np.max(np.abs(a.data - b.data)):.3g} after {steps} steps): its update is not "
            f"elementwise; set shard_across_processes = False"
        )
    for index, (a, b) in enumerate(zip(whole.state_dict()["state"], sliced.state_dict()["state"])):
        same = a.keys() == b.keys() and all(
            np.allclose(a[key], b[key], rtol=1e-6, atol=1e-7) if isinstance(a[key], np.ndarray) else a[key] == b[key]
            for key in a
        )
        assert same, (
            f"{_describe(whole)} says shard_across_processes = True, but updated in two slices "
            f"its state of parameter {index} ends other than whole: {sorted(b)} against {sorted(a)}"
        )


def check_optimizer(factory: OptimizerFactory) -> None:
    """Every optimizer check; raises AssertionError naming the first one that fails."""
    check_lowers_convex_quadratic(factory)
    check_skips_parameters_without_grad(factory)
    check_zero_grad_clears(factory)
    check_state_dict_round_trip(factory)
    check_update_by_slices(factory)
