"""Conv and pooling ops at the W2 shapes: tmt against PyTorch (CPU, 2 threads).

    python bench/ops_conv.py [--rounds 3] [--repeats 40]

Batch 128: conv 1->16 3x3 pad 1 on 28x28, max-pool 2, conv 16->32 3x3 pad 1 on 14x14,
max-pool 2; the forward alone and forward+backward of each op (the first conv's input needs
no gradient, as in training), then each conv + ReLU + pool block as a Network runs it (tmt:
one conv2d_pool op; PyTorch: conv2d, relu, max_pool2d), and the conv/pool part of a
training step both ways.

Each framework runs in its own process (NumPy's OpenBLAS threads spin after every matmul and
would slow PyTorch down in a shared process), the processes alternate ``--rounds`` times,
and each figure is the best of ``--repeats`` calls after a warm-up: the machine is shared,
the minimum is the op's own cost. Prints a table with the ratios. Not a test: no assertions.
Environment knobs that matter (passed on to both workers): MALLOC_TRIM_THRESHOLD_ and
MALLOC_MMAP_THRESHOLD_ (glibc returning freed arrays to the OS, then page-faulting them
back), OPENBLAS_THREAD_TIMEOUT (idle OpenBLAS threads spinning on the cores tmt's own
threads want), TMT_NUM_THREADS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

N = 128
LAYERS = [  # name, kind, channels in, channels out, size
    ("conv 1->16 3x3 pad 1, 28x28", "conv", 1, 16, 28),
    ("max_pool2d 2, 16x28x28", "pool", 16, 16, 28),
    ("conv 16->32 3x3 pad 1, 14x14", "conv", 16, 32, 14),
    ("max_pool2d 2, 32x14x14", "pool", 32, 32, 14),
]
BLOCKS = [  # conv + ReLU + max-pool 2, as a Network runs the seed's CNN
    ("conv 1->16 + relu + pool, 28x28", "block", 1, 16, 28),
    ("conv 16->32 + relu + pool, 14x14", "block", 16, 32, 14),
]


def _tmt_calls(kind, c, o, size, rng):
    import tmt_core as tc

    x = tc.Tensor(rng.standard_normal((N, c, size, size)).astype(np.float32), requires_grad=kind == "pool" or c > 1)
    if kind == "pool":
        g = rng.standard_normal((N, c, size // 2, size // 2)).astype(np.float32)
        forward = lambda: tc.ops.max_pool2d(x, pool_size=2)  # noqa: E731
    else:  # a convolution, alone or as a conv + ReLU + pool block
        w = tc.Tensor(rng.standard_normal((o, c, 3, 3)).astype(np.float32), requires_grad=True)
        b = tc.Tensor(np.zeros(o, dtype=np.float32), requires_grad=True)
        out_size = size // 2 if kind == "block" else size
        g = rng.standard_normal((N, o, out_size, out_size)).astype(np.float32)
        if kind == "block":
            forward = lambda: tc.ops.conv2d_pool(x, w, b, padding=1, activation="relu", pool_size=2)  # noqa: E731
        else:
            forward = lambda: tc.ops.conv2d(x, w, b, padding=1)  # noqa: E731

    def no_grad_forward():
        with tc.no_grad():
            forward()

    return no_grad_forward, lambda: forward().backward(g)


def _torch_calls(kind, c, o, size, rng):
    import torch

    torch.set_num_threads(2)
    x = torch.tensor(rng.standard_normal((N, c, size, size)).astype(np.float32), requires_grad=kind == "pool" or c > 1)
    if kind == "pool":
        g = torch.tensor(rng.standard_normal((N, c, size // 2, size // 2)).astype(np.float32))
        forward = lambda: torch.nn.functional.max_pool2d(x, 2)  # noqa: E731
    else:  # a convolution, alone or as a conv + ReLU + pool block
        F = torch.nn.functional
        w = torch.tensor(rng.standard_normal((o, c, 3, 3)).astype(np.float32), requires_grad=True)
        b = torch.zeros(o, requires_grad=True)
        out_size = size // 2 if kind == "block" else size
        g = torch.tensor(rng.standard_normal((N, o, out_size, out_size)).astype(np.float32))
        if kind == "block":
            forward = lambda: F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2)  # noqa: E731
        else:
            forward = lambda: F.conv2d(x, w, b, padding=1)  # noqa: E731

    def no_grad_forward():
        with torch.no_grad():
            forward()

    return no_grad_forward, lambda: forward().backward(g)


def _best_ms(fn, repeats):
    fn()
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def worker(framework: str, repeats: int) -> None:
    """One process, one framework: prints {layer: [forward ms, forward+backward ms]}."""
    calls = _tmt_calls if framework == "tmt" else _torch_calls
    rng = np.random.default_rng(0)
    result = {}
    for name, kind, c, o, size in LAYERS + BLOCKS:
        forward, forward_backward = calls(kind, c, o, size, rng)
        result[name] = [_best_ms(forward, repeats), _best_ms(forward_backward, repeats)]
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--worker", choices=["tmt", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.repeats)
        return
    best = {"tmt": {}, "torch": {}}
    for _ in range(args.rounds):
        for framework in ("tmt", "torch"):
            command = [sys.executable, __file__, "--worker", framework, "--repeats", str(args.repeats)]
            done = subprocess.run(command, capture_output=True, text=True, check=True, env=os.environ)
            for name, times in json.loads(done.stdout.strip().splitlines()[-1]).items():
                held = best[framework].get(name, [float("inf")] * 2)
                best[framework][name] = [min(a, b) for a, b in zip(held, times)]
    import numpy
    import torch

    print(f"numpy {numpy.__version__}, torch {torch.__version__} (2 threads), batch {N}, best of "
          f"{args.rounds} processes x {args.repeats} calls; ms")
    print(f"{'op':32s} {'fwd tmt':>8s} {'torch':>8s} {'ratio':>6s}   {'f+b tmt':>8s} {'torch':>8s} {'ratio':>6s}")
    for rows, total in ((LAYERS, "conv/pool part, op by op"), (BLOCKS, "conv/pool part, as a Network")):
        sums = [0.0] * 4
        for name, *_ in rows:
            (of, ofb), (tf, tfb) = best["tmt"][name], best["torch"][name]
            sums = [t + v for t, v in zip(sums, (of, tf, ofb, tfb))]
            print(f"{name:32s} {of:8.2f} {tf:8.2f} {of / tf:6.2f}   {ofb:8.2f} {tfb:8.2f} {ofb / tfb:6.2f}")
        of, tf, ofb, tfb = sums
        print(f"{total:32s} {of:8.2f} {tf:8.2f} {of / tf:6.2f}   {ofb:8.2f} {tfb:8.2f} {ofb / tfb:6.2f}")


if __name__ == "__main__":
    main()
