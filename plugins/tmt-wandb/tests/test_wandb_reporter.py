"""The ``wandb`` reporter against real wandb: offline runs written to a tmp folder and read
back record by record, a disabled run, and the missing-API-key case."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from tmt_core import plugins
from tmt_nn import Linear, Network, fit, get_reporter
from tmt.testing import fake_run
from tmt_wandb import WandbReporter
from wandb_records import wait_for_run


def squared_error(outputs, targets):
    return ((outputs - targets) ** 2).mean()


def train(problem, reporters, reporter_options=None, loss=squared_error, epochs=2):
    X, Y = problem
    model = Network([Linear(4, 8, activation="relu"), Linear(8, 2)])
    return fit(model, loss, "sgd", (X, Y), epochs=epochs, batch_size=16,
               validation_data=(X[:16], Y[:16]), reporters=reporters,
               reporter_options=reporter_options, optimizer_options={"lr": 0.1}, seed=0)


def offline_runs(runs_dir: Path) -> list[Path]:
    return sorted((runs_dir / "wandb").glob("offline-run-*"))


def test_the_entry_point_provides_the_reporter():
    reporter = get_reporter("wandb", mode="disabled")
    info = plugins.plugin_info("wandb")
    assert isinstance(reporter, WandbReporter)
    assert (info.distribution, info.version, info.status) == ("tmt-wandb", "0.1.0", "loaded")
    assert info.provides == {"reporter": ["wandb"]}


def test_importing_the_plugin_does_not_import_wandb():
    code = "import sys, tmt_wandb; print('wandb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_offline_run_holds_config_step_and_epoch_metrics(monkeypatch, runs_dir, toy_problem):
    monkeypatch.setenv("WANDB_MODE", "offline")
    history = train(toy_problem, ["wandb"],
                    {"wandb": {"project": "tmt-tests", "name": "toy", "tags": ["ci"]}})

    (run_dir,) = offline_runs(runs_dir)
    assert list(run_dir.glob("run-*.wandb")), f"no .wandb file in {run_dir}"
    run = wait_for_run(run_dir)
    assert run.config["epochs"] == 2 and run.config["batch_size"] == 16
    assert run.config["optimizer"] == "sgd" and run.config["optimizer_options"]["lr"] == 0.1

    batches = [row for row in run.history if "batch/loss" in row]
    assert [row["train/step"] for row in batches] == list(range(1, 9))  # 2 epochs x 4 steps
    assert all(math.isfinite(row["batch/loss"]) for row in batches)
    epochs = [row for row in run.history if "epoch" in row]
    assert [row["epoch"] for row in epochs] == [1, 2]
    assert [row["epoch/loss"] for row in epochs] == pytest.approx(history.loss)
    assert [row["epoch/val_loss"] for row in epochs] == pytest.approx(history.val_loss)

    assert run.summary["status"] == "success"
    assert run.summary["final/loss"] == pytest.approx(history.loss[-1])
    assert run.exit_code == 0


def test_log_every_thins_the_step_metrics(monkeypatch, runs_dir, toy_problem):
    monkeypatch.setenv("WANDB_MODE", "offline")
    train(toy_problem, [WandbReporter(log_every=3)])
    run = wait_for_run(offline_runs(runs_dir)[0])
    assert [row["train/step"] for row in run.history if "batch/loss" in row] == [3, 6]
    assert len([row for row in run.history if "epoch/loss" in row]) == 2


def test_log_every_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="reporter wandb: log_every must be an integer >= 1"):
        WandbReporter(log_every=0)


def test_a_failed_run_finishes_with_exit_code_1(monkeypatch, runs_dir, toy_problem):
    monkeypatch.setenv("WANDB_MODE", "offline")
    calls = []

    def breaks_on_third_batch(outputs, targets):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the loss broke")
        return squared_error(outputs, targets)

    with pytest.raises(RuntimeError, match="the loss broke"):
        train(toy_problem, ["wandb"], loss=breaks_on_third_batch)
    run = wait_for_run(offline_runs(runs_dir)[0])
    assert run.exit_code == 1 and run.summary["status"] == "failed"
    assert len([row for row in run.history if "batch/loss" in row]) == 2


def test_an_interrupted_run_finishes_with_exit_code_255(runs_dir):
    fake_run(WandbReporter(mode="offline"), status="interrupted", stop_at=(1, 2))
    run = wait_for_run(offline_runs(runs_dir)[0])
    assert run.exit_code == 255 and run.summary["status"] == "interrupted"


def test_disabled_mode_trains_and_writes_nothing(monkeypatch, runs_dir, toy_problem, capsys):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    history = train(toy_problem, ["wandb"])
    assert history.status == "success" and len(history.loss) == 2
    assert not offline_runs(runs_dir)
    assert "WANDB_MODE=offline" not in capsys.readouterr().err


def test_the_mode_option_wins_over_the_environment(monkeypatch, runs_dir, toy_problem):
    monkeypatch.setenv("WANDB_MODE", "offline")
    train(toy_problem, ["wandb"], {"wandb": {"mode": "disabled"}})
    assert not offline_runs(runs_dir)


def test_no_api_key_costs_one_line_and_never_the_run(monkeypatch, runs_dir, toy_problem, capsys):
    monkeypatch.setattr("sys.stdin", _NoInput())  # any prompt would fail this test
    reporter = WandbReporter(project="tmt-tests")
    history = train(toy_problem, ["history", reporter])

    assert history.status == "success" and len(history.loss) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if "wandb" in line.lower()]
    assert len(lines) == 1, lines
    assert "WANDB_MODE=offline" in lines[0] and "wandb login" in lines[0]
    assert reporter.run is None
    assert not (runs_dir / "wandb").exists()


def test_a_failing_wandb_init_switches_the_reporter_off(runs_dir, toy_problem, capsys):
    too_long = "t" * 100  # wandb refuses tags over 64 characters: init raises
    history = train(toy_problem, [WandbReporter(mode="offline", tags=[too_long])])
    assert history.status == "success"
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "tmt:" in line]
    assert line.startswith("tmt: reporter wandb: wandb could not start a run (ValidationError")
    assert line.endswith("reporter off for this run")


class _NoInput:
    """A stdin that fails loudly: wandb must never ask anything."""

    def isatty(self) -> bool:
        return True  # look interactive, so a prompt would really be attempted

    def readline(self, *args):
        raise AssertionError("wandb prompted on stdin")

    read = readline

    def fileno(self) -> int:
        raise OSError("no stdin in this test")
