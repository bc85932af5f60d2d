"""fit(..., processes=N): the shares' gradients add up to the batch's, so training on N
processes follows training on one (to rounding); helpers that raise or die are reported and
reaped; Ctrl-C, NaN losses and rebound parameters behave as with one process."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from blobs import blobs, mlp

import tmt_core as tc
from tmt_core import threads
from tmt_nn import Dropout, Linear, Module, Network, NonFiniteLossError, Reporter, fit
from tmt_nn.errors import TrainingProcessError
from tmt_nn.training import processes
from tmt_optim import SGD, Adam

pytestmark = [
    pytest.mark.skipif(not processes.can_fork(), reason="fit(processes=N) forks: x86 Linux only"),
    pytest.mark.filterwarnings("ignore:fit.*will take turns"),  # 3 or 4 processes on 2 cores
]


def train(processes_, *, batch_size=8, epochs=2, optimizer=SGD, lr=0.05, data=None, loss="cross_entropy", **options):
    model = mlp()
    history = fit(model, loss, optimizer(model.parameters(), lr=lr), data or blobs(), epochs=epochs,
                  batch_size=batch_size, reporters=(), seed=3, processes=processes_, **options)
    return model, history


def assert_same_training(one, many, rtol=2e-5, atol=2e-6):
    (model_1, history_1), (model_n, history_n) = one, many
    for p1, pn in zip(model_1.parameters(), model_n.parameters()):
        np.testing.assert_allclose(pn.data, p1.data, rtol=rtol, atol=atol)
    assert [e.keys() for e in history_n.epochs] == [e.keys() for e in history_1.epochs]
    for e1, en in zip(history_1.epochs, history_n.epochs):
        assert en["loss"] == pytest.approx(e1["loss"], rel=1e-5)
        if "accuracy" in e1:
            assert en["accuracy"] == e1["accuracy"]


@pytest.mark.parametrize(
    "processes_, batch_size",
    [(2, 8), (2, 7), (3, 5), (2, 1), (4, 3)],
    ids=["even shares", "odd batch", "three processes", "batch of one: the helper idle", "helpers idle on short batches"],
)
def test_training_on_processes_follows_training_on_one(processes_, batch_size):
    """90 examples: every case ends an epoch on a partial batch."""
    assert_same_training(train(1, batch_size=batch_size), train(processes_, batch_size=batch_size))


@pytest.mark.parametrize(
    "processes_, examples, batch_size",
    [(3, 11, 6), (4, 15, 8), (2, 100, 10**7)],
    ids=["last batch gives the main process more rows than a full one (3)", "the same with 4",
         "a batch size far beyond the data"],
)
def test_partial_and_oversized_batches_follow_one_process(processes_, examples, batch_size):
    data = blobs(examples)
    assert_same_training(train(1, batch_size=batch_size, data=data), train(processes_, batch_size=batch_size, data=data))


def test_adam_without_shuffling_and_a_regression_loss_follow_one_process_too():
    inputs, labels = blobs()
    targets = np.eye(3, dtype=np.float32)[labels]
    one = train(1, optimizer=Adam, lr=0.01, data=(inputs, targets), loss="mse", shuffle=False)
    many = train(2, optimizer=Adam, lr=0.01, data=(inputs, targets), loss="mse", shuffle=False)
    assert_same_training(one, many)


def test_two_runs_on_processes_give_the_same_bits():
    first, second = train(2, batch_size=9), train(2, batch_size=9)
    for p, q in zip(first[0].parameters(), second[0].parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_parameters_keep_their_own_arrays_and_the_thread_setting_comes_back():
    model = mlp()
    arrays = [p.data for p in model.parameters()]
    before = [a.copy() for a in arrays]
    requested = threads.requested
    fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), blobs(), epochs=1, batch_size=10,
        reporters=(), processes=2)
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))
    assert not all(np.array_equal(a, b) for a, b in zip(arrays, before))  # trained in place
    assert threads.requested == requested


class Rebinding:
    """An optimizer that binds new arrays to p.data instead of updating them in place."""

    def __init__(self, parameters, lr):
        self.parameters, self.lr = list(parameters), lr

    def step(self):
        for p in self.parameters:
            p.data = p.data - np.float32(self.lr) * p.grad

    def zero_grad(self):
        for p in self.parameters:
            p.grad = None


def test_an_optimizer_that_rebinds_parameters_still_reaches_the_helpers():
    assert_same_training(train(1, optimizer=Rebinding), train(2, optimizer=Rebinding))


def test_an_optimizer_with_parameters_the_model_does_not_have_is_refused():
    model, stranger = mlp(), tc.Tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(ValueError, match=r"fit\(processes=2\): the optimizer updates 1 parameter\(s\) that are not the model's \(the first of shape \(3,\)\)"):
        fit(model, "cross_entropy", SGD(model.parameters() + [stranger], lr=0.1), blobs(), reporters=(), processes=2)


def test_more_processes_than_cores_warns(monkeypatch):
    monkeypatch.setattr(importlib.import_module("tmt_nn.training.fit"), "usable_cores", lambda: 1)
    with pytest.warns(RuntimeWarning, match=r"fit: processes=2 on 1 core\(s\): the processes will take turns"):
        train(2, epochs=1)


def test_with_sigchld_ignored_the_helpers_still_stop_cleanly():
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    try:
        model = mlp()
        arrays = [p.data for p in model.parameters()]
        fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), blobs(), epochs=1, batch_size=8,
            reporters=(), processes=2)
    finally:
        signal.signal(signal.SIGCHLD, previous)
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))


def test_a_second_interrupt_while_the_helpers_stop_still_restores_and_reaps(monkeypatch):
    """Ctrl-C twice: the second lands while fit waits for the helpers to stop."""
    started, reaped = [], processes._reaped
    enter = processes.ProcessTeam.__enter__

    def remember(team):
        started.append(team)
        return enter(team)

    def interrupted_once(pid):
        if not hasattr(interrupted_once, "done"):
            interrupted_once.done = True
            raise KeyboardInterrupt
        return reaped(pid)

    monkeypatch.setattr(processes.ProcessTeam, "__enter__", remember)
    monkeypatch.setattr(processes, "_reaped", interrupted_once)
    model = mlp()
    arrays = [p.data for p in model.parameters()]
    pids = []
    with pytest.raises(KeyboardInterrupt):
        fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), blobs(), epochs=1, batch_size=8,
            reporters=[PidRecorder(started, pids)], processes=2)
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))
    assert started[0].helpers == [-1]
    assert_reaped(pids[0])


class PidRecorder(Reporter):
    name = "pids"

    def __init__(self, teams, pids):
        self.teams, self.pids = teams, pids

    def on_train_begin(self, *, config):
        self.pids.extend(self.teams[0].helpers)


def test_what_a_helper_prints_is_not_lost_through_a_pipe(tmp_path):
    script = tmp_path / "printing.py"
    script.write_text(
        "import os, sys\n"
        "import numpy as np\n"
        "from tmt_nn import Linear, Module, Network, fit\n"
        "from tmt_optim import SGD\n"
        "class Say(Module):\n"
        "    def forward(self, x):\n"
        "        print('forward in', 'main' if os.getpid() == MAIN else 'helper')\n"
        "        return x\n"
        "MAIN = os.getpid()\n"
        "print('before fit')\n"
        "model = Network([Say(), Linear(2, 2)])\n"
        "x = np.ones((4, 2), np.float32); y = np.array([0, 1, 0, 1])\n"
        "fit(model, 'cross_entropy', SGD(model.parameters(), lr=0.1), (x, y), epochs=1, batch_size=4, reporters=(), processes=2)\n"
    )
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as stdout to a pipe is
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=buffered)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines.count("before fit") == 1  # flushed before the fork: not printed twice
    assert "forward in helper" in lines and "forward in main" in lines


class Tripwire(Module):
    """Passes x through; in a helper process, does ``action`` on a batch holding the marker."""

    def __init__(self, action):
        super().__init__()
        self.action, self.main = action, os.getpid()

    def forward(self, x):
        if os.getpid() != self.main and (x.data == 99.0).any():
            self.action()
        return x


def fit_with_tripwire(action, recorder=None):
    inputs, labels = blobs(12)
    inputs[11] = 99.0  # unshuffled, batch 4: rows 2-3 of each batch are the helper's
    model = Network([Tripwire(action), Linear(2, 3, rng=0)])
    fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (inputs, labels), epochs=1,
        batch_size=4, shuffle=False, reporters=[recorder] if recorder else (), processes=2)


def helper_pid(error):
    return int(str(error).split("(pid ")[1].split(")")[0])


def assert_reaped(pid):
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_a_helper_that_raises_raises_its_exception_here_with_its_traceback_as_the_cause():
    """As one process would raise it (``except ValueError`` works either way), and stopped."""
    def fail():
        raise ValueError("the helper's share is bad")

    with pytest.raises(ValueError, match="the helper's share is bad") as caught:
        fit_with_tripwire(fail)
    cause = caught.value.__cause__
    assert isinstance(cause, TrainingProcessError) and "helper process 1" in str(cause)
    assert "Traceback" in str(cause) and "ValueError: the helper's share is bad" in str(cause)
    assert_reaped(helper_pid(cause))


def test_an_exception_that_does_not_pickle_still_comes_back_as_its_traceback():
    class Unpicklable(Exception):
        def __reduce__(self):
            raise TypeError("no")

    def fail():
        raise Unpicklable("odd")

    with pytest.raises(TrainingProcessError, match=r"(?s)helper process 1 .*raised:\n.*Unpicklable: odd") as caught:
        fit_with_tripwire(fail)
    assert_reaped(helper_pid(caught.value))


def test_a_helper_that_dies_is_noticed():
    with pytest.raises(TrainingProcessError, match=r"died \(killed by signal 9 \(SIGKILL\)\)") as caught:
        fit_with_tripwire(lambda: os.kill(os.getpid(), signal.SIGKILL))
    assert_reaped(helper_pid(caught.value))


class InterruptAt(Reporter):
    name = "interrupt"

    def __init__(self, step):
        self.step, self.status, self.pids = step, None, []

    def on_batch_end(self, *, epoch, step, metrics):
        if step == self.step:
            raise KeyboardInterrupt

    def on_train_end(self, *, status, metrics):
        self.status = status


def test_ctrl_c_stops_the_helpers_and_keeps_the_trained_weights(monkeypatch):
    started = []
    enter = processes.ProcessTeam.__enter__

    def remember(team):
        started.append(team)
        return enter(team)

    monkeypatch.setattr(processes.ProcessTeam, "__enter__", remember)
    model, reporter = mlp(), InterruptAt(step=3)
    arrays = [p.data for p in model.parameters()]
    with pytest.raises(KeyboardInterrupt):
        fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), blobs(), epochs=2, batch_size=8,
            reporters=[reporter], processes=2)
    assert reporter.status == "interrupted"
    assert started and started[0].helpers == [-1]  # stopped and reaped
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))


@pytest.mark.parametrize("on_nan", ["stop", "continue"])
def test_a_nan_loss_on_processes_is_handled_as_on_one(on_nan):
    inputs, labels = blobs(16)
    inputs[13] = np.nan  # the helper's share of the second batch of 8
    results = []
    for processes_ in (1, 2):
        model = mlp()
        try:
            fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (inputs, labels), epochs=1,
                batch_size=8, shuffle=False, reporters=(), on_nan=on_nan, processes=processes_)
            results.append(("trained", [p.data.copy() for p in model.parameters()]))
        except NonFiniteLossError as error:
            assert "epoch 1, step 2 of 2" in str(error)
            results.append(("stopped", [p.data.copy() for p in model.parameters()]))
    assert results[0][0] == results[1][0] == ("stopped" if on_nan == "stop" else "trained")
    for p1, p2 in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(p2, p1, rtol=1e-5, atol=1e-6)


def test_helpers_draw_their_own_dropout_masks():
    model = Network([Linear(2, 4, rng=0), Dropout(0.5, rng=7)])
    inherited = model.layers[1]._generator.bit_generator.state
    processes._independent_randomness(model, rank=1)
    assert model.layers[1]._generator.bit_generator.state != inherited
    twin = Network([Linear(2, 4, rng=0), Dropout(0.5, rng=7)])
    processes._independent_randomness(twin, rank=2)
    draws = [m.layers[1]._generator.random(8) for m in (model, twin)]
    assert not np.array_equal(*draws)  # two helpers differ from each other as well


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_processes_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match=r"fit: processes must be an integer >= 1, got"):
        train(bad)


def test_without_fork_fit_warns_and_trains_on_one_process(monkeypatch):
    monkeypatch.setattr(importlib.import_module("tmt_nn.training.fit"), "can_fork", lambda: False)
    with pytest.warns(RuntimeWarning, match=r"processes=2 needs fork\(\) on x86 Linux; training on one process"):
        model, history = train(2)
    assert history.epochs[-1]["loss"] < history.epochs[0]["loss"]


def test_set_num_threads_checks_its_argument_and_is_read_back():
    before = threads.requested
    try:
        tc.set_num_threads(3)
        assert tc.get_num_threads() == 3
        with pytest.raises(ValueError, match=r"set_num_threads: n must be an integer >= 1, got 0"):
            tc.set_num_threads(0)
    finally:
        threads.requested = before


@pytest.mark.parametrize("processes_", [1, 2])
def test_a_shuffle_function_gives_each_epochs_order(processes_):
    """shuffle=f: the epochs run in f's orders, on one process as on several."""
    inputs, labels = blobs(40)
    orders = {e: np.random.default_rng(e).permutation(40) for e in (1, 2)}
    model = mlp()
    fit(model, "cross_entropy", SGD(model.parameters(), lr=0.05), (inputs, labels), epochs=2, batch_size=8,
        reporters=(), shuffle=lambda epoch: orders[epoch], processes=processes_)
    replayed = mlp()
    for epoch in (1, 2):  # the same batches, unshuffled, one epoch each
        fit(replayed, "cross_entropy", SGD(replayed.parameters(), lr=0.05),
            (inputs[orders[epoch]], labels[orders[epoch]]), epochs=1, batch_size=8, reporters=(), shuffle=False)
    for p, q in zip(model.parameters(), replayed.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize(
    "order, got",
    [(np.arange(39), r"int64 of shape \(39,\)"), (np.arange(40.0), r"float64 of shape \(40,\)"),
     (np.arange(1, 41), "values from 1 to 40")],
)
def test_a_shuffle_function_giving_no_order_of_the_rows_is_named(order, got):
    with pytest.raises(ValueError, match=rf"fit: shuffle\(1\) must give the epoch's order of the 40 training examples, integers 0..39; got {got}"):
        train(1, data=blobs(40), shuffle=lambda epoch: order)


def test_a_parameter_that_changes_shape_during_training_is_named():
    class Shrinking(Rebinding):
        def step(self):
            self.parameters[0].data = self.parameters[0].data[:1]

    with pytest.raises(TrainingProcessError, match=r"parameter '0\.weight' changed from \(2, 16\) float32 to \(1, 16\) float32"):
        train(2, optimizer=Shrinking)


def test_the_main_processs_share_gathered_ahead_is_its_rows_of_that_step_only():
    """Helper 1 gathers the main process's next share while it steps; the main process takes
    it only for the step and rows it was gathered for."""
    inputs, labels = blobs(20)
    team = processes.ProcessTeam(2, mlp(), None, inputs, labels, 6, False)  # not entered: no fork
    order = np.random.default_rng(0).permutation(20)
    team.set_order(order)
    team._gather_for_main(5, 6, 12)  # step 5 will be rows 6:12 of the order; main's share 6:9
    team.steps = 5
    x, y = team._gathered_ahead(6, 12)
    np.testing.assert_array_equal(x, inputs[order[6:9]])
    np.testing.assert_array_equal(y, labels[order[6:9]])
    assert team._gathered_ahead(12, 18) is None  # other rows
    team.steps = 6
    assert team._gathered_ahead(6, 12) is None  # another step
