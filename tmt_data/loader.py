"""Mini-batches of NumPy arrays, in order or shuffled once per epoch."""

from __future__ import annotations

import numbers
from typing import Iterator

import numpy as np

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate ``(X_batch, y_batch)`` over ``X`` and ``y`` (same first dimension).

    Without ``shuffle`` batches are slices (views, no copy). With it, each pass draws one
    permutation and each batch gathers its rows with one fancy index. A seeded loader is
    reproducible per epoch: epoch ``e`` uses ``default_rng((seed, e))``, whatever happened
    before, so a resumed run sees the same order. ``len(loader)`` is the number of batches;
    ``drop_last`` drops a final batch smaller than ``batch_size``.

        >>> loader = DataLoader(np.zeros((10, 3)), np.arange(10), batch_size=4)
        >>> [len(yb) for _, yb in loader], len(loader)
        ([4, 4, 2], 3)
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
            raise TypeError(f"DataLoader: batch_size must be an integer, got {batch_size!r}")
        if batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be positive, got {batch_size}")
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim == 0 or y.ndim == 0:
            raise ValueError(
                f"DataLoader: X and y need a first (sample) dimension, got shapes "
                f"{X.shape} and {y.shape}"
            )
        if len(X) != len(y):
            raise ValueError(
                f"DataLoader: X and y hold different numbers of samples: X has shape "
                f"{X.shape}, y has shape {y.shape}"
            )
        self.X, self.y = X, y
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.drop_last = bool(drop_last)
        self.epoch = 0  # the epoch the next iteration serves; settable to resume
        # Unseeded: one generator for the loader's life, so every epoch differs.
        self._rng = np.random.default_rng() if seed is None else None

    def __len__(self) -> int:
        full, rest = divmod(len(self.X), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __repr__(self) -> str:
        return (
            f"DataLoader({len(self.X)} samples, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last}, "
            f"{len(self)} batches)"
        )

    def order(self, epoch: int) -> np.ndarray:
        """The sample order of ``epoch`` (a permutation when shuffling)."""
        n = len(self.X)
        if not self.shuffle:
            return np.arange(n)
        rng = self._rng if self._rng is not None else np.random.default_rng((self.seed, epoch))
        return rng.permutation(n)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        permutation = self.order(epoch) if self.shuffle else None
        size = self.batch_size
        for start in range(0, len(self) * size, size):
            if permutation is None:
                yield self.X[start : start + size], self.y[start : start + size]
            else:
                rows = permutation[start : start + size]
                yield self.X[rows], self.y[rows]
