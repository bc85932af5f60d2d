"""Parameter: a tensor a module learns. It requires grad and is float32 unless told."""

from __future__ import annotations

from typing import Any

import numpy as np

from tmt_core import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True``, found by :meth:`Module.parameters`."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        if dtype is None and np.asarray(data).dtype.kind != "f":
            dtype = np.float32  # Parameter([1, 2]) is a float parameter, not an int tensor
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
