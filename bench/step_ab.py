"""A training step of this checkout against another one, in alternating processes.

    git worktree add /tmp/before <commit>
    python bench/step_ab.py /tmp/before [w1|w2] [--rounds 4] [--batch 64]

Each process imports tmt from one checkout (its directory first on sys.path), trains the
workload's network (as `tmt train` builds it) for 20 untimed steps, then times the next ones
(120 for W2, 460 for W1) and prints milliseconds a step (``--batch``: images a step instead
of the workload's 128; the Keras comparison's is 64); the two checkouts alternate
``--rounds`` times, so that the machine's noise falls on both. This is how the changes listed
in bench/RESULTS.md were measured. Not a test: no assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = {"w1": 460, "w2": 120}


def training_step(workload: str, x, y):
    """``step(idx)``: one training step of the workload's network (as `tmt train` builds it)
    on the rows ``idx`` of the images ``x`` (N, 28, 28) and labels ``y``."""
    import workloads as W
    from tmt.cli.train import build_model
    from tmt_core import Tensor
    from tmt_nn import cross_entropy
    from tmt_optim import SGD, Adam

    if workload == "w1":
        x, model = x.reshape(-1, 784), build_model("mlp", (784,), 10)
        optimizer = SGD(model.parameters(), lr=W.W1["lr"])
    else:
        x, model = x.reshape(-1, 1, 28, 28), build_model("cnn", (1, 28, 28), 10)
        optimizer = Adam(model.parameters(), lr=W.W2["lr"])

    def step(idx):
        cross_entropy(model(Tensor(x[idx])), Tensor(y[idx])).backward()
        optimizer.step()
        optimizer.zero_grad()

    return step


def time_steps(workload: str, batch: int) -> float:
    """Milliseconds a training step of this process's tmt."""
    import workloads as W

    x, y, _, _ = W.fashion_mnist()
    step = training_step(workload, x, y)
    batches = W.epoch_batches(len(x), 0, seed=0, batch=batch)
    for idx in batches[:20]:
        step(idx)
    start = time.perf_counter()
    for idx in batches[20 : 20 + STEPS[workload]]:
        step(idx)
    return (time.perf_counter() - start) / STEPS[workload] * 1e3


def run(checkout: str, workload: str, batch: int) -> float:
    code = f"import sys; sys.path[:0] = [{checkout!r}, {HERE!r}]; import step_ab; print(step_ab.time_steps({workload!r}, {batch}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    if out.returncode != 0:
        raise SystemExit(f"{checkout}: {out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", help="another checkout of tmt (e.g. a git worktree)")
    parser.add_argument("workload", nargs="?", default="w2", choices=sorted(STEPS))
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batch", type=int, default=128, help="images a step (default 128, the workloads')")
    args = parser.parse_args()
    this = os.path.dirname(HERE)
    times: dict[str, list[float]] = {"other": [], "this": []}
    for _ in range(args.rounds):
        for name, checkout in (("other", os.path.abspath(args.other)), ("this", this)):
            times[name].append(run(checkout, args.workload, args.batch))
        print(f"other {times['other'][-1]:8.3f} ms   this {times['this'][-1]:8.3f} ms", flush=True)
    other, mine = statistics.median(times["other"]), statistics.median(times["this"])
    print(f"{args.workload}: median {other:.3f} -> {mine:.3f} ms a step ({mine / other:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
