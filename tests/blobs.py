"""A small classification problem and MLP for the fit(processes=N) tests."""

from __future__ import annotations

import numpy as np

from tmt_nn import Linear, Network


def blobs(n=90, seed=0):
    """n points in 2-D around three centres, and their class labels."""
    rng = np.random.default_rng(seed)
    centers = np.array([[4.0, 0.0], [-2.0, 3.5], [-2.0, -3.5]])
    labels = rng.integers(0, 3, n)
    return (centers[labels] + rng.standard_normal((n, 2))).astype(np.float32), labels


def mlp():
    return Network([Linear(2, 16, activation="relu", rng=1), Linear(16, 3, rng=2)])
