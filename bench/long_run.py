"""Does a training step stay as fast late in training as early? tmt and PyTorch side by side.

    python bench/long_run.py [--steps 1800] [--block 300] [--batch 64]

Trains the seed's CNN (W2's network and Adam, in the same shuffle order) for ``--steps`` steps at the Keras comparison's batch size, in one process per
framework, and prints the milliseconds a step of every block of ``--block`` steps. Written
for the slowdown Adam's decaying moments caused before tmt_optim flushed their subnormal
values (tmt_optim/subnormal.py): a step took ~20% longer after ~900 steps. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def block_times(framework: str, steps: int, block: int, batch: int) -> list[float]:
    """Milliseconds a step of each block of ``block`` steps, in this process."""
    import workloads as W

    x, y, _, _ = W.fashion_mnist()
    order = [b for epoch in range(steps * batch // len(x) + 1) for b in W.epoch_batches(len(x), epoch, 0, batch)]
    if framework == "tmt":
        from step_ab import training_step

        step = training_step("w2", x, y)
    else:
        import torch
        import train_torch

        step = train_torch.w2_step(torch.from_numpy(x.reshape(-1, 1, 28, 28)), torch.from_numpy(y))

    times, started = [], time.perf_counter()
    for i, idx in enumerate(order[:steps], start=1):
        step(idx)
        if i % block == 0:
            times.append((time.perf_counter() - started) / block * 1e3)
            started = time.perf_counter()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1800, help="training steps (default 1800: two epochs)")
    parser.add_argument("--block", type=int, default=300, help="steps a timed block (default 300)")
    parser.add_argument("--batch", type=int, default=64, help="images a step (default 64, as the Keras comparison)")
    parser.add_argument("--worker", choices=["tmt", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(block_times(args.worker, args.steps, args.block, args.batch)))
        return 0
    columns = {}
    for framework in ("tmt", "torch"):
        command = [sys.executable, __file__, "--worker", framework, "--steps", str(args.steps),
                   "--block", str(args.block), "--batch", str(args.batch)]
        out = subprocess.run(command, capture_output=True, text=True, cwd=HERE)
        if out.returncode != 0:
            raise SystemExit(f"{framework} failed:\n{out.stderr}")
        columns[framework] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"ms a step, batch {args.batch}\n{'steps':>11}  {'tmt':>7}  {'torch':>7}  ratio")
    for i, (ours, theirs) in enumerate(zip(columns["tmt"], columns["torch"])):
        print(f"{i * args.block + 1:5d}-{(i + 1) * args.block:<5d}  {ours:7.2f}  {theirs:7.2f}  {ours / theirs:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
