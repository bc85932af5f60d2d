"""tmt worker of bench/train.py: the seed's networks as `tmt train` builds them (the seed's
public API: Network, Linear, Conv2D, ...). Usage: train_tmt.py w1|w2 [SEED]"""

from __future__ import annotations

import statistics
import sys
import time

import workloads as W
from tmt.cli.train import build_model
from tmt_core import Tensor, no_grad
from tmt_nn import cross_entropy
from tmt_optim import SGD, Adam


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
    times = []
    for epoch in range(W.W1["epochs"]):
        seconds, loss = train_epoch(model, optimizer, x, y, W.epoch_batches(len(x), epoch, seed))
        times.append(seconds)
    W.emit(peer="tmt", workload=W.W1["name"], seed=seed, epoch_s=round(statistics.median(times[1:]), 3),
           test_acc=round(accuracy(model, xt, yt), 4), final_loss=round(loss, 4),
           epoch_times=[round(t, 3) for t in times])


def w2(seed):
    x, y, xt, yt = W.fashion_mnist()
    x, xt = x.reshape(-1, 1, 28, 28), xt.reshape(-1, 1, 28, 28)
    model = build_model("cnn", (1, 28, 28), 10)  # the seed's 2-conv CNN
    start_from(model, W.W2_LAYERS, seed)
    optimizer = Adam(model.parameters(), lr=W.W2["lr"])
    train_epoch(model, optimizer, x, y, W.epoch_batches(len(x), 1000, seed)[:W.W2["warmup_batches"]])
    times = []
    for epoch in range(W.W2["epochs"]):
        seconds, loss = train_epoch(model, optimizer, x, y, W.epoch_batches(len(x), epoch, seed))
        times.append(seconds)
    W.emit(peer="tmt", workload=W.W2["name"], seed=seed, epoch_s=round(statistics.mean(times), 3),
           test_acc=round(accuracy(model, xt, yt), 4), final_loss=round(loss, 4),
           epoch_times=[round(t, 3) for t in times])


if __name__ == "__main__":
    {"w1": w1, "w2": w2}[sys.argv[1]](W.seed_argument())
