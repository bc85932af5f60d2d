"""Reporters in fit: event order, a raising reporter, the built-ins, the registry."""

from __future__ import annotations

import csv
import inspect
import warnings

import numpy as np
import pytest

import tmt_nn
from tmt_core import plugins
from tmt_core.errors import NotFoundError, TmtError
from tmt_nn import Linear, Network, Reporter, ReporterWarning, fit, get_reporter
from tmt_optim import SGD

from test_fit_training import Recorder, blobs, mlp


def run(reporters, epochs=2, n=40, batch_size=16, **kwargs):
    X, y = blobs(n)
    model = mlp()
    kwargs.setdefault("validation_data", (X[:10], y[:10]))
    history = fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (X, y), epochs=epochs, batch_size=batch_size, reporters=reporters, seed=0, **kwargs)
    return model, history


# ---------------------------------------------------------------------------- the contract


def test_event_order_and_arguments():
    recorder = Recorder()
    _, history = run([recorder])
    names = [(e[0],) + tuple(x for x in e[1:] if not isinstance(x, dict)) for e in recorder.events]
    assert names == [
        ("on_train_begin",),
        ("on_epoch_begin", 1, 3),
        ("on_batch_end", 1, 1),
        ("on_batch_end", 1, 2),
        ("on_batch_end", 1, 3),
        ("on_epoch_end", 1),
        ("on_epoch_begin", 2, 3),
        ("on_batch_end", 2, 1),
        ("on_batch_end", 2, 2),
        ("on_batch_end", 2, 3),
        ("on_epoch_end", 2),
        ("on_train_end", "success"),
    ]
    config = recorder.events[0][1]
    assert config["epochs"] == 2 and config["batch_size"] == 16 and config["train_size"] == 40
    assert config["optimizer"] == "sgd" and config["optimizer_options"]["lr"] == 0.1
    assert config["loss"] == "cross_entropy" and config["model"].startswith("Network(")
    assert config["parameters"] == 2 * 16 + 16 + 16 * 3 + 3
    batch_metrics = recorder.events[2][3]
    assert set(batch_metrics) == {"loss", "accuracy"} and all(isinstance(v, float) for v in batch_metrics.values())
    epoch_metrics = recorder.events[5][2]
    assert set(epoch_metrics) == {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert recorder.events[-1][2] == {k: v for k, v in history.epochs[-1].items() if k != "epoch"}


def test_events_take_keywords_only():
    for name in ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end"):
        parameters = list(inspect.signature(getattr(Reporter, name)).parameters.values())[1:]
        assert parameters and all(p.kind is p.KEYWORD_ONLY for p in parameters), name


class Raising(Reporter):
    name = "raising"

    def __init__(self):
        self.calls = []

    def on_epoch_begin(self, *, epoch, steps):
        self.calls.append(("on_epoch_begin", epoch))

    def on_batch_end(self, *, epoch, step, metrics):
        self.calls.append(("on_batch_end", epoch, step))
        if (epoch, step) == (1, 2):
            raise ValueError("disk full")

    def on_train_end(self, *, status, metrics):
        self.calls.append(("on_train_end",))


def test_a_raising_reporter_is_warned_about_once_and_switched_off():
    before, raising, after = Recorder(), Raising(), Recorder()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, history = run([before, raising, after])
    reporter_warnings = [w for w in caught if issubclass(w.category, ReporterWarning)]
    assert len(reporter_warnings) == 1
    message = str(reporter_warnings[0].message)
    assert "reporter 'raising'" in message and "on_batch_end" in message and "ValueError: disk full" in message
    assert raising.calls == [("on_epoch_begin", 1), ("on_batch_end", 1, 1), ("on_batch_end", 1, 2)]
    assert history.status == "success" and len(history) == 2
    assert len(before.events) == len(after.events) == 12  # every event reached the others
    assert after.events[3][:3] == ("on_batch_end", 1, 2)  # including the one that raised


def test_on_train_end_is_delivered_once_even_when_a_reporter_fails_there():
    class FailsAtEnd(Reporter):
        name = "fails-at-end"

        def on_train_end(self, *, status, metrics):
            raise RuntimeError("cannot upload")

    recorder = Recorder()
    with pytest.warns(ReporterWarning, match="'fails-at-end' failed in on_train_end with RuntimeError: cannot upload"):
        run([FailsAtEnd(), recorder])
    assert len(recorder.ends()) == 1


# ---------------------------------------------------------------------------- built-ins


def test_builtin_reporters_are_registered():
    assert {"progress", "history", "csv"} <= set(tmt_nn.REPORTERS.names())
    assert tmt_nn.REPORTERS.entry("csv").provider.default


def test_history_reporter_by_name():
    reporter = get_reporter("history")
    _, history = run([reporter])
    assert reporter.history.epochs == history.epochs and reporter.history.status == "success"
    assert reporter.history.config["epochs"] == 2


def test_csv_reporter_writes_one_row_per_epoch(tmp_path):
    path = tmp_path / "metrics" / "run.csv"
    run(["csv"], epochs=3, reporter_options={"csv": {"path": path}})
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    assert list(rows[0]) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]
    assert all(float(row["loss"]) > 0 for row in rows)


