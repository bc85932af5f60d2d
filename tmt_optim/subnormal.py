"""Flushing subnormal floats to zero in an optimizer's running averages.

A running average that only decays — Adam's ``m ← β₁·m`` for a weight whose gradient stays 0,
as for the inputs of a linear layer that always read a black image border — passes through
the subnormal floats (below 1.2e-38 in float32) on its way to zero: about 800 steps after
its last gradient with β₁ = 0.9, for ~150 steps more. x86 CPUs run NumPy's arithmetic on
those numbers many times slower than on normal ones (there is no flush-to-zero switch from
Python), and a CNN has thousands of such weights: a step of the seed's CNN (batch 64,
Fashion-MNIST) went from ~10 ms over its first 600 steps to 12-13 ms after 900, with 40% of
its first linear layer's ``exp_avg`` subnormal. ``python bench/long_run.py`` shows the steps
staying at ~10 ms with the flush.

Zeroing them changes no result worth a bit: a momentum of 1e-38 moves a weight by less than
its last bit, and so does Adam's η·m/(√v̂ + ε) for a subnormal m when ε is the default 1e-8,
which also swamps √v̂ of a subnormal v. With a tiny ε (0, 1e-30) that no longer holds — m/√v̂
of gradients around 1e-20 is a full step — so Adam flushes only when :func:`flush_is_exact`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FLUSH_EVERY", "flush_is_exact", "flush_subnormals"]

# Flushing takes four integer passes (Adam's step on the seed's CNN: 0.43 -> 0.75 ms when
# done every step). Every 8th step, a value that turns subnormal stays so for at most 7 steps
# instead of ~150, for an eighth of the cost.
FLUSH_EVERY = 8

def flush_is_exact(dtype: np.dtype, eps: float, beta2: float) -> bool:
    """Whether Adam may zero its subnormal moments: ε swamps the largest √v̂ a subnormal v can
    give (at step 1, v̂ = v / (1 − β₂)) by more than the float's precision, so ε + √v̂ == ε."""
    if np.dtype(dtype) not in _EXPONENTS or beta2 >= 1:
        return False
    info = np.finfo(dtype)
    return eps * info.eps / 4 > np.sqrt(info.tiny / (1 - beta2))


# The exponent field of each float width, and the unsigned view that exposes it.
_EXPONENTS = {
    np.dtype(np.float32): (np.uint32, 0x7F800000),
    np.dtype(np.float64): (np.uint64, 0x7FF0000000000000),
}


def flush_subnormals(values: np.ndarray, scratch: np.ndarray) -> None:
    """Set every subnormal element of ``values`` to zero, in place, through integer views
    (arithmetic on the subnormals themselves would be the slow path this avoids).
    ``scratch`` is a free array of the same shape and dtype. Other dtypes are left alone."""
    layout = _EXPONENTS.get(values.dtype)
    if layout is None or not values.flags.c_contiguous or not scratch.flags.c_contiguous:
        return
    unsigned, exponent_bits = layout
    bits, keep = values.view(unsigned), scratch.view(unsigned)
    np.bitwise_and(bits, unsigned(exponent_bits), out=keep)  # 0 for zeros and subnormals
    np.minimum(keep, 1, out=keep)
    np.negative(keep, out=keep)  # all ones where the exponent is not 0, else 0 (wraps)
    np.bitwise_and(bits, keep, out=bits)
