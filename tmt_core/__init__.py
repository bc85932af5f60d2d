"""tmt_core: the Tensor, the op registry, dispatch, the reverse-mode engine, grad mode and the
plugin manager. It defines no op: every op arrives through the ``register_ops`` hook.

    >>> import tmt_core as tc
    >>> x = tc.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    array([2., 4., 6.], dtype=float32)
"""

from __future__ import annotations

from .tensor import Tensor, concatenate, stack, tensor  # first: dispatch needs Tensor
from .dispatch import apply, ops
from .engine import backward
from .errors import (
    BackwardError,
    NotFoundError,
    OpError,
    OpNotFoundError,
    PluginLoadError,
    RegistrationError,
    TmtError,
)
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .registry import get_op, op_names
from .threads import get_num_threads, set_num_threads

__all__ = [
    "Tensor",
    "tensor",
    "stack",
    "concatenate",
    "apply",
    "ops",
    "backward",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "set_grad_enabled",
    "get_op",
    "op_names",
    "set_num_threads",
    "get_num_threads",
    "TmtError",
    "OpError",
    "OpNotFoundError",
    "NotFoundError",
    "RegistrationError",
    "PluginLoadError",
    "BackwardError",
]

__version__ = "0.1.0"
