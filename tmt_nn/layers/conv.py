"""Conv2D and MaxPool2D: layers over images shaped (N, C, H, W)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tmt_core import Tensor, apply, ops

from .. import init
from ..errors import LayerInputError
from ..init import RandomSource
from ..module import Module
from ..parameter import Parameter
from .activation import activate, check_activation

__all__ = ["Conv2D", "MaxPool2D"]


def _pair(value: Any, what: str, layer: str) -> tuple[int, int]:
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise ValueError(f"{layer}: {what} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _image_shape(x: Any, layer: Module) -> tuple[Any, tuple[int, ...]]:
    shape = getattr(x, "shape", None)
    if shape is None:
        x = Tensor(x)
        shape = x.shape
    if len(shape) != 4:
        raise LayerInputError(
            f"{layer!r} expects a 4-D input (N, C, H, W), got shape {tuple(shape)}"
            + (" (flat images must be reshaped to (N, C, H, W) first)" if len(shape) == 2 else "")
        )
    return x, tuple(shape)


class Conv2D(Module):
    """``Conv2D(in_channels, out_channels, kernel_size, stride=1, padding=0, activation=None,
    bias=True, rng=None)``: weight (out, in, kh, kw) and bias (out,), as in PyTorch, both from
    U(−1/√fan_in, 1/√fan_in) with fan_in = in_channels·kh·kw."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        activation: str | None = None,
        bias: bool = True,
        rng: RandomSource = None,
    ) -> None:
        super().__init__()
        label = f"Conv2D({in_channels}, {out_channels})"
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(f"{label}: channel counts must be positive")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size", label)
        self.stride = stride
        self.padding = padding
        self.activation = check_activation(activation, label)
        kh, kw = self.kernel_size
        generator = init.generator(rng)
        bound = init.default_bound(self.in_channels * kh * kw)
        self.weight = Parameter(init.uniform((self.out_channels, self.in_channels, kh, kw), bound, generator))
        self.bias = Parameter(init.uniform((self.out_channels,), bound, generator)) if bias else None
        # conv2d always takes a bias; a layer without one passes constant zeros (no gradient)
        self._zero_bias = None if bias else np.zeros(self.out_channels, dtype=np.float32)

    def forward(self, x: Any) -> Tensor:
        x, bias = self._checked(x)
        if self.activation == "relu":  # one op: conv2d clips its output while it is in cache
            return apply(ops.conv2d, x, self.weight, bias, stride=self.stride, padding=self.padding, activation="relu")
        out = apply(ops.conv2d, x, self.weight, bias, stride=self.stride, padding=self.padding)
        return activate(out, self.activation)

    def then_pool(self, x: Any, pool: MaxPool2D) -> Tensor:
        """``pool(self(x))`` as one op, conv2d_pool: the same values and gradients (to rounding
        where it orders the columns by pooling window), with the pooling done while the
        convolved images are in cache. Network calls it for a Conv2D
        right before a MaxPool2D."""
        x, bias = self._checked(x)
        return apply(
            ops.conv2d_pool, x, self.weight, bias, stride=self.stride, padding=self.padding,
            activation=self.activation, pool_size=pool.pool_size, pool_stride=pool.stride,
        )

    def _checked(self, x: Any) -> tuple[Any, Any]:
        """The input as a tensor of this layer's channels, and the bias conv2d takes."""
        x, shape = _image_shape(x, self)
        if shape[1] != self.in_channels:
            raise LayerInputError(
                f"{self!r} expects {self.in_channels} input channel(s), shape "
                f"(N, {self.in_channels}, H, W); got shape {shape} with {shape[1]} channel(s)"
            )
        return x, (self.bias if self.bias is not None else self._zero_bias)

    def extra_repr(self) -> str:
        told = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        if self.stride != 1:
            told += f", stride={self.stride}"
        if self.padding != 0:
            told += f", padding={self.padding}"
        if self.bias is None:
            told += ", bias=False"
        if self.activation is not None:
            told += f", activation={self.activation!r}"
        return told


class MaxPool2D(Module):
    """``MaxPool2D(pool_size=2, stride=None)``: the max of each window; stride defaults to
    pool_size (non-overlapping windows)."""

    def __init__(self, pool_size: int | tuple[int, int] = 2, stride: int | tuple[int, int] | None = None) -> None:
        super().__init__()
        self.pool_size = pool_size
        self.stride = stride

    def forward(self, x: Any) -> Tensor:
        x, _ = _image_shape(x, self)
        return apply(ops.max_pool2d, x, pool_size=self.pool_size, stride=self.stride)

    def extra_repr(self) -> str:
        told = f"pool_size={self.pool_size}"
        return told + (f", stride={self.stride}" if self.stride is not None else "")
