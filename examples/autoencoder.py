"""An MLP autoencoder (784-128-32-128-784): squeeze each image through 32 numbers and back,
trained to reproduce its input with the mean squared error.

    python examples/autoencoder.py --dataset fashion-mnist --epochs 10 --png reconstructions.png

With matplotlib (``pip install matplotlib``, or ``pip install -e ".[plots]"`` in a clone of
tmt) it writes a PNG: a row of test images and, below, their reconstructions.
"""

from __future__ import annotations

import argparse
import sys

from tmt_data import DataNotFoundError, load_fashion_mnist, load_mnist
from tmt_nn import Linear, Network, evaluate, fit, init, mse, predict
from tmt_optim import Adam

LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}
SHOWN = 10  # images in the PNG


def save_grid(path: str, images, reconstructions) -> None:
    """Inputs on the top row, reconstructions below; says how to get matplotlib if missing."""
    try:
        from matplotlib.figure import Figure  # the object API: no window, no global state
    except ImportError:
        print(f'matplotlib is not installed, so no {path}: pip install matplotlib (in a clone of tmt: pip install -e ".[plots]")')
        return
    figure = Figure(figsize=(len(images), 2.2))
    axes = figure.subplots(2, len(images))
    for column, pair in enumerate(zip(images, reconstructions)):
        for row, image in enumerate(pair):
            axes[row, column].imshow(image.reshape(28, 28), cmap="gray", vmin=0, vmax=1)
            axes[row, column].axis("off")
    axes[0, 0].set_title("input", loc="left", fontsize=9)
    axes[1, 0].set_title("reconstruction", loc="left", fontsize=9)
    figure.savefig(path, dpi=80)
    print(f"inputs and reconstructions written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Train an MLP autoencoder with MSE.", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--dataset", choices=LOADERS, default="mnist",
                        help="mnist is downloaded once; fashion-mnist also works offline (Debian's package)")
    parser.add_argument("--epochs", type=int, default=10, help="passes over the training data")
    parser.add_argument("--batch-size", type=int, default=128, help="examples per step")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    parser.add_argument("--reporter", default="progress", help="comma-separated: progress, csv, plot, wandb")
    parser.add_argument("--png", default="autoencoder.png", help="where to write the image grid")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the shuffling")
    args = parser.parse_args()

    try:
        X_train, _, X_test, _ = data = LOADERS[args.dataset]()  # labels are not needed
    except DataNotFoundError as error:
        sys.exit(str(error))
    print(f"{args.dataset}: {len(X_train)} training and {len(X_test)} test images, from {data.source}")

    init.manual_seed(args.seed)
    model = Network([
        Linear(784, 128, activation="relu"),  # encoder
        Linear(128, 32, activation="relu"),  # the code: 32 numbers per image
        Linear(32, 128, activation="relu"),  # decoder
        Linear(128, 784, activation="sigmoid"),  # pixels in [0, 1], like the inputs
    ])
    # The target is the input itself; accuracy means nothing here, so only the loss is kept.
    fit(model, mse, Adam(model.parameters(), lr=args.lr), (X_train, X_train), epochs=args.epochs,
        batch_size=args.batch_size, metrics=(), seed=args.seed,
        reporters=[name for name in args.reporter.split(",") if name])
    print(f"test reconstruction error (MSE): {evaluate(model, X_test, X_test, loss=mse, metrics=())['loss']:.4f}")
    save_grid(args.png, X_test[:SHOWN], predict(model, X_test[:SHOWN]))


if __name__ == "__main__":
    main()
