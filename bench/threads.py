"""What two threads give each framework: a W2 training step on one thread and on two.

    python bench/threads.py [--steps 200]
    python bench/threads.py --worker tmt --threads 1    # one run, e.g. under `perf record -g`

Trains W2's network (the seed's CNN, Adam, batch 128, W2's shuffle order) for 20 untimed
steps, then times ``--steps`` more, in one process per framework and thread count: tmt with ``TMT_NUM_THREADS`` (and OpenBLAS on one thread when tmt has one), PyTorch
with ``torch.set_num_threads``. Prints wall and CPU milliseconds a step and the speed-up two
threads give over one. Not a test: no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def step_times(framework: str, steps: int) -> dict[str, float]:
    """Wall and CPU (user + system) milliseconds a step, in this process."""
    import workloads as W

    x, y, _, _ = W.fashion_mnist()
    batches = W.epoch_batches(len(x), 0, seed=0)[: 20 + steps]
    if framework == "tmt":
        from step_ab import training_step

        step = training_step("w2", x, y)
    else:
        import torch
        import train_torch

        torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
        step = train_torch.w2_step(torch.from_numpy(x.reshape(-1, 1, 28, 28)), torch.from_numpy(y))

    for idx in batches[:20]:
        step(idx)
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for idx in batches[20:]:
        step(idx)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall / steps * 1e3, "cpu": cpu / steps * 1e3}


def run(framework: str, threads: int, steps: int) -> dict[str, float]:
    env = dict(os.environ, BENCH_THREADS=str(threads), TMT_NUM_THREADS=str(threads))
    if framework == "tmt" and threads == 1:
        env["OPENBLAS_NUM_THREADS"] = "1"  # with tmt's threads off, OpenBLAS would keep its own
    command = [sys.executable, __file__, "--worker", framework, "--threads", str(threads), "--steps", str(steps)]
    out = subprocess.run(command, capture_output=True, text=True, cwd=HERE, env=env)
    if out.returncode != 0:
        raise SystemExit(f"{framework} on {threads} thread(s) failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="timed steps (default 200)")
    parser.add_argument("--worker", choices=["tmt", "torch"], help="run one framework in this process")
    parser.add_argument("--threads", type=int, default=1, help="with --worker")
    args = parser.parse_args()
    if args.worker:
        os.environ.setdefault("BENCH_THREADS", str(args.threads))
        print(json.dumps(step_times(args.worker, args.steps)))
        return 0
    print(f"W2 step, ms       {'1 thread':>17}  {'2 threads':>17}  speed-up")
    for framework in ("tmt", "torch"):
        one, two = run(framework, 1, args.steps), run(framework, 2, args.steps)
        print(f"{framework:6s} wall / cpu  {one['wall']:7.2f} / {one['cpu']:6.2f}  "
              f"{two['wall']:7.2f} / {two['cpu']:6.2f}  {one['wall'] / two['wall']:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
