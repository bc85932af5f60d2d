"""Write your own op: swish(x) = x·σ(x), its vjp, a plugin that registers it, the conformance
check, and a small network trained with it.

    python examples/custom_op.py --dataset fashion-mnist --epochs 3

An installable plugin is this same code in a package, with an entry point in its
pyproject.toml (``[project.entry-points.tmt] swish = "my_package.ops"``); here the plugin is
registered by hand, as a notebook would.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from tmt_core import apply, conformance, ops, plugins
from tmt_core.extend import defop, hookimpl, unary_samples
from tmt_data import DataNotFoundError, load_fashion_mnist, load_mnist
from tmt_nn import Linear, Module, Network, cross_entropy, evaluate, fit, init
from tmt_optim import Adam

LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}


# ---------------------------------------------------------------------------- the op
@defop("examples.swish", samples=unary_samples(), reference=lambda x: x / (1 + np.exp(-x)))
def swish(x):
    s = 0.5 * (1 + np.tanh(0.5 * x))  # σ(x) = 1/(1+e⁻ˣ), written so that it cannot overflow
    return x * s, (x, s)  # output, and the residuals the vjp needs


@swish.defvjp
def swish_vjp(g, residuals):
    x, s = residuals
    return (g * (s + x * s * (1 - s)),)  # d/dx x·σ(x) = σ(x) + x·σ(x)(1 − σ(x))


# ---------------------------------------------------------------------------- the plugin
class SwishPlugin:
    """What a plugin module provides: a ``register_ops`` hook implementation."""

    @hookimpl
    def register_ops(self, register):
        register(swish)


class Swish(Module):
    """A layer calling the op by its registered name, as tmt's own layers do."""

    def forward(self, x):
        return apply(ops["examples.swish"], x)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Define, check and train with a custom op.", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--dataset", choices=LOADERS, default="mnist",
                        help="mnist is downloaded once; fashion-mnist also works offline (Debian's package)")
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training data")
    parser.add_argument("--batch-size", type=int, default=128, help="examples per step")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    parser.add_argument("--reporter", default="progress", help="comma-separated: progress, csv, plot, wandb")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the shuffling")
    args = parser.parse_args()

    plugins.register(SwishPlugin(), name="swish-example")
    # Every check of the suite (vjp against finite differences, dtypes, aliasing, ...) on
    # every sample; raises AssertionError with a report if the op breaks the contract.
    results = conformance.assert_conforms("examples.swish")
    print(f"conformance check of examples.swish: {conformance.summary_line(results)}")

    try:
        X_train, y_train, X_test, y_test = data = LOADERS[args.dataset]()
    except DataNotFoundError as error:
        sys.exit(str(error))
    print(f"{args.dataset}: {len(X_train)} training and {len(X_test)} test images, from {data.source}")

    init.manual_seed(args.seed)
    model = Network([Linear(784, 128), Swish(), Linear(128, 10)])
    fit(model, cross_entropy, Adam(model.parameters(), lr=args.lr), (X_train, y_train),
        epochs=args.epochs, batch_size=args.batch_size, validation_data=(X_test, y_test),
        reporters=[name for name in args.reporter.split(",") if name], seed=args.seed)
    print(f"test accuracy: {evaluate(model, X_test, y_test)['accuracy']:.4f}")


if __name__ == "__main__":
    main()
