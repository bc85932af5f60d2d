"""tmt worker of bench/train.py: the seed's networks as `tmt train` builds them (the seed's
public API: Network, Linear, Conv2D, ...). Usage: train_tmt.py w1|w2 [SEED [PROCESSES]]

With PROCESSES (2 or more) it trains through ``fit(..., processes=PROCESSES)``, replaying the
workload's shuffle order with ``shuffle=``; otherwise the plain step loop below, on tmt's
threads."""

from __future__ import annotations

import statistics
import sys
import time

import workloads as W
from tmt.cli.train import build_model
from tmt_core import Tensor, no_grad
from tmt_nn import Reporter, cross_entropy, fit
from tmt_optim import SGD, Adam


PROCESSES = int(sys.argv[3]) if len(sys.argv) > 3 else 1
PEER = "tmt" if PROCESSES == 1 else f"tmt-{PROCESSES}p"


def train_epochs(model, optimizer, x, y, epochs, seed):
    """Seconds of each epoch and the last loss, on tmt's threads or on PROCESSES processes."""
    if PROCESSES == 1:
        timed = [train_epoch(model, optimizer, x, y, W.epoch_batches(len(x), epoch, seed)) for epoch in range(epochs)]
        return [seconds for seconds, _ in timed], timed[-1][1]
    history = fit(model, "cross_entropy", optimizer, (x, y), epochs=epochs, batch_size=W.BATCH,
                  reporters=[PROBE], metrics=(), processes=PROCESSES,
                  shuffle=lambda epoch: W.epoch_order(len(x), epoch - 1, seed))
    return history["seconds"], PROBE.last_loss


class Probe(Reporter):
    """The last batch's loss, and the helpers' private memory, the most seen at an epoch's end."""

    name = "probe"
    last_loss, helper_mb = float("nan"), 0.0

    def on_batch_end(self, *, epoch, step, metrics):
        self.last_loss = metrics["loss"]

    def on_epoch_end(self, *, epoch, metrics):
        self.helper_mb = max(self.helper_mb, W.children_private_mb())


PROBE = Probe()


def train_epoch(model, optimizer, x, y, batches):
    start = time.perf_counter()
    for idx in batches:
        loss = cross_entropy(model(Tensor(x[idx])), Tensor(y[idx]))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return time.perf_counter() - start, float(loss.data)


def accuracy(model, x, y):
    with no_grad():
        hits = sum(int((model(Tensor(x[i:i + 1000])).data.argmax(1) == y[i:i + 1000]).sum())
                   for i in range(0, len(x), 1000))
    return hits / len(x)


def start_from(model, layers, seed):
    """The workload's shared initial weights; tmt's Linear keeps its weight as (in, out)."""
    for param, value in zip(model.parameters(), W.initial_weights(layers, seed)):
        param.data[...] = value.T if value.ndim == 2 else value


def w1(seed):
    x, y, xt, yt = W.fashion_mnist()
    x, xt = x.reshape(-1, 784), xt.reshape(-1, 784)
    model = build_model("mlp", (784,), 10)  # 784-128-64-10, ReLU
    start_from(model, W.W1_LAYERS, seed)
    optimizer = SGD(model.parameters(), lr=W.W1["lr"])
    times, loss = train_epochs(model, optimizer, x, y, W.W1["epochs"], seed)
    W.emit(peer=PEER, workload=W.W1["name"], seed=seed, epoch_s=round(statistics.median(times[1:]), 3),
           test_acc=round(accuracy(model, xt, yt), 4), final_loss=round(loss, 4),
           epoch_times=[round(t, 3) for t in times], helper_private_mb=round(PROBE.helper_mb, 1))


def w2(seed):
    x, y, xt, yt = W.fashion_mnist()
    x, xt = x.reshape(-1, 1, 28, 28), xt.reshape(-1, 1, 28, 28)
    model = build_model("cnn", (1, 28, 28), 10)  # the seed's 2-conv CNN
    start_from(model, W.W2_LAYERS, seed)
    optimizer = Adam(model.parameters(), lr=W.W2["lr"])
    train_epoch(model, optimizer, x, y, W.epoch_batches(len(x), 1000, seed)[:W.W2["warmup_batches"]])
    times, loss = train_epochs(model, optimizer, x, y, W.W2["epochs"], seed)
    W.emit(peer=PEER, workload=W.W2["name"], seed=seed, epoch_s=round(statistics.mean(times), 3),
           test_acc=round(accuracy(model, xt, yt), 4), final_loss=round(loss, 4),
           epoch_times=[round(t, 3) for t in times], helper_private_mb=round(PROBE.helper_mb, 1))


if __name__ == "__main__":
    {"w1": w1, "w2": w2}[sys.argv[1]](W.seed_argument())
