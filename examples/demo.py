"""What ``make demo`` runs: train the MLP on real data and beat a known test accuracy.

MNIST when it can be had (cache, Keras cache, or a download); otherwise Fashion-MNIST from
Debian's package ``dataset-fashion-mnist``, installed here with apt-get when this user may
(root, or passwordless sudo); otherwise the exact command to run is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

from tmt_data import DataNotFoundError, load_fashion_mnist, load_mnist
from tmt_nn import Linear, Network, Reporter, cross_entropy, evaluate, fit, init
from tmt_optim import Adam

PACKAGE = "dataset-fashion-mnist"
# What the MLP should beat on each dataset (bench/RESULTS.md has the measured figures).
TARGETS = {"mnist": 0.975, "fashion-mnist": 0.88}


class EpochLines(Reporter):
    """One line per epoch, for logs; on a terminal the progress bars show the same."""

    name = "epoch-lines"

    def on_epoch_end(self, *, epoch, metrics):
        print(f"  epoch {epoch:2d}: loss {metrics['loss']:.4f}, test accuracy "
              f"{metrics['val_accuracy']:.4f} ({metrics['seconds']:.1f} s)", flush=True)


def apt_prefix() -> list[str] | None:
    """How this user may run apt-get: directly as root, through passwordless sudo, or not."""
    if shutil.which("apt-get") is None:
        return None
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def install_fashion_mnist() -> bool:
    """apt-get install the Debian package, refreshing the package lists if it is not found."""
    prefix = apt_prefix()
    if prefix is None:
        return False
    command = [*prefix, "apt-get", "install", "-y", "-q", PACKAGE]
    print(f"installing Fashion-MNIST: {' '.join(command)}", flush=True)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(command, env=environment).returncode == 0:
        return True
    subprocess.run([*prefix, "apt-get", "update", "-q"], env=environment)
    return subprocess.run(command, env=environment).returncode == 0


def load_data():
    """(name, data): MNIST if it can be had, else Fashion-MNIST, installing it if need be."""
    try:
        return "mnist", load_mnist(timeout=10)
    except DataNotFoundError:
        print("MNIST is not on this machine and could not be downloaded: using Fashion-MNIST.")
    try:
        return "fashion-mnist", load_fashion_mnist(download=False)
    except DataNotFoundError:
        pass
    if not install_fashion_mnist():
        print(f"Fashion-MNIST is not installed and this user may not install it. Run:\n"
              f"    sudo apt-get install {PACKAGE}\nthen run the demo again (or the data is "
              f"downloaded, if the mirrors can be reached).")
    try:
        return "fashion-mnist", load_fashion_mnist(timeout=10)
    except DataNotFoundError as error:
        sys.exit(str(error))


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Train the MLP on MNIST or Fashion-MNIST.", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=15, help="passes over the training data")
    args = parser.parse_args()

    name, data = load_data()
    X_train, y_train, X_test, y_test = data
    print(f"dataset: {name}, {len(X_train)} training and {len(X_test)} test images, from {data.source}")

    init.manual_seed(0)
    model = Network([
        Linear(784, 128, activation="relu"),
        Linear(128, 64, activation="relu"),
        Linear(64, 10),  # logits
    ])
    print(f"training {model.num_parameters():,} parameters for {args.epochs} epochs (Adam, batch 64)")
    progress = "progress" if sys.stderr.isatty() else EpochLines()
    fit(model, cross_entropy, Adam(model.parameters(), lr=1e-3), (X_train, y_train),
        epochs=args.epochs, batch_size=64, validation_data=(X_test, y_test),
        reporters=[progress], seed=0)

    accuracy, target = evaluate(model, X_test, y_test)["accuracy"], TARGETS[name]
    verdict = "beaten" if accuracy >= target else "NOT reached"
    print(f"test accuracy on {name}: {accuracy:.4f} (target {target}: {verdict})")


if __name__ == "__main__":
    main()
