"""Parameter initialisation, matching PyTorch's defaults, and where the random numbers come from.

PyTorch initialises ``Linear`` and ``Conv2d`` weights with ``kaiming_uniform_(a=√5)``:
gain = √(2/(1+a²)) = √(1/3), bound = gain·√3/√fan_in = 1/√fan_in, so W ~ U(−1/√fan_in,
1/√fan_in); biases use the same bound. ``fan_in`` is ``in_features`` for a linear layer and
``in_channels·kh·kw`` for a convolution.

Random source, in order of precedence:

1. an ``rng=`` argument (a ``numpy.random.Generator`` or an int seed) given to the layer;
2. the generator set by :func:`manual_seed` (like ``torch.manual_seed``);
3. otherwise NumPy's global state: each draw seeds a fresh generator from ``np.random.randint``,
   so ``np.random.seed(0)`` (as the seed's examples do) makes a model reproducible.
"""

from __future__ import annotations

import math
from typing import Union

import numpy as np

__all__ = ["manual_seed", "generator", "uniform", "default_bound", "RandomSource"]

RandomSource = Union[np.random.Generator, int, None]


class _Seeded:
    generator: np.random.Generator | None = None


_SEEDED = _Seeded()


def manual_seed(seed: int | None) -> None:
    """Make every later initialisation and dropout mask reproducible; ``None`` goes back to
    following NumPy's global state."""
    _SEEDED.generator = None if seed is None else np.random.default_rng(seed)


def generator(rng: RandomSource = None) -> np.random.Generator:
    """The generator to draw from: ``rng`` itself, a generator seeded with ``rng`` (an int),
    one derived from :func:`manual_seed`, or one seeded from NumPy's global state."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is not None:
        return np.random.default_rng(int(rng))
    if _SEEDED.generator is not None:
        return _SEEDED.generator
    return np.random.default_rng(np.random.randint(0, 2**31 - 1))


def default_bound(fan_in: int) -> float:
    """PyTorch's default bound for weights and biases: 1/√fan_in (kaiming_uniform, a=√5)."""
    return 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0


def uniform(shape: tuple[int, ...], bound: float, rng: RandomSource = None) -> np.ndarray:
    """A float32 array drawn from U(−bound, bound)."""
    draws = generator(rng).random(shape, dtype=np.float32)  # U[0, 1), float32 directly
    draws *= np.float32(2 * bound)
    draws -= np.float32(bound)
    return draws
