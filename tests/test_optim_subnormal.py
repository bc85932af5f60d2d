"""Running averages never linger among the subnormal floats, where x86 arithmetic is slow."""

from __future__ import annotations

import numpy as np
import pytest

import tmt_core as tc
from tmt_optim import SGD, Adam, AdamW
from tmt_optim.subnormal import FLUSH_EVERY, flush_subnormals


def _subnormal(a: np.ndarray) -> np.ndarray:
    return (a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flush_zeroes_subnormals_and_keeps_every_other_value(dtype):
    info = np.finfo(dtype)
    kept = np.array([0.0, info.tiny, -info.tiny, 1.0, -2.5, info.max, np.inf, -np.inf], dtype=dtype)
    gone = np.array([info.tiny / 2, -info.tiny / 3, info.smallest_subnormal, -info.smallest_subnormal], dtype=dtype)
    values = np.concatenate([kept, gone, [np.nan]]).astype(dtype)
    flush_subnormals(values, np.empty_like(values))
    np.testing.assert_array_equal(values[: len(kept)], kept)
    np.testing.assert_array_equal(values[len(kept) : -1], 0)
    assert np.isnan(values[-1])


def test_flush_leaves_other_dtypes_alone():
    values = np.array([1, 2, 3], dtype=np.int32)
    flush_subnormals(values, np.empty_like(values))
    np.testing.assert_array_equal(values, [1, 2, 3])


@pytest.mark.parametrize(
    "make, buffers",
    [
        (lambda ps: Adam(ps, lr=1e-3), ["exp_avg", "exp_avg_sq"]),
        (lambda ps: AdamW(ps, lr=1e-3), ["exp_avg", "exp_avg_sq"]),
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9), ["momentum_buffer"]),
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True), ["momentum_buffer"]),
    ],
    ids=["adam", "adamw", "sgd momentum", "sgd nesterov"],
)
def test_an_average_that_decays_to_zero_does_not_linger_among_the_subnormals(make, buffers):
    # A gradient of 1e-30 once, then 0 for good: β = 0.9 takes the average below 1.2e-38
    # in ~75 steps and, left alone, would keep it subnormal for ~150 more.
    param = tc.Tensor(np.ones(8, dtype=np.float32), requires_grad=True)
    optimizer = make([param])
    param.grad = np.full(8, 1e-30, dtype=np.float32)
    optimizer.step()
    streak = {name: np.zeros(8, dtype=int) for name in buffers}  # steps in a row subnormal
    longest = 0
    for _ in range(300):
        param.grad = np.zeros(8, dtype=np.float32)
        optimizer.step()
        for name in buffers:
            now = _subnormal(optimizer.state[0][name])
            streak[name] = np.where(now, streak[name] + 1, 0)
            longest = max(longest, int(streak[name].max()))
    assert 0 < longest < FLUSH_EVERY  # it did pass through them, briefly
    assert not any(optimizer.state[0][name].any() for name in buffers)  # and reached 0
    assert np.isfinite(param.data).all()


@pytest.mark.parametrize("eps", [0.0, 1e-30, 1e-8])
def test_adam_moves_every_weight_exactly_as_without_the_flush(eps, monkeypatch):
    # Gradients around 1e-20 make v subnormal while m is not: with a tiny ε, m/√v̂ is a whole
    # step, and zeroing v would turn it into m/ε (inf for ε = 0). Adam flushes only when ε
    # swamps every √v̂ a subnormal v can give, so the weights are bit for bit the unflushed ones.
    rng = np.random.default_rng(3)
    first = rng.choice([1e-20, -3e-19, 1e-3], size=16)  # no 0 yet: with ε = 0, 0/0 is NaN, flush or not
    gradients = [first] + [rng.choice([0.0, 1e-20, -3e-19, 1e-3], size=16) for _ in range(40)]
    gradients = [g.astype(np.float32) for g in gradients]

    def train():
        param = tc.Tensor(np.ones(16, dtype=np.float32), requires_grad=True)
        optimizer = Adam([param], lr=1e-3, eps=eps)
        for g in gradients:
            param.grad = g.copy()
            optimizer.step()
        return param.data

    flushed = train()
    monkeypatch.setattr("tmt_optim.adam.flush_subnormals", lambda values, scratch: None)
    np.testing.assert_array_equal(flushed, train())
    assert np.isfinite(flushed).all()
