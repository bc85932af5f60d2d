"""Sample builders shared by op declarations: the shapes the conformance suite must see."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .op import Sample

__all__ = ["unary_samples", "binary_samples", "positive"]

Draw = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


def normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape)


def positive(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values in [0.5, 2): for log, sqrt, division and non-integer powers."""
    return rng.uniform(0.5, 2.0, size=shape)


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Normal values pushed at least 0.1 away from 0: for ops with a kink at 0."""
    x = rng.standard_normal(shape)
    return np.where(x >= 0, x + 0.1, x - 0.1)


def unary_samples(draw: Draw = normal) -> Callable[[np.random.Generator], list[Sample]]:
    """A scalar, a vector, a matrix and a 3-D array."""

    def samples(rng: np.random.Generator) -> list[Sample]:
        return [
            Sample(draw(rng, ()), name="scalar"),
            Sample(draw(rng, (5,)), name="vector"),
            Sample(draw(rng, (3, 4)), name="matrix"),
            Sample(draw(rng, (2, 3, 4)), name="3-d", jacobian=False),
        ]

    return samples


def binary_samples(
    left: Draw = normal, right: Draw | None = None
) -> Callable[[np.random.Generator], list[Sample]]:
    """Equal shapes, then every broadcasting case: scalar, (n,1) with (1,m), rank extension."""
    right = right or left

    def samples(rng: np.random.Generator) -> list[Sample]:
        return [
            Sample(left(rng, (3, 4)), right(rng, (3, 4)), name="same shape"),
            Sample(left(rng, (3, 4)), right(rng, ()), name="scalar right"),
            Sample(left(rng, ()), right(rng, (3, 4)), name="scalar left"),
            Sample(left(rng, (3, 1)), right(rng, (1, 4)), name="(n,1) with (1,m)"),
            Sample(left(rng, (2, 3, 4)), right(rng, (4,)), name="rank extension"),
            Sample(left(rng, (4,)), right(rng, (2, 3, 4)), name="rank extension left"),
        ]

    return samples
