"""``tmt train``: train the seed's MLP or CNN on a registered dataset, print the test accuracy.

    tmt train --model cnn --dataset fashion-mnist --epochs 10 --reporter progress,csv \\
              --save cnn.npz

Every argument is checked before any data is loaded or any step is taken, so a typo costs a
second, not a training run: a bad value is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run", "build_model", "MODELS", "UsageError"]

MODELS = ("mlp", "cnn")
# SGD has no default learning rate; the others bring their own (Adam: 1e-3).
DEFAULT_LR = {"sgd": 0.1}


class UsageError(Exception):
    """A bad command-line value: printed as one line, exit code 2."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train",
        help="train an MLP or a CNN on a dataset and print its test accuracy",
        description="Train the MLP (784-128-64-10) or the CNN (2 conv + 2 max-pool + 2 linear) "
        "on a registered dataset, then print the test accuracy.",
    )
    parser.add_argument("--model", default="mlp", help="mlp or cnn (default: mlp)")
    parser.add_argument("--dataset", default="fashion-mnist",
                        help="a registered dataset: mnist, fashion-mnist, or a plugin's "
                        "(`tmt datasets` lists them; default: fashion-mnist)")
    parser.add_argument("--data-dir", help="a folder holding the dataset's IDX files")
    parser.add_argument("--epochs", type=int, default=10, help="passes over the data (default: 10)")
    parser.add_argument("--batch-size", type=int, default=128, help="examples per step (default: 128)")
    parser.add_argument("--optimizer", default="adam",
                        help="a registered optimizer: sgd, adam, adamw, ... (default: adam)")
    parser.add_argument("--lr", type=float, help="learning rate (default: the optimizer's; sgd: 0.1)")
    parser.add_argument("--momentum", type=float, help="momentum, for optimizers that take it (sgd)")
    parser.add_argument("--decay-at", type=int, metavar="EPOCH",
                        help="from this epoch on, train at a tenth of the learning rate "
                        "(a step schedule, tmt_optim.MultiStepLR; default: none)")
    parser.add_argument("--reporter", default="progress",
                        help="comma-separated reporters: progress, csv, plot, history, or a "
                        "plugin's such as wandb (default: progress; '' for none)")
    parser.add_argument("--save", metavar="PATH", help="save the trained weights to PATH (.npz)")
    parser.add_argument("--seed", type=int, help="seed for the initial weights and the shuffling (default: none, so every run differs)")
    parser.add_argument("--processes", type=int, default=1,
                        help="train on N processes, each on a share of every batch (default: 1; 2 on 2 cores is faster)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        reporters = _check_arguments(args)
    except UsageError as exc:
        print(f"tmt train: error: {exc}", file=sys.stderr)
        return 2

    from tmt_data import DataError, load_dataset
    from tmt_nn import fit, init
    from tmt_optim import MultiStepLR, create_optimizer

    try:
        data = load_dataset(args.dataset, flatten=args.model == "mlp",
                            **({"data_dir": args.data_dir} if args.data_dir else {}))
    except DataError as exc:
        print(f"tmt train: {exc}", file=sys.stderr)
        return 1
    X_train, y_train, X_test, y_test = data
    source = getattr(data, "source", None)
    print(f"data: {args.dataset}, {len(X_train)} training and {len(X_test)} test examples"
          + (f", from {source}" if source is not None else ""))

    if args.seed is not None:
        init.manual_seed(args.seed)
    classes = int(max(y_train.max(), y_test.max())) + 1
    model = build_model(args.model, X_train.shape[1:], classes)
    options: dict[str, Any] = {}
    lr = args.lr if args.lr is not None else DEFAULT_LR.get(args.optimizer)
    if lr is not None:
        options["lr"] = lr
    if args.momentum is not None:
        options["momentum"] = args.momentum
    try:
        optimizer = create_optimizer(args.optimizer, model.parameters(), **options)
    except (TypeError, ValueError) as exc:
        print(f"tmt train: error: optimizer {args.optimizer!r}: {exc}", file=sys.stderr)
        return 2
    print(f"model: {args.model}, {model.num_parameters():,} parameters; optimizer: "
          f"{args.optimizer} {options or '(its defaults)'}")
    schedule = None
    if args.decay_at is not None:
        schedule = MultiStepLR(optimizer, milestones=[args.decay_at - 1], gamma=0.1)
        print(f"learning rate: a tenth from epoch {args.decay_at}")

    try:
        history = fit(
            model, "cross_entropy", optimizer, (X_train, y_train), epochs=args.epochs,
            batch_size=args.batch_size, validation_data=(X_test, y_test), reporters=reporters,
            seed=args.seed, scheduler=schedule, processes=args.processes,
        )
    except KeyboardInterrupt:
        if args.save:  # fit left the last good weights in place: keep them
            print(f"interrupted: the last good weights are saved to {model.save(args.save)}")
        raise
    print(f"test accuracy: {history.val_accuracy[-1]:.4f}")  # the last epoch ends with the test set
    if args.save:
        print(f"saved to {model.save(args.save)}")
    return 0


def _check_arguments(args: argparse.Namespace) -> list[str]:
    """Every value, against the registries where plugins may add names; returns the
    reporter names. Raises UsageError on the first bad one."""
    args.model = args.model.lower()  # CNN and cnn alike
    if args.model not in MODELS:
        raise UsageError(f"--model must be one of {', '.join(MODELS)}, got {args.model!r}")
    if args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.processes < 1:
        raise UsageError(f"--processes must be at least 1, got {args.processes}")
    if args.lr is not None and not args.lr > 0:
        raise UsageError(f"--lr must be positive, got {args.lr}")
    if args.decay_at is not None and args.epochs < 2:
        raise UsageError(f"--decay-at needs --epochs 2 or more (epoch 1 trains at --lr), got --epochs {args.epochs}")
    if args.decay_at is not None and not 2 <= args.decay_at <= args.epochs:
        raise UsageError(
            f"--decay-at must be an epoch from 2 to --epochs ({args.epochs}), got {args.decay_at}"
        )
    if args.save:
        _check_save_path(Path(args.save))
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise UsageError(f"--data-dir {args.data_dir}: no such folder")

    from tmt_data import DATASETS
    from tmt_nn import REPORTERS
    from tmt_optim import OPTIMIZERS

    if args.dataset not in DATASETS:
        raise UsageError(f"--dataset: {DATASETS.missing_message(args.dataset)}")
    if args.optimizer not in OPTIMIZERS:
        raise UsageError(f"--optimizer: {OPTIMIZERS.missing_message(args.optimizer)}")
    reporters = [name.strip() for name in args.reporter.split(",") if name.strip()]
    for name in reporters:
        if name not in REPORTERS:
            raise UsageError(f"--reporter: {REPORTERS.missing_message(name)}")
    return reporters


def _check_save_path(path: Path) -> None:
    """Checked before training: losing a finished run to a typo in --save is the worst case."""
    if path.is_dir():
        raise UsageError(f"--save {path}: is a folder; give a file name such as {path / 'model.npz'}")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"--save {path}: the folder {folder} does not exist (create it first)")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--save {path}: the folder {folder} is not writable")


def build_model(kind: str, input_shape: tuple[int, ...], classes: int) -> Any:
    """The seed's two networks, sized for ``input_shape`` (one example) and ``classes``."""
    from tmt_nn import Conv2D, Flatten, Linear, MaxPool2D, Network

    if kind == "mlp":
        return Network([
            Linear(input_shape[-1], 128, activation="relu"),
            Linear(128, 64, activation="relu"),
            Linear(64, classes),  # logits
        ])
    channels, height, width = input_shape
    return Network([
        Conv2D(channels, 16, kernel_size=3, stride=1, padding=1, activation="relu"),
        MaxPool2D(pool_size=2, stride=2),
        Conv2D(16, 32, kernel_size=3, stride=1, padding=1, activation="relu"),
        MaxPool2D(pool_size=2, stride=2),
        Flatten(),
        Linear(32 * (height // 4) * (width // 4), 128, activation="relu"),
        Linear(128, classes),  # logits
    ])
