"""The functional API: stateless functions on Tensors or NumPy arrays, each one op of the
registry (``tmt_core.ops``). Arrays become float32 constants; the result is a Tensor.

    from tmt_nn import functional as F
    loss = F.cross_entropy(logits, labels)      # labels: ints (N,) or one-hot (N, C)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tmt_core import Tensor, apply, ops

from . import init
from .init import RandomSource

__all__ = [
    "conv2d",
    "im2col",
    "im2patches",
    "max_pool2d",
    "softmax",
    "log_softmax",
    "sigmoid",
    "relu",
    "tanh",
    "cross_entropy",
    "mse",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "dropout",
]

# ---------------------------------------------------------------------------- convolution


def conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0) -> Tensor:
    """2-D cross-correlation: x (N, C, H, W), w (F, C, kh, kw), b (F,) or None."""
    if b is None:
        weight = w.data if isinstance(w, Tensor) else np.asarray(w)
        b = np.zeros(weight.shape[:1], dtype=weight.dtype if weight.dtype.kind == "f" else np.float32)
    return apply(ops.conv2d, x, w, b, stride=stride, padding=padding)


def im2col(x: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0) -> Tensor:
    """The sliding windows of x (N, C, H, W) as the columns a convolution multiplies."""
    return apply(ops.im2col, x, kernel_size=kernel_size, stride=stride, padding=padding)


def im2patches(x: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0) -> Tensor:
    """The sliding windows of x (N, C, H, W) as batched patches (used by pooling)."""
    return apply(ops.im2patches, x, kernel_size=kernel_size, stride=stride, padding=padding)


def max_pool2d(x: Any, pool_size: Any = 2, stride: Any = None) -> Tensor:
    """Max over pool_size windows of x (N, C, H, W); stride defaults to pool_size."""
    return apply(ops.max_pool2d, x, pool_size=pool_size, stride=stride)


# ---------------------------------------------------------------------------- activations


def relu(x: Any) -> Tensor:
    return apply(ops.relu, x)


def tanh(x: Any) -> Tensor:
    return apply(ops.tanh, x)


def sigmoid(x: Any) -> Tensor:
    return apply(ops.sigmoid, x)


def softmax(x: Any, axis: int = -1) -> Tensor:
    return apply(ops.softmax, x, axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    return apply(ops.log_softmax, x, axis=axis)


# ---------------------------------------------------------------------------- losses (mean)


def cross_entropy(logits: Any, target: Any) -> Tensor:
    """Softmax cross-entropy of logits (N, C); target: int labels (N,) or one-hot (N, C)."""
    return apply(ops.cross_entropy, logits, target)


def mse(pred: Any, target: Any) -> Tensor:
    """Mean squared error."""
    return apply(ops.mse, pred, target)


def binary_cross_entropy(p: Any, target: Any) -> Tensor:
    """Binary cross-entropy of probabilities p in [0, 1]."""
    return apply(ops.binary_cross_entropy, p, target)


def binary_cross_entropy_with_logits(logits: Any, target: Any) -> Tensor:
    """Binary cross-entropy of sigmoid(logits), computed stably from the logits."""
    return apply(ops.binary_cross_entropy_with_logits, logits, target)


# ---------------------------------------------------------------------------- regularisation


def dropout(x: Any, p: float = 0.5, training: bool = True, rng: RandomSource = None) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p),
    so evaluation (``training=False``, the identity) needs no rescaling."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return x if isinstance(x, Tensor) else Tensor(x)
    data = x.data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float32)
    dtype = data.dtype if data.dtype.kind == "f" else np.float32
    if p == 1.0:
        mask = np.zeros(data.shape, dtype=dtype)
    else:
        keep = init.generator(rng).random(data.shape, dtype=np.float32) >= np.float32(p)
        mask = keep.astype(dtype)
        mask *= dtype.type(1.0 / (1.0 - p))
    return apply(ops.mul, x, mask)  # d(x·m)/dx = m: dropped units get no gradient
