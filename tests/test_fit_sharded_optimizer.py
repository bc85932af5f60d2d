"""fit(..., processes=N) with an optimizer that shares its step out (Adam, AdamW): each process
sums the gradients over its run of the parameters' elements and updates that run. The same
additions in the same order as the main process stepping alone, so the same bits; and the
optimizer's state, hyper-parameters and ``.grad`` come out as they would."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from blobs import blobs, mlp

from tmt_nn import Linear, Network, Reporter, fit
from tmt_nn.errors import TrainingProcessError
from tmt_nn.training import processes
from tmt_nn.training.sharding import STATE_SLOTS, runs
from tmt_optim import SGD, Adam, AdamW, StepLR

pytestmark = [
    pytest.mark.skipif(not processes.can_fork(), reason="fit(processes=N) forks: x86 Linux only"),
    pytest.mark.filterwarnings("ignore:fit.*will take turns"),  # 3 processes on 2 cores
]


class AloneAdam(Adam):
    """Adam stepped by the main process alone, on the gradients it summed: the reference."""

    shard_across_processes = False


class AloneAdamW(AdamW):
    shard_across_processes = False


def train(optimizer_class, processes_, *, model=None, optimizer=None, epochs=2, batch_size=8, **options):
    model = model or mlp()
    optimizer = optimizer or optimizer_class(model.parameters(), lr=0.01)
    history = fit(model, "cross_entropy", optimizer, blobs(), epochs=epochs, batch_size=batch_size,
                  reporters=options.pop("reporters", ()), seed=3, processes=processes_, **options)
    return model, optimizer, history


def assert_same_bits(first, second):
    (model_1, optimizer_1, history_1), (model_2, optimizer_2, history_2) = first, second
    for p, q in zip(model_1.parameters(), model_2.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        np.testing.assert_array_equal(p.grad, q.grad)
    state_1, state_2 = optimizer_1.state_dict()["state"], optimizer_2.state_dict()["state"]
    assert [sorted(s) for s in state_1] == [sorted(s) for s in state_2]
    for s1, s2 in zip(state_1, state_2):
        for key in s1:
            np.testing.assert_array_equal(s1[key], s2[key])
    assert [e["loss"] for e in history_1.epochs] == [e["loss"] for e in history_2.epochs]


@pytest.mark.parametrize("processes_, batch_size", [(2, 8), (2, 7), (3, 5)], ids=["2", "odd batch", "3"])
@pytest.mark.parametrize("shared, alone", [(Adam, AloneAdam), (AdamW, AloneAdamW)], ids=["Adam", "AdamW"])
def test_the_shared_step_gives_the_bits_of_the_main_process_stepping_alone(shared, alone, processes_, batch_size):
    assert_same_bits(train(alone, processes_, batch_size=batch_size), train(shared, processes_, batch_size=batch_size))


def test_it_follows_one_process_and_counts_every_step():
    one, two = train(Adam, 1), train(Adam, 2)
    for p1, p2 in zip(one[0].parameters(), two[0].parameters()):
        np.testing.assert_allclose(p2.data, p1.data, rtol=2e-5, atol=2e-6)
    assert [s["step"] for s in two[1].state] == [2 * 12] * 4  # 90 rows, batch 8: 12 steps an epoch


def test_the_state_and_the_gradients_come_back_as_the_optimizers_own_arrays():
    model, optimizer, _ = train(Adam, 2)
    for p, state in zip(model.parameters(), optimizer.state):
        for array in (p.grad, state["exp_avg"], state["exp_avg_sq"]):
            assert array.shape == p.data.shape and array.flags.writeable and array.flags.owndata
        assert not np.array_equal(state["exp_avg"], 0)


def test_a_second_fit_goes_on_from_the_state_as_on_one_process():
    """The first run's state moves into the shared memory for the second, and out again."""
    alone, shared = mlp(), mlp()
    first = AloneAdam(alone.parameters(), lr=0.01)
    second = Adam(shared.parameters(), lr=0.01)
    for _ in range(2):
        results = [train(None, 2, model=alone, optimizer=first), train(None, 2, model=shared, optimizer=second)]
    assert_same_bits(*results)
    assert [s["step"] for s in second.state] == [4 * 12] * 4


