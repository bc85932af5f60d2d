"""tmt_data: IDX files, MNIST and Fashion-MNIST, mini-batches, and the dataset hook.

    from tmt_data import load_mnist, DataLoader
    X_train, y_train, X_test, y_test = data = load_mnist()   # float32 (N, 784), int64 labels
    print(data.source)              # where the files were found (cache, Debian, download...)
    for X_batch, y_batch in DataLoader(X_train, y_train, batch_size=128, shuffle=True, seed=0):
        ...

Datasets are registered by name through the ``register_datasets`` hook, the built-in ones
(``mnist``, ``fashion-mnist``) like a plugin's: ``load_dataset("fashion-mnist", one_hot=True)``.
"""

from __future__ import annotations

from typing import Any, Callable

from tmt_core import plugins
from tmt_core.catalog import Catalog
from tmt_core.errors import RegistrationError

from . import hookspecs
from .dataset import IdxDataset, LoadedDataset
from .errors import ChecksumError, DataError, DataNotFoundError, DownloadError, IdxFormatError
from .idx import IDX_IMAGES, IDX_LABELS, read_idx, write_idx
from .loader import DataLoader
from .mnist import load_fashion_mnist, load_mnist
from .sources import Origin
from .spec import IdxDatasetSpec, IdxFile

__all__ = [
    "load_mnist",
    "load_fashion_mnist",
    "load_dataset",
    "get_dataset",
    "DATASETS",
    "DataLoader",
    "read_idx",
    "write_idx",
    "IDX_IMAGES",
    "IDX_LABELS",
    "IdxDataset",
    "IdxDatasetSpec",
    "IdxFile",
    "LoadedDataset",
    "Origin",
    "DataError",
    "IdxFormatError",
    "ChecksumError",
    "DownloadError",
    "DataNotFoundError",
]

plugins.add_hookspecs(hookspecs)


def _validate(value: Any, name: str, provider: plugins.PluginInfo) -> Callable[..., Any]:
    if not callable(value):
        raise RegistrationError(
            f"dataset {name!r} from plugin {provider.label}: expected a callable "
            f"loader(**options) -> (X_train, y_train, X_test, y_test), got {value!r}"
        )
    return value


DATASETS: Catalog[Callable[..., Any]] = Catalog(
    "dataset",
    "register_datasets",
    validate=_validate,
    name_of=lambda value: getattr(value, "name", None),
)


def get_dataset(name: str) -> Callable[..., Any]:
    """The loader registered as ``name``; an unknown name lists the available ones."""
    return DATASETS.get(name)


def load_dataset(name: str, **options: Any) -> Any:
    """``load_dataset("fashion-mnist", one_hot=True)``: ``X_train, y_train, X_test, y_test``
    from the dataset registered as ``name``."""
    return get_dataset(name)(**options)
