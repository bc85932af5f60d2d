"""Where a training step's time goes, op by op: the forward and the vjp of every op call in
real W1 / W2 training steps (tmt only), as milliseconds per step.

    python bench/profile_ops.py w2 [--steps 100]
    python bench/profile_ops.py w2 --torch      # PyTorch's own profiler on the same steps
    python bench/profile_ops.py w2 --threads    # what handing work to tmt's threads costs

Every registered op's forward and vjp is wrapped with a timer (keyed by op and input shape),
the workload trains for a few warm-up steps, then ``--steps`` timed steps; what no op
accounts for (the optimizer, fetching the batch, dispatch and the engine's bookkeeping) is
the rest. The wall time of an op includes the threads it waits for. Not a test.
"""

from __future__ import annotations

import argparse
import collections
import time

import workloads as W
from tmt_core import Tensor
from tmt_core.registry import OPS
from tmt.cli.train import build_model
from tmt_nn import cross_entropy
from tmt_optim import SGD, Adam

SECONDS: collections.Counter = collections.Counter()


def timed(label, function, takes_needs):
    def call(*args, **attrs):
        start = time.perf_counter()
        result = function(*args, **attrs)
        SECONDS[f"{label} {getattr(args[0], 'shape', '')}"] += time.perf_counter() - start
        return result

    if takes_needs:  # keep the keyword visible: the engine asks for only the cotangents it needs
        def call_with_needs(*args, needs=None, **attrs):
            return call(*args, needs=needs, **attrs)

        return call_with_needs
    return call


def time_every_op() -> None:
    for name in list(OPS):
        op = OPS.get(name)
        op.forward = timed(f"{name} forward", op.forward, False)
        op.vjp = timed(f"{name} vjp", op.vjp, op.vjp_takes_needs)


def model_for(workload):
    """W1's MLP with SGD or W2's CNN with Adam: the seed's networks, as `tmt train` builds them."""
    if workload == "w1":
        model = build_model("mlp", (784,), 10)
        return model, SGD(model.parameters(), lr=W.W1["lr"]), (-1, 784)
    model = build_model("cnn", (1, 28, 28), 10)
    return model, Adam(model.parameters(), lr=W.W2["lr"]), (-1, 1, 28, 28)


HAND_OFFS: collections.Counter = collections.Counter()


def time_every_hand_off() -> None:
    """Wrap tmt_ops' over_batch, wherever it was imported, to see when each thread ran."""
    import sys
    import threading

    from tmt_ops import _parallel

    original = _parallel.over_batch

    def over_batch(length, elements, task):
        spans = {}

        def timed(start, stop):
            begin = time.perf_counter()
            task(start, stop)
            spans[threading.get_ident()] = (begin, time.perf_counter())

        called = time.perf_counter()
        original(length, elements, timed)
        returned = time.perf_counter()
        mine = spans.pop(threading.get_ident())
        if spans:  # the work was split: the other threads' spans remain
            HAND_OFFS["calls split over the threads"] += 1
            HAND_OFFS["the other threads start after the call"] += min(b for b, _ in spans.values()) - called
            HAND_OFFS["the caller waits for their work"] += max(0.0, max(e for _, e in spans.values()) - mine[1])
            HAND_OFFS["the call returns after all are done"] += returned - max(mine[1], *(e for _, e in spans.values()))
            HAND_OFFS["the caller's own part takes"] += mine[1] - mine[0]
            HAND_OFFS["another thread's part takes (the longest)"] += max(e - b for b, e in spans.values())

    for module in list(sys.modules.values()):
        if getattr(module, "over_batch", None) is original:
            module.over_batch = over_batch


def profile_torch(workload, steps) -> None:
    """The same steps in PyTorch (bench/train_torch.py's networks), under torch.profiler."""
    import torch
    from torch.profiler import profile

    import train_torch

    x, y, _, _ = train_torch.tensors((-1, 784) if workload == "w1" else (-1, 1, 28, 28))
    model = train_torch.mlp() if workload == "w1" else train_torch.cnn()
    optimizer = (torch.optim.SGD(model.parameters(), lr=W.W1["lr"]) if workload == "w1"
                 else torch.optim.Adam(model.parameters(), lr=W.W2["lr"]))
    batches = W.epoch_batches(len(x), 0, seed=0)
    train_torch.train_epoch(model, optimizer, x, y, batches[:20])
    with profile() as profiler:
        seconds, _ = train_torch.train_epoch(model, optimizer, x, y, batches[20 : 20 + steps])
    print(f"{workload} in PyTorch: {seconds / steps * 1e3:.2f} ms a step over {steps} steps, under the profiler")
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("workload", choices=["w1", "w2"])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=W.BATCH, help="examples per step")
    parser.add_argument("--torch", action="store_true", help="profile PyTorch on the same steps instead")
    parser.add_argument("--threads", action="store_true", help="time the hand-offs to tmt's threads instead of the ops")
    args = parser.parse_args()
    if args.torch:
        return profile_torch(args.workload, args.steps)
    x, y, _, _ = W.fashion_mnist()
    model, optimizer, shape = model_for(args.workload)
    x = x.reshape(shape)
    time_every_hand_off() if args.threads else time_every_op()
    batches = W.epoch_batches(len(x), 0, seed=0, batch=args.batch)

    def train(steps):
        for idx in steps:
            loss = cross_entropy(model(Tensor(x[idx])), Tensor(y[idx]))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

    train(batches[:20])
    SECONDS.clear()
    HAND_OFFS.clear()
    start = time.perf_counter()
    train(batches[20 : 20 + args.steps])
    per_step = 1e3 / args.steps
    total = (time.perf_counter() - start) * per_step
    print(f"{args.workload}: {total:.2f} ms a step over {args.steps} steps (batch {args.batch})")
    if args.threads:
        for label, value in HAND_OFFS.items():
            told = f"{value / args.steps:7.1f}" if label.startswith("calls") else f"{value * per_step:7.2f} ms"
            print(f"  {label:<46}{told}")
        return
    for label, seconds in SECONDS.most_common():
        if seconds * per_step >= 0.01:
            print(f"  {label:<46}{seconds * per_step:7.2f} ms")
    print(f"  {'the rest: optimizer, batch, dispatch, engine':<46}{total - sum(SECONDS.values()) * per_step:7.2f} ms")


if __name__ == "__main__":
    main()
