"""The built-in datasets, registered through the same hook a plugin uses (a default plugin
listed in pyproject.toml's ``tmt`` entry points)."""

from __future__ import annotations

from tmt_core.plugins import hookimpl

from .mnist import FASHION_MNIST, MNIST

BUILTIN_DATASETS = (MNIST, FASHION_MNIST)


@hookimpl
def register_datasets(register):
    for dataset in BUILTIN_DATASETS:
        register(dataset, name=dataset.name)