def test_csv_reporter_default_path_is_under_runs_and_is_told(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    first, second = get_reporter("csv"), get_reporter("csv")
    run([first, second], epochs=1)
    assert first.path.parent.name == "runs" and first.path.suffix == ".csv"
    assert first.path != second.path and first.path.exists() and second.path.exists()
    assert f"csv: metrics of each epoch written to {first.path}" in capsys.readouterr().err


def test_csv_file_of_an_interrupted_run_is_valid_and_holds_the_finished_epochs(tmp_path):
    path = tmp_path / "run.csv"

    class StopInEpoch3(Reporter):
        def on_epoch_begin(self, *, epoch, steps):
            if epoch == 3:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(["csv", StopInEpoch3()], epochs=5, reporter_options={"csv": {"path": str(path)}})
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.csv"]


def test_progress_reporter_draws_bars_with_the_loss(capsys):
    run([get_reporter("progress", disable=False)], epochs=2)
    err = capsys.readouterr().err
    assert "epochs" in err and "loss=" in err and "2/2" in err


def test_progress_reporter_is_silent_when_stderr_is_not_a_terminal(capsys):
    run(["progress"])
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------- names and options


def test_unknown_reporter_name_lists_the_available_ones():
    with pytest.raises(NotFoundError, match=r"no reporter named 'cvs'; did you mean csv.*Available: .*history.*progress"):
        run(["cvs"])


def test_reporter_options_must_name_a_requested_reporter():
    with pytest.raises(ValueError, match=r"reporter_options names \['cvs'\]"):
        run(["csv"], reporter_options={"cvs": {"path": "x.csv"}})


def test_reporter_options_that_do_not_fit_name_the_reporter():
    with pytest.raises(TmtError, match="reporter 'history' .* cannot be created with options"):
        get_reporter("history", colour="red")


def test_reporters_must_be_names_or_reporter_instances():
    with pytest.raises(TypeError, match="names or tmt_nn.Reporter instances"):
        run([print])


class Counting(Reporter):
    name = "counting"
    runs = []

    def __init__(self, every=1, name=None, params=None):
        self.every, self.run_name = every, name

    def on_train_end(self, *, status, metrics):
        Counting.runs.append((self.every, status))


class _ReporterPlugin:
    @plugins.hookimpl
    def register_reporters(self, register):
        register(Counting)


class _NotAReporterPlugin:
    @plugins.hookimpl
    def register_reporters(self, register):
        register(dict, name="not-a-reporter")


def test_a_plugin_reporter_is_used_only_when_asked_for_by_name():
    name = plugins.register(_ReporterPlugin(), name="test-counting-reporter")
    try:
        Counting.runs.clear()
        run(["history"], epochs=1)
        assert Counting.runs == []  # installed is not switched on
        run(["counting"], epochs=1, reporter_options={"counting": {"every": 5}})
        assert Counting.runs == [(5, "success")]
        # options may use any keyword, even those of get_reporter itself
        assert get_reporter("counting", name="my-run").run_name == "my-run"
    finally:
        plugins.unregister(name)
    assert "counting" not in tmt_nn.REPORTERS


def test_a_plugin_registering_a_non_reporter_is_reported(capsys):
    name = plugins.register(_NotAReporterPlugin(), name="test-bad-reporter-plugin")
    try:
        assert "not-a-reporter" not in tmt_nn.REPORTERS.names()
        assert "expected a subclass of tmt_nn.Reporter" in capsys.readouterr().err
    finally:
        plugins.unregister(name)


def test_a_network_without_reporters_trains(tmp_path):
    model = Network([Linear(2, 3, rng=0)])
    X, y = blobs(20)
    history = fit(model, "cross_entropy", SGD(model.parameters(), lr=0.1), (X, y), reporters=None)
    assert len(history) == 1 and np.isfinite(history.loss[0])