def test_a_scheduler_changes_the_helpers_learning_rate_too():
    def run(optimizer_class):
        model = mlp()
        optimizer = optimizer_class(model.parameters(), lr=0.05)
        return train(None, 2, model=model, optimizer=optimizer, epochs=3, scheduler=StepLR(optimizer, 1, gamma=0.1))

    alone, shared = run(AloneAdam), run(Adam)
    assert_same_bits(alone, shared)
    assert [e["lr"] for e in shared[2].epochs] == pytest.approx([0.05, 0.005, 0.0005])


class Checkpoints(Reporter):
    """Takes the optimizer's state after every step, as a checkpointing reporter would."""

    name = "checkpoints"

    def __init__(self, optimizer):
        self.optimizer, self.taken = optimizer, []

    def on_batch_end(self, epoch, step, metrics):
        self.taken.append(self.optimizer.state_dict()["state"])


def test_a_checkpoint_during_training_holds_every_processs_part_of_the_state():
    takers = []
    for optimizer_class in (AloneAdam, Adam):
        model = mlp()
        optimizer = optimizer_class(model.parameters(), lr=0.01)
        takers.append(Checkpoints(optimizer))
        train(None, 2, model=model, optimizer=optimizer, epochs=1, reporters=[takers[-1]])
    assert len(takers[0].taken) == len(takers[1].taken) == 12
    for alone, shared in zip(takers[0].taken, takers[1].taken):
        for s1, s2 in zip(alone, shared):
            assert s1["step"] == s2["step"]
            np.testing.assert_array_equal(s1["exp_avg_sq"], s2["exp_avg_sq"])


def test_a_frozen_parameter_stays_as_it_was_and_its_gradient_is_summed_all_the_same():
    results = []
    for optimizer_class in (AloneAdam, Adam):
        model = mlp()
        frozen = model.layers[0].weight.data.copy()
        results.append(train(None, 2, model=model, optimizer=optimizer_class(list(model.parameters())[1:], lr=0.01)))
        np.testing.assert_array_equal(model.layers[0].weight.data, frozen)
    assert_same_bits(*results)  # .grad included: the frozen weight's is the whole batch's


class Checkpointed(Reporter):
    """Saves the optimizer's state at step 3 and loads it back at step 9."""

    name = "checkpointed"

    def __init__(self, optimizer):
        self.optimizer, self.saved = optimizer, None

    def on_batch_end(self, epoch, step, metrics):
        if step == 3:
            self.saved = self.optimizer.state_dict()
        if step == 9:
            self.optimizer.load_state_dict(self.saved)


def test_loading_the_optimizers_state_during_training_is_refused():
    model = mlp()
    optimizer = Adam(model.parameters(), lr=0.01)
    with pytest.raises(TrainingProcessError, match=r"Adam's state was replaced during training \(load_state_dict\?\).*load it before fit"):
        train(None, 2, model=model, optimizer=optimizer, reporters=[Checkpointed(optimizer)])


class HeavyBall(SGD):
    """Momentum that binds a new array to its state each step instead of updating it in place."""

    shard_across_processes = True

    def update(self, index, param, grad, state):
        state["m"] = grad.copy() if "m" not in state else np.float32(0.9) * state["m"] + grad
        param.data -= np.float32(self.lr) * state["m"]


class AloneHeavyBall(HeavyBall):
    shard_across_processes = False


def test_state_bound_anew_each_step_reaches_the_shared_memory():
    assert_same_bits(train(AloneHeavyBall, 2), train(HeavyBall, 2))


MAIN_PROCESS = os.getpid()


class FailingHere(Adam):
    """The main process's part of the third step raises; the helpers' parts go on."""

    def update(self, index, param, grad, state):
        if os.getpid() == MAIN_PROCESS and state.get("step", 0) == 2:
            raise FloatingPointError("the main process's update failed")
        super().update(index, param, grad, state)


class AloneFailingHere(FailingHere):
    shard_across_processes = False


