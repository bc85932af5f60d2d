"""The same CNN trained in tmt and in Keras: same data, batch size, optimizer and epochs;
seconds per epoch and test accuracy side by side.

    pip install -e ".[keras]"        # in the clone: TensorFlow; without it only tmt runs
    python examples/mnist_conv_keras_benchmark.py --dataset fashion-mnist --epochs 10

Seconds per epoch are the median over the epochs, training only (the test set is scored
once, at the end), so Keras' first epoch, which also traces its graph, does not weigh in.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time

from tmt_data import DataNotFoundError, load_fashion_mnist, load_mnist
from tmt_nn import Conv2D, Flatten, Linear, MaxPool2D, Network, cross_entropy, evaluate, fit, init
from tmt_optim import Adam

LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}
KERAS_HINT = 'TensorFlow is not installed, so Keras is skipped: pip install tensorflow (in a clone of tmt: pip install -e ".[keras]")'


def train_tmt(data, args) -> tuple[float, float]:
    X_train, y_train, X_test, y_test = data
    init.manual_seed(args.seed)
    model = Network([
        Conv2D(1, 16, kernel_size=3, stride=1, padding=1, activation="relu"),
        MaxPool2D(pool_size=2, stride=2),
        Conv2D(16, 32, kernel_size=3, stride=1, padding=1, activation="relu"),
        MaxPool2D(pool_size=2, stride=2),
        Flatten(),
        Linear(32 * 7 * 7, 128, activation="relu"),
        Linear(128, 10),  # logits
    ])
    history = fit(model, cross_entropy, Adam(model.parameters(), lr=args.lr), (X_train, y_train),
                  epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, processes=args.processes,
                  reporters=[name for name in args.reporter.split(",") if name])
    return statistics.median(history["seconds"]), evaluate(model, X_test, y_test)["accuracy"]


def train_keras(data, args) -> tuple[float, float]:
    import keras  # TensorFlow's Keras 3

    X_train, y_train, X_test, y_test = data
    to_nhwc = (0, 2, 3, 1)  # Keras wants channels last
    keras.utils.set_random_seed(args.seed)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10),  # logits
    ])
    model.compile(optimizer=keras.optimizers.Adam(args.lr), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    seconds: list[float] = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seconds.append(time.perf_counter()),
        on_epoch_end=lambda epoch, logs: seconds.append(time.perf_counter() - seconds.pop()),
    )
    model.fit(X_train.transpose(to_nhwc), y_train, epochs=args.epochs, batch_size=args.batch_size,
              callbacks=[timer], verbose=2 if "progress" in args.reporter else 0)
    _, accuracy = model.evaluate(X_test.transpose(to_nhwc), y_test, batch_size=256, verbose=0)
    return statistics.median(seconds), accuracy


def main() -> None:
    parser = argparse.ArgumentParser(
        description="The same CNN in tmt and in Keras, timed.", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--dataset", choices=LOADERS, default="mnist",
                        help="mnist is downloaded once; fashion-mnist also works offline (Debian's package)")
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training data")
    parser.add_argument("--batch-size", type=int, default=64, help="examples per step")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate, both sides")
    parser.add_argument("--reporter", default="progress", help="tmt's reporters, comma-separated")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the shuffling")
    parser.add_argument("--processes", type=int, default=2,
                        help="tmt's processes, each training on a share of every batch (fit's processes=)")
    args = parser.parse_args()

    try:
        X_train, y_train, X_test, y_test = data = LOADERS[args.dataset](flatten=False)  # (N, 1, 28, 28)
    except DataNotFoundError as error:
        sys.exit(str(error))
    print(f"{args.dataset}: {len(X_train)} training and {len(X_test)} test images, from {data.source}")
    mean, std = X_train.mean(), X_train.std()  # standardised as in mnist_conv.py, for both
    data = ((X_train - mean) / std, y_train, (X_test - mean) / std, y_test)
    print(f"{args.epochs} epoch(s), batch size {args.batch_size}, Adam lr={args.lr}, standardised inputs; "
          f"tmt on {args.processes} process(es)")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # less of TensorFlow's start-up chatter
    has_keras = importlib.util.find_spec("tensorflow") is not None
    if not has_keras:
        print(KERAS_HINT)
    results = {"tmt": train_tmt(data, args)}
    if has_keras:
        results["Keras"] = train_keras(data, args)

    print(f"\n{'':14}" + "".join(f"{name:>10}" for name in results))
    print(f"{'s / epoch':14}" + "".join(f"{s:>10.2f}" for s, _ in results.values()))
    print(f"{'test accuracy':14}" + "".join(f"{a:>10.4f}" for _, a in results.values()))


if __name__ == "__main__":
    main()
