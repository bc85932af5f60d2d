"""fit / evaluate / predict: learning, History, NaN handling, Ctrl-C and failures."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

import tmt_core as tc
import tmt_nn
from tmt_core.errors import NotFoundError
from tmt_nn import Dropout, Linear, Network, NonFiniteLossError, Reporter, evaluate, fit, predict
from tmt_optim import SGD


def blobs(n=300, classes=3, seed=0):
    """Well-separated Gaussian blobs: a problem a small MLP solves in a few epochs."""
    rng = np.random.default_rng(seed)
    centers = np.array([[4.0, 0.0], [-2.0, 3.5], [-2.0, -3.5]])[:classes]
    labels = rng.integers(0, classes, n)
    inputs = (centers[labels] + rng.standard_normal((n, 2))).astype(np.float32)
    return inputs, labels


def mlp(seed=0):
    return Network([Linear(2, 16, activation="relu", rng=seed), Linear(16, 3, rng=seed + 1)])


class Recorder(Reporter):
    name = "recorder"

    def __init__(self):
        self.events = []

    def on_train_begin(self, *, config):
        self.events.append(("on_train_begin", config))

    def on_epoch_begin(self, *, epoch, steps):
        self.events.append(("on_epoch_begin", epoch, steps))

    def on_batch_end(self, *, epoch, step, metrics):
        self.events.append(("on_batch_end", epoch, step, metrics))

    def on_epoch_end(self, *, epoch, metrics):
        self.events.append(("on_epoch_end", epoch, metrics))

    def on_train_end(self, *, status, metrics):
        self.events.append(("on_train_end", status, metrics))

    def ends(self):
        return [e for e in self.events if e[0] == "on_train_end"]

    def last_epoch_metrics(self):
        ended = [e for e in self.events if e[0] == "on_epoch_end"]
        return ended[-1][2] if ended else {}


def weights(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def assert_same_weights(model, expected):
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, expected[key], err_msg=key)


# ---------------------------------------------------------------------------- learning


def test_fit_learns_a_small_problem():
    X, y = blobs()
    model = mlp()
    before = evaluate(model, X, y)
    history = fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (X, y), epochs=6, batch_size=16, reporters=None, seed=0)
    assert history.loss[-1] < history.loss[0] < before["loss"] + 0.5
    assert history.loss == sorted(history.loss, reverse=True)
    assert history.accuracy[-1] > 0.95 > before["accuracy"]
    after = evaluate(model, X, y)
    assert after["accuracy"] > 0.95 and after["loss"] < before["loss"] / 3


def test_history_contents_with_validation():
    X, y = blobs()
    model = mlp()
    history = fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (X[:240], y[:240]), epochs=3, batch_size=32, validation_data=(X[240:], y[240:]), reporters=[], seed=0)
    assert len(history) == 3 and history.status == "success"
    assert history.metric_names() == ["loss", "accuracy", "val_loss", "val_accuracy", "seconds"]
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        values = getattr(history, name)
        assert len(values) == 3 and all(math.isfinite(v) for v in values)
        assert history[name] == values == history.history[name]
    assert [row["epoch"] for row in history.epochs] == [1, 2, 3]
    assert all(0 <= a <= 1 for a in history.accuracy + history.val_accuracy)
    # the last validation numbers are what evaluate says about the final model
    final = evaluate(model, X[240:], y[240:])
    assert history.val_loss[-1] == pytest.approx(final["loss"], rel=1e-6)
    assert history.val_accuracy[-1] == final["accuracy"]
    assert history.config["train_size"] == 240 and history.config["validation_size"] == 60
    assert history.config["steps_per_epoch"] == 8 and history.config["optimizer"] == "sgd"
    with pytest.raises(KeyError, match="no metric 'f1'"):
        history["f1"]


def test_one_hot_targets_and_adam_by_name():
    X, y = blobs()
    model = mlp()
    history = fit(model, "cross_entropy", "adam", (X, np.eye(3)[y]), epochs=4, batch_size=32, reporters=None, seed=0, optimizer_options={"lr": 0.02})
    assert history.config["optimizer"] == "adam" and history.config["optimizer_options"]["lr"] == 0.02
    assert history.accuracy[-1] > 0.9


def test_mse_regression_reports_no_accuracy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]])).astype(np.float32)
    model = Network([Linear(3, 1, rng=0)])
    history = fit(model, "mse", SGD(model.parameters(), lr=0.1), (X, y), epochs=5, batch_size=20, reporters=None, seed=0)
    assert history.metric_names() == ["loss", "seconds"]
    assert history.loss[-1] < 0.01 * history.loss[0]


def test_same_seed_same_run():
    X, y = blobs()
    results = []
    for _ in range(2):
        model = mlp()
        fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (X, y), epochs=2, batch_size=16, reporters=None, seed=5)
        results.append(weights(model))
    for key in results[0]:
        np.testing.assert_array_equal(results[0][key], results[1][key])


def test_bad_arguments_are_named():
    X, y = blobs()
    model = mlp()
    with pytest.raises(NotFoundError, match="no optimizer named 'sdg'; did you mean sgd"):
        fit(model, "cross_entropy", "sdg", (X, y), reporters=None)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        fit(model, "hinge", "sgd", (X, y), reporters=None, optimizer_options={"lr": 0.1})
    with pytest.raises(ValueError, match="same number of examples"):
        fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (X, y[:-1]), reporters=None)
    with pytest.raises(ValueError, match="on_nan must be one of"):
        fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (X, y), reporters=None, on_nan="ignore")
    with pytest.raises(ValueError, match="unknown metric"):
        fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (X, y), reporters=None, metrics=("f1",))


# ---------------------------------------------------------------------------- evaluate / predict


def test_evaluate_and_predict_use_eval_mode_without_a_graph_and_restore_modes():
    X, y = blobs(50)
    model = Network([Linear(2, 8, rng=0), Dropout(0.5, rng=0), Linear(8, 3, rng=1)])
    model[1].eval()  # a sub-module the user froze in eval mode stays so
    outputs = predict(model, X, batch_size=16)
    assert outputs.shape == (50, 3) and outputs.dtype == np.float32 and isinstance(outputs, np.ndarray)
    np.testing.assert_array_equal(outputs, predict(model, X, batch_size=7))  # no dropout: deterministic
    assert model.training and not model[1].training
    with tc.no_grad():
        expected = model(X).data
    np.testing.assert_allclose(outputs, expected, rtol=1e-6)
    scores = evaluate(model, X, y, batch_size=16)
    assert scores["accuracy"] == np.mean(expected.argmax(1) == y)
    assert model.training and not model[1].training


def test_tmt_nn_imports_neither_tmt_optim_nor_tmt_data():
    code = "import sys, tmt_nn; print(sorted(m for m in ('tmt_optim', 'tmt_data') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------------------- NaN


class NaNAt:
    """cross_entropy, except the loss becomes NaN at one call."""

    __name__ = "nan_at"

    def __init__(self, call):
        self.call, self.calls = call, 0

    def __call__(self, outputs, targets):
        self.calls += 1
        loss = tmt_nn.cross_entropy(outputs, targets)
        return loss * float("nan") if self.calls == self.call else loss


def test_nan_loss_stops_with_epoch_and_step_and_keeps_the_last_good_weights():
    X, y = blobs(40)
    model = mlp()
    recorder = Recorder()

    class Snapshot(Reporter):
        def on_batch_end(self, *, epoch, step, metrics):
            self.last = weights(model)

    snapshot = Snapshot()
    with pytest.raises(NonFiniteLossError, match=r"loss became nan at epoch 2, step 2 of 3"):
        fit(model, NaNAt(5), SGD(model.parameters(), lr=0.1), (X, y), epochs=3, batch_size=16, reporters=[recorder, snapshot], seed=0)
    assert recorder.ends() == [("on_train_end", "failed", recorder.last_epoch_metrics())]
    assert recorder.events[-2][:3] == ("on_batch_end", 2, 1)
    assert_same_weights(model, snapshot.last)


def test_on_nan_continue_skips_the_batch_and_goes_on():
    X, y = blobs(40)
    model = mlp()
    history = fit(model, NaNAt(2), SGD(model.parameters(), lr=0.1), (X, y), epochs=2, batch_size=16, reporters=None, on_nan="continue", seed=0)
    assert history.status == "success" and len(history) == 2
    assert all(np.isfinite(p.data).all() for p in model.parameters())
    assert all(math.isfinite(v) for v in history.loss)


# ---------------------------------------------------------------------------- interruptions and failures


class RaiseAt(Reporter):
    """Snapshots the weights after every step; raises ``error`` at (epoch, step)."""

    def __init__(self, model, epoch, step, error):
        self.model, self.at, self.error, self.last = model, (epoch, step), error, None

    def on_batch_end(self, *, epoch, step, metrics):
        if (epoch, step) == self.at:
            raise self.error
        self.last = weights(self.model)


def test_keyboard_interrupt_inside_a_batch_keeps_the_last_good_weights():
    X, y = blobs(64)
    model = mlp()
    recorder = Recorder()

    calls = {"n": 0}

    def loss(outputs, targets):  # Ctrl-C arrives during the forward of epoch 2, step 3
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return tmt_nn.cross_entropy(outputs, targets)

    class Snapshot(Reporter):
        def on_batch_end(self, *, epoch, step, metrics):
            self.last = weights(model)

    snapshot = Snapshot()
    with pytest.raises(KeyboardInterrupt):
        fit(model, loss, SGD(model.parameters(), lr=0.1), (X, y), epochs=3, batch_size=16, reporters=[recorder, snapshot], seed=0)
    assert recorder.ends() == [("on_train_end", "interrupted", recorder.last_epoch_metrics())]
    assert recorder.events[-2][:3] == ("on_batch_end", 2, 2)
    assert recorder.last_epoch_metrics()["loss"] > 0
    assert_same_weights(model, snapshot.last)
    assert model.training


class InterruptedOptimizer(SGD):
    """Updates the first parameter, then Ctrl-C arrives before the others are updated: as a
    real SIGINT (``signal=True``) or as a KeyboardInterrupt raised on the spot."""

    def __init__(self, params, lr, at_step, signal=False):
        super().__init__(params, lr=lr)
        self.at_step, self.steps, self.signal = at_step, 0, signal

    def step(self):
        self.steps += 1
        if self.steps != self.at_step:
            return super().step()
        param = self.params[0]
        self.update(0, param, param.grad, self.state[0])
        if not self.signal:
            raise KeyboardInterrupt
        signal.raise_signal(signal.SIGINT)
        for index, param in enumerate(self.params[1:], start=1):
            self.update(index, param, param.grad, self.state[index])


@pytest.fixture
def ctrl_c_raises():
    """Python's own SIGINT handler, as in a terminal: a job started in the background of a
    non-interactive shell inherits SIGINT ignored, and fit rightly keeps ignoring it."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_is_ignored_where_it_was_ignored_before_fit():
    X, y = blobs(64)
    model = mlp()
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        optimizer = InterruptedOptimizer(model.parameters(), 0.1, at_step=3, signal=True)
        history = fit(model, "cross_entropy", optimizer, (X, y), epochs=1, batch_size=16, reporters=[], seed=0)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
    assert len(history["loss"]) == 1  # the run finished