def test_a_step_failing_in_the_main_process_leaves_the_weights_of_the_last_whole_step():
    """fit in another thread copies the weights back when the step raises: the helpers must
    have finished writing their slices by then."""

    class Last(Reporter):
        name = "last"

        def on_batch_end(self, **_):
            self.weights = [p.data.copy() for p in model.parameters()]

    for optimizer_class in (AloneFailingHere, FailingHere):
        model, last = Network([Linear(500, 1000, rng=1), Linear(1000, 10, rng=2)]), Last()
        rng = np.random.default_rng(0)
        data = rng.standard_normal((16, 500)).astype(np.float32), rng.integers(0, 10, 16)
        raised = []

        def run():
            try:
                fit(model, "cross_entropy", optimizer_class(model.parameters(), lr=0.01), data, batch_size=4,
                    reporters=[last], shuffle=False, processes=2)
            except FloatingPointError as error:
                raised.append(error)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        assert raised
        for p, before in zip(model.parameters(), last.weights):
            np.testing.assert_array_equal(p.data, before)


def test_a_nan_batch_skipped_is_skipped_by_every_process():
    inputs, labels = blobs(16)
    inputs[13] = np.nan  # the helper's share of the second batch of 8
    results = []
    for optimizer_class in (AloneAdam, Adam):
        model = mlp()
        optimizer = optimizer_class(model.parameters(), lr=0.01)
        fit(model, "cross_entropy", optimizer, (inputs, labels), epochs=2, batch_size=8, shuffle=False,
            reporters=(), on_nan="continue", processes=2)
        results.append((model, optimizer))
    for p, q in zip(results[0][0].parameters(), results[1][0].parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert [s["step"] for s in results[1][1].state] == [2] * 4  # one good batch an epoch


class Hoarding(Adam):
    """Says it can be shared out, then keeps more state arrays than there are slots."""

    def update(self, index, param, grad, state):
        for k in range(STATE_SLOTS + 1):
            self.work_array(state, f"history_{k}", param.data)
        super().update(index, param, grad, state)


class Summarising(Adam):
    """Says it can be shared out, but keeps a state that is not shaped like the parameter."""

    def update(self, index, param, grad, state):
        state["norm"] = np.array([np.sqrt((grad * grad).sum())], dtype=np.float32)
        super().update(index, param, grad, state)


def test_an_optimizer_keeping_too_many_arrays_is_told_how_many_fit():
    with pytest.raises(TrainingProcessError, match=rf"Hoarding keeps more than {STATE_SLOTS} arrays of state per parameter .*set Hoarding.shard_across_processes = False"):
        train(Hoarding, 2)


def test_an_optimizer_whose_state_is_not_elementwise_is_named():
    with pytest.raises(TrainingProcessError, match=r"Summarising says its update is elementwise, but its state 'norm' of parameter '0\.weight' is \(1,\) float32"):
        train(Summarising, 2)


class FailingInHelpers(Adam):
    main_process = os.getpid()

    def update(self, index, param, grad, state):
        if os.getpid() != self.main_process:
            raise FloatingPointError(f"helper could not update parameter {index}")
        super().update(index, param, grad, state)


def test_a_helper_failing_in_its_part_of_the_step_raises_here():
    with pytest.raises(FloatingPointError, match="helper could not update parameter") as raised:
        train(FailingInHelpers, 2)
    assert isinstance(raised.value.__cause__, TrainingProcessError)


def test_sgd_is_stepped_by_the_main_process_alone():
    model = mlp()
    with processes.ProcessTeam(2, model, None, *blobs(), 8, False, SGD(model.parameters(), lr=0.1)) as team:
        assert team.sharded is None
    with processes.ProcessTeam(2, model, None, *blobs(), 8, False, Adam(model.parameters())) as team:
        assert team.sharded is not None


@pytest.mark.parametrize("sizes, ranks", [([144, 16, 4608, 32, 200704, 128, 1280, 10], 2), ([3, 1, 5], 4), ([7], 3), ([0, 4], 2)])
def test_the_runs_cover_every_element_once_in_equal_shares(sizes, ranks):
    owned = runs(sizes, ranks)
    total = sum(sizes)
    shares = [sum(hi - lo for lo, hi in mine) for mine in owned]
    assert sum(shares) == total and max(shares) - min(shares) <= 1
    for i, size in enumerate(sizes):  # each parameter's pieces follow one another, rank by rank
        pieces = [mine[i] for mine in owned if mine[i][1] > mine[i][0]]
        starts, ends = [lo for lo, _ in pieces], [hi for _, hi in pieces]
        assert starts == [0] + ends[:-1] if size else pieces == []
        assert ends[-1:] == ([size] if size else [])
