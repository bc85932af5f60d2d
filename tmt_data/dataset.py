"""An IDX dataset as the registered, callable object that ``load_mnist`` and friends are: finds
its files (:mod:`tmt_data.sources`) and turns them into training arrays."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .download import DEFAULT_TIMEOUT
from .errors import DataNotFoundError
from .sources import Origin, RawSplits, Source, find_dataset, search_order
from .spec import IdxDatasetSpec

__all__ = ["IdxDataset", "LoadedDataset", "to_training_arrays"]


class LoadedDataset(tuple):
    """``(X_train, y_train, X_test, y_test)``: unpacks like the seed's tuple, and says where
    the data came from in ``source`` (an :class:`~tmt_data.sources.Origin`)."""

    source: Origin

    def __new__(cls, arrays: tuple[np.ndarray, ...], source: Origin) -> LoadedDataset:
        self = super().__new__(cls, arrays)
        self.source = source
        return self

    X_train = property(lambda self: self[0], doc="training inputs, float32 in [0, 1]")
    y_train = property(lambda self: self[1], doc="training labels: int64, or float32 one-hot")
    X_test = property(lambda self: self[2], doc="test inputs, float32 in [0, 1]")
    y_test = property(lambda self: self[3], doc="test labels: int64, or float32 one-hot")

    def __reduce__(self) -> tuple:  # pickles (multiprocessing) with its source
        return (type(self), (tuple(self), self.source))

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.shape} {a.dtype}" for a in self)
        return f"LoadedDataset({shapes}; from {self.source})"


def to_training_arrays(
    raw: RawSplits, *, one_hot: bool, flatten: bool, num_classes: int
) -> tuple[np.ndarray, ...]:
    """uint8 images -> float32 in [0, 1], ``(N, H*W)`` or ``(N, 1, H, W)``; uint8 labels ->
    int64, or float32 one-hot ``(N, num_classes)``. Each uint8 array is released as soon as
    it is converted, which keeps the peak memory near the size of the result."""
    arrays = list(raw)
    del raw
    for i, array in enumerate(arrays):
        if i % 2 == 0:
            # uint8 / float32 scalar stays float32 (no float64 intermediate)
            images = np.divide(array, np.float32(255), dtype=np.float32)
            shape = (len(images), -1) if flatten else (len(images), 1, *images.shape[1:])
            arrays[i] = images.reshape(shape)
        elif one_hot:
            arrays[i] = np.eye(num_classes, dtype=np.float32)[array]
        else:
            arrays[i] = array.astype(np.int64)
        del array
    return tuple(arrays)


class IdxDataset:
    """A named MNIST-style dataset, registered through the ``register_datasets`` hook.

    Calling it loads ``(X_train, y_train, X_test, y_test)``; :meth:`locate` says where its
    files are without downloading; :meth:`fetch` makes sure they are on disk (downloading
    into the cache when no source has them) and says where.
    """

    def __init__(self, spec: IdxDatasetSpec) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def description(self) -> str:
        return self.spec.description

    def __repr__(self) -> str:
        return f"IdxDataset({self.name!r})"

    def sources(self, **where: Any) -> list[Source]:
        """The sources tried, in order (see :func:`tmt_data.sources.search_order`)."""
        return search_order(self.spec, **where)

    def __call__(
        self,
        *,
        one_hot: bool = False,
        flatten: bool = True,
        data_dir: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        mirrors: list[str] | tuple[str, ...] | None = None,
        download: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> LoadedDataset:
        """``(X_train, y_train, X_test, y_test)``, as ``load_mnist()`` / ``load_fashion_mnist()``.

        Inputs are float32 in [0, 1], ``(N, H*W)`` or, with ``flatten=False``, ``(N, 1, H, W)``;
        labels are int64, or float32 ``(N, num_classes)`` with ``one_hot=True``. The files are
        looked for in ``data_dir`` (or ``$TMT_DATA_DIR/<name>``), the cache (``$TMT_CACHE_DIR``
        or ``~/.cache/tmt``), the Debian package where one ships the dataset
        (``/usr/share/datasets/fashion-mnist``: no network needed), Keras' cache in
        ``~/.keras/datasets``, then downloaded from ``mirrors`` (or the spec's ``mirrors_env``,
        e.g. ``$TMT_MNIST_MIRRORS``) unless ``download=False``. The result's ``source`` says
        which one was used::

            >>> X_train, y_train, X_test, y_test = data = load_mnist()   # doctest: +SKIP
            >>> X_train.shape, y_train.dtype, str(data.source)            # doctest: +SKIP
            ((60000, 784), dtype('int64'), 'cache: /home/me/.cache/tmt/mnist (SHA-256 verified)')
        """
        sources = self.sources(data_dir=data_dir, cache_dir=cache_dir, mirrors=mirrors,
                               download=download, timeout=timeout)
        raw, origin = find_dataset(self.spec, sources)
        arrays = to_training_arrays(raw, one_hot=one_hot, flatten=flatten,
                                    num_classes=self.spec.num_classes)
        return LoadedDataset(arrays, origin)

    def locate(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Origin | None:
        """Where the dataset would be loaded from without downloading, or ``None``."""
        try:
            return find_dataset(self.spec, self.sources(
                data_dir=data_dir, cache_dir=cache_dir, download=False))[1]
        except DataNotFoundError:
            return None

    def fetch(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        mirrors: list[str] | tuple[str, ...] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Origin:
        """Find the files, downloading them into the cache when no source has them, check
        them, and return where they are; raises :class:`DataNotFoundError` listing what was
        tried."""
        return find_dataset(self.spec, self.sources(
            data_dir=data_dir, cache_dir=cache_dir, mirrors=mirrors, timeout=timeout))[1]
