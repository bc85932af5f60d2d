"""The examples run: ``--help`` for each, and each end to end on tiny IDX files written here.

The examples run in a subprocess, as a user runs them, with ``TMT_DATA_DIR`` pointing at the
tiny files and every other source (cache, Keras cache, mirrors) pointing at nothing, so no
test can reach the network. The tiny files hold fewer images than the real datasets, whose
image counts the loaders check: the subprocess lifts that one check before running the
example (``COUNTS_OFF``); the files are still found, read and validated as usual.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tmt_data import write_idx

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(path.name for path in EXAMPLES_DIR.glob("*.py"))
TRAINING_EXAMPLES = [name for name in EXAMPLES if name != "demo.py"]
ACCURACY = re.compile(r"test accuracy[^\d\n]*(\d\.\d{4})")  # also the benchmark's table row

COUNTS_OFF = (
    "import dataclasses, runpy, sys\n"
    "from tmt_data import mnist\n"
    "for dataset in (mnist.MNIST, mnist.FASHION_MNIST):\n"
    "    dataset.spec = dataclasses.replace(dataset.spec, counts=None)\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def write_tiny_dataset(folder: Path, train: int = 96, test: int = 48, seed: int = 0) -> None:
    """MNIST-style gzip IDX files: each class a bright square at its own place, plus noise,
    so that even one epoch on a few images learns something."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", train), ("t10k", test)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = (rng.random((count, 28, 28)) * 60).astype(np.uint8)
        for index, label in enumerate(labels):
            row, column = divmod(int(label), 5)
            images[index, 4 + 10 * row : 12 + 10 * row, 2 + 5 * column : 6 + 5 * column] = 255
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_tiny_dataset(root / "mnist", seed=1)
    write_tiny_dataset(root / "fashion-mnist", seed=2)
    return root


def offline_environment(tmp_path: Path, data_dir: Path | None) -> dict[str, str]:
    nowhere = "http://127.0.0.1:9/"  # the discard port: refused at once, never the network
    env = {**os.environ, "TMT_CACHE_DIR": str(tmp_path / "cache"), "KERAS_HOME": str(tmp_path / "keras"),
           "TMT_MNIST_MIRRORS": nowhere, "TMT_FASHION_MNIST_MIRRORS": nowhere}
    env.pop("TMT_DATA_DIR", None)
    if data_dir is not None:
        env["TMT_DATA_DIR"] = str(data_dir)
    return env


def run_example(name: str, *args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", COUNTS_OFF, str(EXAMPLES_DIR / name), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def accuracy_in(output: str) -> float:
    found = ACCURACY.findall(output)
    assert found, f"no test accuracy printed in:\n{output}"
    return float(found[-1])


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_explains_itself_with_help(name: str) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES_DIR / name), "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:") and "--epochs" in done.stdout


@pytest.mark.parametrize("name", TRAINING_EXAMPLES)
def test_training_examples_take_the_common_options(name: str) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES_DIR / name), "--help"],
                          capture_output=True, text=True, timeout=120)
    for option in ("--dataset", "--epochs", "--batch-size", "--reporter"):
        assert option in done.stdout, f"{name} --help does not offer {option}"
    assert "fashion-mnist" in done.stdout


@pytest.mark.parametrize(
    ("name", "dataset"),
    [("mnist_mlp.py", "fashion-mnist"), ("mnist_conv.py", "mnist"), ("custom_op.py", "fashion-mnist"),
     ("mnist_conv_keras_benchmark.py", "mnist")],
)
def test_classifier_examples_train_and_print_the_test_accuracy(name, dataset, data_dir, tmp_path) -> None:
    done = run_example(name, "--dataset", dataset, "--epochs", "1", "--batch-size", "32", "--reporter", "csv",
                       cwd=tmp_path, env=offline_environment(tmp_path, data_dir))
    assert done.returncode == 0, done.stderr
    assert "from data folder (TMT_DATA_DIR)" in done.stdout and str(data_dir / dataset) in done.stdout
    assert 0.0 <= accuracy_in(done.stdout) <= 1.0
    (metrics_file,) = (tmp_path / "runs").glob("*.csv")  # the csv reporter took part
    assert metrics_file.read_text().splitlines()[0].startswith("epoch,loss,accuracy")