def test_ctrl_c_during_an_optimizer_step_is_held_until_the_step_is_complete(ctrl_c_raises):
    X, y = blobs(64)
    model = mlp()
    recorder = Recorder()
    snapshot = RaiseAt(model, -1, -1, None)
    optimizer = InterruptedOptimizer(model.parameters(), 0.1, at_step=3, signal=True)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        fit(model, "cross_entropy", optimizer, (X, y), epochs=2, batch_size=16, reporters=[recorder, snapshot], seed=0)
    assert recorder.ends()[0][1] == "interrupted"
    assert recorder.events[-2][:3] == ("on_batch_end", 1, 2)  # step 3 never reported...
    # ...but it was applied whole: every parameter moved from the weights after step 2
    for key, value in weights(model).items():
        assert not np.array_equal(value, snapshot.last[key]), key
    assert signal.getsignal(signal.SIGINT) is handler  # fit put the handler back


def test_ctrl_c_between_steps_interrupts_at_once(ctrl_c_raises):
    X, y = blobs(64)
    model = mlp()
    recorder = Recorder()

    def loss(outputs, targets):
        if recorder.events[-1][:3] == ("on_batch_end", 1, 2):
            signal.raise_signal(signal.SIGINT)
        return tmt_nn.cross_entropy(outputs, targets)

    with pytest.raises(KeyboardInterrupt):
        fit(model, loss, SGD(model.parameters(), lr=0.1), (X, y), epochs=2, batch_size=16, reporters=[recorder], seed=0)
    assert recorder.ends()[0][1] == "interrupted" and recorder.events[-2][:3] == ("on_batch_end", 1, 2)


