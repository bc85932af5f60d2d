"""``tmt train``: a run on tiny IDX files written here (saved weights load back), and every
bad argument refused in one line with exit code 2 before any data is loaded.

The tiny files hold fewer images than the real datasets, whose image counts the loaders
check; the ``tiny_data`` fixture lifts that one check for the test (monkeypatch).
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from tmt.cli import main
from tmt.cli.train import build_model
from tmt_data import mnist, write_idx
from tmt_nn import evaluate, init


@pytest.fixture
def tiny_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TMT_DATA_DIR with 64 training and 32 test images of each dataset; no other source."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    for name in ("mnist", "fashion-mnist"):
        (root / name).mkdir(parents=True)
        for prefix, count in (("train", 64), ("t10k", 32)):
            write_idx(root / name / f"{prefix}-images-idx3-ubyte.gz",
                      (rng.random((count, 28, 28)) * 255).astype(np.uint8))
            write_idx(root / name / f"{prefix}-labels-idx1-ubyte.gz",
                      rng.integers(0, 10, count).astype(np.uint8))
    for dataset in (mnist.MNIST, mnist.FASHION_MNIST):
        monkeypatch.setattr(dataset, "spec", dataclasses.replace(dataset.spec, counts=None))
    monkeypatch.setenv("TMT_DATA_DIR", str(root))
    monkeypatch.setenv("TMT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TMT_MNIST_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.setenv("TMT_FASHION_MNIST_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.chdir(tmp_path)
    yield root
    init.manual_seed(None)  # --seed seeds initialisation process-wide: no leak into other tests


def test_train_saves_a_model_that_loads_back(tiny_data, tmp_path, capsys) -> None:
    saved = tmp_path / "model.npz"
    code = main(["train", "--dataset", "fashion-mnist", "--epochs", "2", "--batch-size", "16",
                 "--reporter", "", "--save", str(saved), "--seed", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "data: fashion-mnist, 64 training and 32 test examples" in out
    assert f"from data folder (TMT_DATA_DIR): {tiny_data / 'fashion-mnist'}" in out
    printed = float(out.split("test accuracy: ")[1].split()[0])
    assert f"saved to {saved}" in out

    model = build_model("mlp", (784,), 10).load(saved)  # strict: every weight, right shapes
    stored = np.load(saved)
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, stored[name])
    from tmt_data import load_fashion_mnist

    _, _, X_test, y_test = load_fashion_mnist()
    assert evaluate(model, X_test, y_test)["accuracy"] == pytest.approx(printed, abs=5e-5)


def test_train_a_cnn_with_sgd_and_a_csv_of_its_epochs(tiny_data, tmp_path, capsys) -> None:
    code = main(["train", "--model", "cnn", "--dataset", "mnist", "--epochs", "2", "--batch-size", "32",
                 "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9", "--reporter", "csv"])
    out = capsys.readouterr().out
    assert code == 0
    assert "model: cnn" in out and "optimizer: sgd {'lr': 0.05, 'momentum': 0.9}" in out
    assert 0.0 <= float(out.split("test accuracy: ")[1].split()[0]) <= 1.0
    (metrics_file,) = (tmp_path / "runs").glob("*.csv")
    rows = list(csv.DictReader(metrics_file.open()))
    assert [row["epoch"] for row in rows] == ["1", "2"] and "val_accuracy" in rows[0]


def test_decay_at_trains_the_last_epochs_at_a_tenth_of_the_learning_rate(tiny_data, tmp_path, capsys) -> None:
    code = main(["train", "--dataset", "mnist", "--epochs", "3", "--optimizer", "sgd", "--lr", "0.2",
                 "--decay-at", "3", "--reporter", "csv", "--seed", "0"])
    out = capsys.readouterr().out
    assert code == 0 and "learning rate: a tenth from epoch 3" in out
    (metrics_file,) = (tmp_path / "runs").glob("*.csv")
    assert [float(row["lr"]) for row in csv.DictReader(metrics_file.open())] == pytest.approx([0.2, 0.2, 0.02])


def test_two_processes_train_the_model_one_does(tiny_data, capsys) -> None:
    """--processes 2: each a share of every batch, the same model to rounding (32 test images)."""
    accuracies = []
    for processes in ("1", "2"):
        assert main(["train", "--dataset", "mnist", "--epochs", "2", "--batch-size", "8", "--reporter", "",
                     "--seed", "5", "--optimizer", "sgd", "--processes", processes]) == 0
        accuracies.append(float(capsys.readouterr().out.split("test accuracy: ")[1].split()[0]))
    assert accuracies[1] == pytest.approx(accuracies[0], abs=1 / 32)


def test_same_seed_same_run(tiny_data, capsys) -> None:
    arguments = ["train", "--dataset", "mnist", "--epochs", "1", "--reporter", "", "--seed", "7"]
    assert main(arguments) == 0
    first = capsys.readouterr().out
    assert main(arguments) == 0
    assert capsys.readouterr().out == first


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--epochs", "0"], "--epochs must be at least 1, got 0"),
        (["--epochs", "-2"], "--epochs must be at least 1, got -2"),
        (["--batch-size", "-1"], "--batch-size must be at least 1, got -1"),
        (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
        (["--processes", "0"], "--processes must be at least 1, got 0"),
        (["--lr", "0"], "--lr must be positive, got 0.0"),
        (["--decay-at", "1"], "--decay-at needs --epochs 2 or more (epoch 1 trains at --lr), got --epochs 1"),
        (["--epochs", "3", "--decay-at", "5"], "--decay-at must be an epoch from 2 to --epochs (3), got 5"),
        (["--model", "rnn"], "--model must be one of mlp, cnn, got 'rnn'"),
        (["--save", "{tmp}/no/such/folder/model.npz"], "the folder {tmp}/no/such/folder does not exist"),
        (["--save", "{tmp}"], "--save {tmp}: is a folder"),
        (["--dataset", "cifar"], "no dataset named 'cifar'"),
        (["--optimizer", "adamm"], "no optimizer named 'adamm'; did you mean adam"),
        (["--reporter", "progress,tensorboard"], "no reporter named 'tensorboard'"),
        (["--data-dir", "{tmp}/nothing-here"], "--data-dir {tmp}/nothing-here: no such folder"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_code_2(tiny_data, tmp_path, capsys, arguments, says) -> None:
    arguments = [a.format(tmp=tmp_path) for a in arguments]
    code = main(["train", "--epochs", "1", *arguments])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("tmt train: error: ") and captured.err.count("\n") == 1
    assert says.format(tmp=tmp_path) in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""  # refused before any data was loaded or any step taken


def test_unknown_dataset_lists_the_available_ones(tiny_data, capsys) -> None:
    assert main(["train", "--dataset", "svhn"]) == 2
    err = capsys.readouterr().err
    assert "Available: " in err and "fashion-mnist" in err and "mnist" in err


def test_missing_data_is_an_error_that_lists_what_was_tried(tiny_data, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TMT_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert main(["train", "--dataset", "mnist", "--epochs", "1", "--reporter", ""]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tmt train: dataset 'mnist' is not available") and "Traceback" not in err


def test_help_names_every_option(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ("--model", "--dataset", "--epochs", "--batch-size", "--optimizer", "--lr",
                   "--decay-at", "--reporter", "--save", "--seed"):
        assert option in out


def test_ctrl_c_during_training_saves_the_last_good_weights(tiny_data, tmp_path, capsys, monkeypatch) -> None:

    def interrupted_fit(model, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("tmt_nn.fit", interrupted_fit)
    saved = tmp_path / "model.npz"
    code = main(["train", "--dataset", "fashion-mnist", "--epochs", "2", "--reporter", "",
                 "--save", str(saved)])
    captured = capsys.readouterr()
    assert code == 130 and "tmt: interrupted" in captured.err
    assert f"interrupted: the last good weights are saved to {saved}" in captured.out
    build_model("mlp", (784,), 10).load(saved)  # a complete, loadable file


def test_a_tmt_error_is_one_line_not_a_traceback(tiny_data, capsys, monkeypatch) -> None:
    from tmt_core import TmtError

    def failing_fit(*args, **kwargs):
        raise TmtError("plugin broken (broken 0.1) failed to load: ImportError")

    monkeypatch.setattr("tmt_nn.fit", failing_fit)
    code = main(["train", "--dataset", "fashion-mnist", "--epochs", "1", "--reporter", ""])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == "tmt: error: plugin broken (broken 0.1) failed to load: ImportError"



def test_model_names_ignore_case(tiny_data, capsys) -> None:
    assert main(["train", "--model", "CNN", "--dataset", "mnist", "--epochs", "1", "--reporter", ""]) == 0
    assert "model: cnn" in capsys.readouterr().out
