"""What a check of the whole op sees: the op, its samples, and the cases that can be called."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...op import Op, Sample
from ..calling import Case

__all__ = ["OpContext"]


@dataclass
class OpContext:
    """``cases`` holds only the samples whose forward and vjp ran with the right slots."""

    op: Op
    samples: list[Sample]
    cases: list[Case]
    rng: np.random.Generator
