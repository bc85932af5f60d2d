"""PyTorch worker of bench/train.py (CPU, 2 threads). Usage: train_torch.py w1|w2 [SEED]"""

from __future__ import annotations

import statistics
import sys
import time

import torch
from torch import nn

import workloads as W

torch.set_num_threads(2)


def train_epoch(model, optimizer, x, y, batches):
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for idx in batches:
        ix = torch.from_numpy(idx)
        loss = loss_fn(model(x[ix]), y[ix])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start, loss.item()


def accuracy(model, x, y):
    with torch.no_grad():  # in chunks of 1000, as the tmt worker does
        hits = sum(int((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum())
                   for i in range(0, len(x), 1000))
    return hits / len(x)


def tensors(shape):
    x, y, xt, yt = W.fashion_mnist()
    return (torch.from_numpy(x.reshape(shape)), torch.from_numpy(y),
            torch.from_numpy(xt.reshape(shape)), torch.from_numpy(yt))


def start_from(model, layers, seed):
    """The workload's shared initial weights (PyTorch's layouts)."""
    with torch.no_grad():
        for param, value in zip(model.parameters(), W.initial_weights(layers, seed)):
            param.copy_(torch.from_numpy(value))


def mlp():
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def w2_step(x, y, seed=0):
    """``step(idx)``: one W2 training step, from the workload's initial weights, on the rows
    ``idx`` (a NumPy index array) of the tensors x (N, 1, 28, 28) and y."""
    model = cnn()
    start_from(model, W.W2_LAYERS, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=W.W2["lr"])
    loss_fn = nn.CrossEntropyLoss()

    def step(idx):
        ix = torch.from_numpy(idx)
        optimizer.zero_grad()
        loss_fn(model(x[ix]), y[ix]).backward()
        optimizer.step()

    return step


def w1(seed):
    x, y, xt, yt = tensors((-1, 784))
    model = mlp()
    start_from(model, W.W1_LAYERS, seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=W.W1["lr"])
    times = []
    for epoch in range(W.W1["epochs"]):
        seconds, loss = train_epoch(model, optimizer, x, y, W.epoch_batches(len(x), epoch, seed))
        times.append(seconds)
    W.emit(peer="torch", workload=W.W1["name"], seed=seed, epoch_s=round(statistics.median(times[1:]), 3),
           test_acc=round(accuracy(model, xt, yt), 4), final_loss=round(loss, 4),
           epoch_times=[round(t, 3) for t in times], version=torch.__version__)


def w2(seed):
    x, y, xt, yt = tensors((-1, 1, 28, 28))
    model = cnn()
    start_from(model, W.W2_LAYERS, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=W.W2["lr"])
    train_epoch(model, optimizer, x, y, W.epoch_batches(len(x), 1000, seed)[:W.W2["warmup_batches"]])
    times = []
    for epoch in range(W.W2["epochs"]):
        seconds, loss = train_epoch(model, optimizer, x, y, W.epoch_batches(len(x), epoch, seed))
        times.append(seconds)
    W.emit(peer="torch", workload=W.W2["name"], seed=seed, epoch_s=round(statistics.mean(times), 3),
           test_acc=round(accuracy(model, xt, yt), 4), final_loss=round(loss, 4),
           epoch_times=[round(t, 3) for t in times], version=torch.__version__)


if __name__ == "__main__":
    {"w1": w1, "w2": w2}[sys.argv[1]](W.seed_argument())