def test_custom_op_passes_its_conformance_check(data_dir, tmp_path) -> None:
    done = run_example("custom_op.py", "--dataset", "mnist", "--epochs", "1", "--reporter", "",
                       cwd=tmp_path, env=offline_environment(tmp_path, data_dir))
    assert done.returncode == 0, done.stderr
    assert re.search(r"conformance check of examples\.swish: [1-9]\d* passed, 0 failed", done.stdout)


def test_keras_benchmark_without_tensorflow_says_how_to_install_it(data_dir, tmp_path) -> None:
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("TensorFlow is installed here: the Keras half runs instead")
    done = run_example("mnist_conv_keras_benchmark.py", "--dataset", "mnist", "--epochs", "1",
                       "--reporter", "", cwd=tmp_path, env=offline_environment(tmp_path, data_dir))
    assert done.returncode == 0, done.stderr
    assert 'pip install tensorflow (in a clone of tmt: pip install -e ".[keras]")' in done.stdout
    assert re.search(r"s / epoch +\d+\.\d\d\n", done.stdout)  # the tmt column alone


def test_autoencoder_reports_its_reconstruction_error(data_dir, tmp_path) -> None:
    done = run_example("autoencoder.py", "--dataset", "fashion-mnist", "--epochs", "1", "--reporter", "",
                       "--png", "grid.png", cwd=tmp_path, env=offline_environment(tmp_path, data_dir))
    assert done.returncode == 0, done.stderr
    error = re.search(r"test reconstruction error \(MSE\): (\d\.\d{4})", done.stdout)
    assert error and 0.0 < float(error.group(1)) < 1.0
    if has_matplotlib():
        assert (tmp_path / "grid.png").read_bytes().startswith(b"\x89PNG")
    else:
        assert 'pip install matplotlib (in a clone of tmt: pip install -e ".[plots]")' in done.stdout
        assert not (tmp_path / "grid.png").exists()


def test_plot_reporter_writes_training_curves_or_says_what_is_missing(data_dir, tmp_path) -> None:
    done = run_example("mnist_mlp.py", "--dataset", "mnist", "--epochs", "2", "--reporter", "plot",
                       cwd=tmp_path, env=offline_environment(tmp_path, data_dir))
    assert done.returncode == 0, done.stderr
    accuracy_in(done.stdout)  # the run went on either way
    if has_matplotlib():
        (png,) = (tmp_path / "runs").glob("*.png")
        assert png.read_bytes().startswith(b"\x89PNG")
        assert f"training curves written to {Path('runs') / png.name}" in done.stderr
    else:
        assert done.stderr.count("plot: matplotlib is not installed") == 1
        assert not (tmp_path / "runs").exists()


def test_demo_trains_on_mnist_when_it_is_there(data_dir, tmp_path) -> None:
    done = run_example("demo.py", "--epochs", "1", cwd=tmp_path, env=offline_environment(tmp_path, data_dir))
    assert done.returncode == 0, done.stderr
    assert "dataset: mnist" in done.stdout
    assert re.search(r"test accuracy on mnist: \d\.\d{4} \(target 0\.975: ", done.stdout)
    assert "epoch  1: loss" in done.stdout  # not a terminal: one line per epoch, no bars


def test_demo_falls_back_to_fashion_mnist_without_mnist(tmp_path) -> None:
    only_fashion = tmp_path / "data"
    write_tiny_dataset(only_fashion / "fashion-mnist")
    done = run_example("demo.py", "--epochs", "1", cwd=tmp_path, env=offline_environment(tmp_path, only_fashion))
    assert done.returncode == 0, done.stderr
    assert "MNIST is not on this machine and could not be downloaded: using Fashion-MNIST" in done.stdout
    assert re.search(r"test accuracy on fashion-mnist: \d\.\d{4} \(target 0\.88: ", done.stdout)


def has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


REAL_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


@pytest.mark.slow
@pytest.mark.skipif(not REAL_FASHION_MNIST.is_file(),
                    reason="Fashion-MNIST is not installed (sudo apt-get install dataset-fashion-mnist)")
def test_mlp_example_learns_real_fashion_mnist(tmp_path) -> None:
    env = offline_environment(tmp_path, None)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES_DIR / "mnist_mlp.py"), "--dataset", "fashion-mnist", "--epochs", "5",
         "--reporter", ""], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "from Debian package dataset-fashion-mnist" in done.stdout
    assert accuracy_in(done.stdout) >= 0.85
