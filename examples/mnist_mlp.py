"""Train the seed's MLP (784-128-64-10) on MNIST or Fashion-MNIST and print its test accuracy.

    python examples/mnist_mlp.py                           # MNIST: downloaded once, then cached
    python examples/mnist_mlp.py --dataset fashion-mnist   # offline with Debian's package
    python examples/mnist_mlp.py --reporter progress,csv,plot

``fit`` runs the seed's training loop for every mini-batch, and tells the reporters:

    logits = model(Tensor(X_batch))
    loss = cross_entropy(logits, Tensor(y_batch))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""

from __future__ import annotations

import argparse
import sys

from tmt_data import DataNotFoundError, load_fashion_mnist, load_mnist
from tmt_nn import Linear, Network, cross_entropy, evaluate, fit, init
from tmt_optim import Adam

LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Train an MLP on MNIST or Fashion-MNIST.", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--dataset", choices=LOADERS, default="mnist",
                        help="mnist is downloaded once; fashion-mnist also works offline (Debian's package)")
    parser.add_argument("--epochs", type=int, default=15, help="passes over the training data")
    parser.add_argument("--batch-size", type=int, default=64, help="examples per step")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    parser.add_argument("--reporter", default="progress", help="comma-separated: progress, csv, plot, wandb")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the shuffling")
    parser.add_argument("--processes", type=int, default=1,
                        help="processes to train on, each a share of every batch (2 on 2 cores: faster)")
    args = parser.parse_args()

    try:
        X_train, y_train, X_test, y_test = data = LOADERS[args.dataset]()  # (N, 784) float32 in [0, 1]
    except DataNotFoundError as error:
        sys.exit(str(error))
    print(f"{args.dataset}: {len(X_train)} training and {len(X_test)} test images, from {data.source}")

    init.manual_seed(args.seed)  # the same initial weights every run
    model = Network([
        Linear(784, 128, activation="relu"),
        Linear(128, 64, activation="relu"),
        Linear(64, 10, activation=None),  # logits
    ])
    optimizer = Adam(model.parameters(), lr=args.lr)

    fit(model, cross_entropy, optimizer, (X_train, y_train), epochs=args.epochs,
        batch_size=args.batch_size, validation_data=(X_test, y_test),
        reporters=[name for name in args.reporter.split(",") if name], seed=args.seed,
        processes=args.processes)
    print(f"test accuracy: {evaluate(model, X_test, y_test)['accuracy']:.4f}")


if __name__ == "__main__":
    main()
