"""Dispatch overhead: µs per op of ``y = a*b + c`` on (4,) float32 tensors requiring grad, for
tmt and PyTorch in the same run, plus the backward of a 100,000-op chain.

    python bench/dispatch.py            # prints a table and one JSON line per figure

Protocol (the peers' W3): forward alone and forward+backward, best of 5 repeats of 20,000
iterations after a warm-up, reported per op (2 ops an iteration). Not a test: no assertions.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from typing import Callable

import numpy as np

ITERS, REPEATS, OPS_PER_ITER, CHAIN = 20_000, 5, 2, 100_000


def best_us_per_op(fn: Callable[[], object]) -> float:
    for _ in range(ITERS // 10):
        fn()
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(ITERS):
            fn()
        runs.append((time.perf_counter() - start) / ITERS)
    return min(runs) * 1e6 / OPS_PER_ITER


def figures(a, b, c, g, leaf) -> dict[str, float]:
    """The three figures for one framework: its tensors support the same operators."""

    def forward() -> object:
        return a * b + c

    def forward_backward() -> None:
        a.grad = b.grad = c.grad = None
        (a * b + c).backward(g)

    y = leaf
    for _ in range(CHAIN):
        y = y * 1.0
    start = time.perf_counter()
    y.backward()
    chain_s = time.perf_counter() - start
    return {
        "fwd_us_per_op": best_us_per_op(forward),
        "fwd_bwd_us_per_op": best_us_per_op(forward_backward),
        "chain_backward_s": chain_s,
    }


def tmt_figures() -> dict[str, float]:
    import tmt_core

    a, b, c = (tmt_core.Tensor(np.ones(4, np.float32), requires_grad=True) for _ in range(3))
    leaf = tmt_core.Tensor(np.float32(1.0), requires_grad=True)
    return figures(a, b, c, tmt_core.Tensor(np.ones(4, np.float32)), leaf)


def torch_figures() -> dict[str, float] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    a, b, c = (torch.ones(4, requires_grad=True) for _ in range(3))
    leaf = torch.tensor(1.0, requires_grad=True)
    return {**figures(a, b, c, torch.ones(4), leaf), "version": torch.__version__}


def main() -> int:
    tmt = tmt_figures()
    torch = torch_figures()
    print(f"machine: {platform.processor() or platform.machine()}, python {sys.version.split()[0]}, numpy {np.__version__}")
    print(f"{'figure':<22}{'tmt':>10}{'torch':>10}{'tmt/torch':>11}")
    for key in ("fwd_us_per_op", "fwd_bwd_us_per_op", "chain_backward_s"):
        theirs = torch[key] if torch else float("nan")
        print(f"{key:<22}{tmt[key]:>10.2f}{theirs:>10.2f}{tmt[key] / theirs:>11.2f}")
    print(json.dumps({"bench": "dispatch", "tmt": tmt, "torch": torch}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
