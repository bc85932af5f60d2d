"""Learning-rate schedules: their closed forms, PyTorch's sequences, saving, bad arguments,
and fit stepping them once an epoch."""

import math

import numpy as np
import pytest

from tmt_core import Tensor
from tmt_nn import Linear, Network, fit
from tmt_optim import SGD, Adam, CosineAnnealingLR, ExponentialLR, MultiStepLR, OptimizerError, StepLR


def optimizer(lr=0.5):
    return SGD([Tensor(np.zeros(3, dtype=np.float32), requires_grad=True)], lr=lr)


def lrs(scheduler, epochs):
    seen = [scheduler.optimizer.lr]
    for _ in range(epochs):
        scheduler.step()
        seen.append(scheduler.optimizer.lr)
    return seen


SCHEDULES = {
    "step": (lambda opt: StepLR(opt, step_size=3, gamma=0.5), lambda e: 0.5 * 0.5 ** (e // 3)),
    "multistep": (lambda opt: MultiStepLR(opt, milestones=[5, 2], gamma=0.1), lambda e: 0.5 * 0.1 ** ((e >= 2) + (e >= 5))),
    "exponential": (lambda opt: ExponentialLR(opt, gamma=0.9), lambda e: 0.5 * 0.9**e),
    "cosine": (lambda opt: CosineAnnealingLR(opt, T_max=6, eta_min=0.01), lambda e: 0.01 + 0.49 * (1 + math.cos(math.pi * e / 6)) / 2),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_each_schedule_follows_its_closed_form(name):
    make, formula = SCHEDULES[name]
    np.testing.assert_allclose(lrs(make(optimizer()), 8), [formula(e) for e in range(9)], rtol=1e-12)


@pytest.mark.parametrize("name", SCHEDULES)
def test_each_schedule_matches_pytorch(name):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these sequences")
    make, _ = SCHEDULES[name]
    ours = lrs(make(optimizer()), 8)
    torch_opt = torch.optim.SGD([torch.zeros(3, requires_grad=True)], lr=0.5)
    theirs = {
        "step": lambda: torch.optim.lr_scheduler.StepLR(torch_opt, step_size=3, gamma=0.5),
        "multistep": lambda: torch.optim.lr_scheduler.MultiStepLR(torch_opt, milestones=[5, 2], gamma=0.1),
        "exponential": lambda: torch.optim.lr_scheduler.ExponentialLR(torch_opt, gamma=0.9),
        "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(torch_opt, T_max=6, eta_min=0.01),
    }[name]()
    sequence = [torch_opt.param_groups[0]["lr"]]
    for _ in range(8):
        torch_opt.step()
        theirs.step()
        sequence.append(torch_opt.param_groups[0]["lr"])
    np.testing.assert_allclose(ours, sequence, rtol=1e-9)


def test_a_saved_schedule_resumes_where_it_stopped():
    first = StepLR(optimizer(), step_size=2)
    for _ in range(3):
        first.step()
    fresh = optimizer(lr=123.0)
    resumed = StepLR(fresh, step_size=2)
    resumed.load_state_dict(first.state_dict())
    assert fresh.lr == first.optimizer.lr == pytest.approx(0.05) and resumed.get_last_lr() == [fresh.lr]
    resumed.step()
    assert fresh.lr == pytest.approx(0.005)


@pytest.mark.parametrize("make, words", [
    (lambda: StepLR(optimizer(), step_size=0), ["StepLR", "step_size", "positive integer", "0"]),
    (lambda: StepLR(optimizer(), step_size=2, gamma=0), ["StepLR", "gamma", "> 0"]),
    (lambda: MultiStepLR(optimizer(), milestones=[3, -1]), ["MultiStepLR", "milestone", "-1"]),
    (lambda: CosineAnnealingLR(optimizer(), T_max=5, eta_min=2.0), ["CosineAnnealingLR", "eta_min", "0.5"]),
    (lambda: ExponentialLR(object(), gamma=0.9), ["ExponentialLR", "lr attribute", "object"]),
])
def test_bad_arguments_are_named(make, words):
    with pytest.raises(OptimizerError) as raised:
        make()
    assert all(word in str(raised.value) for word in words), str(raised.value)


def test_fit_steps_the_schedule_after_every_epoch_and_records_each_epochs_lr():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 4)).astype(np.float32), rng.integers(0, 3, 64)
    model = Network([Linear(4, 3)])
    adam = Adam(model.parameters(), lr=0.01)
    history = fit(model, "cross_entropy", adam, (X, y), epochs=4, batch_size=16, reporters=[], seed=0,
                  scheduler=MultiStepLR(adam, milestones=[2], gamma=0.1))
    np.testing.assert_allclose(history["lr"], [0.01, 0.01, 0.001, 0.001])
    assert adam.lr == pytest.approx(0.001)


def test_fit_without_a_schedule_records_no_lr():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((32, 4)).astype(np.float32), rng.integers(0, 3, 32)
    model = Network([Linear(4, 3)])
    history = fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (X, y), epochs=1, reporters=[], seed=0)
    assert "lr" not in history.metric_names()


def test_fit_refuses_a_scheduler_without_step():
    model = Network([Linear(4, 3)])
    with pytest.raises(TypeError, match="scheduler must have step"):
        fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (np.zeros((4, 4)), np.zeros(4, int)), scheduler=0.5)


def test_fit_refuses_a_scheduler_class_and_a_schedule_of_another_optimizer():
    model = Network([Linear(4, 3)])
    data = (np.zeros((4, 4), dtype=np.float32), np.zeros(4, int))
    sgd = SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"StepLR\(optimizer, ...\), not the class StepLR"):
        fit(model, "cross_entropy", sgd, data, scheduler=StepLR)
    with pytest.raises(ValueError, match="another optimizer"):
        fit(model, "cross_entropy", sgd, data, scheduler=StepLR(optimizer(), step_size=1))