def test_off_the_main_thread_an_interrupted_step_is_rolled_back():
    X, y = blobs(64)
    model = mlp()
    recorder = Recorder()
    snapshot = RaiseAt(model, -1, -1, None)
    raised = []

    def train():
        try:
            fit(model, "cross_entropy", InterruptedOptimizer(model.parameters(), 0.1, at_step=3), (X, y), epochs=2, batch_size=16, reporters=[recorder, snapshot], seed=0)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            raised.append(exc)

    worker = threading.Thread(target=train)
    worker.start()
    worker.join()
    assert len(raised) == 1 and isinstance(raised[0], KeyboardInterrupt)
    assert recorder.ends()[0][1] == "interrupted"
    assert_same_weights(model, snapshot.last)  # the weights after step 2, not half of step 3


def test_keyboard_interrupt_from_a_reporter_interrupts_the_run():
    X, y = blobs(64)
    model = mlp()
    recorder = Recorder()
    raiser = RaiseAt(model, 1, 2, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (X, y), epochs=2, batch_size=16, reporters=[recorder, raiser], seed=0)
    assert recorder.ends() == [("on_train_end", "interrupted", {})]
    assert recorder.events[-2][:3] == ("on_batch_end", 1, 2)


def test_an_exception_gives_status_failed_and_is_reraised():
    X, y = blobs(32)
    model = mlp()
    recorder = Recorder()

    def broken_loss(outputs, targets):
        raise RuntimeError("loss exploded")

    with pytest.raises(RuntimeError, match="loss exploded"):
        fit(model, broken_loss, SGD(model.parameters(), lr=0.1), (X, y), reporters=[recorder])
    assert [e[0] for e in recorder.events] == ["on_train_begin", "on_epoch_begin", "on_train_end"]
    assert recorder.ends() == [("on_train_end", "failed", {})]
