"""The training workloads of bench/train.py, shared by the tmt and PyTorch workers: data,
shuffle order, initial weights, hyper-parameters. Each worker runs in its own process, for
one seed, and prints one JSON line."""

from __future__ import annotations

import gzip
import json
import os
import resource
import struct
import sys

import numpy as np

DATA_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
BATCH = 128
W1 = dict(name="W1_mlp", lr=0.1, epochs=5)  # SGD; epoch_s = median of epochs 2..5
W2 = dict(name="W2_cnn", lr=1e-3, epochs=2, warmup_batches=20)  # Adam; mean of 2 epochs

# Every layer's weight shape in PyTorch's layout (Linear: (out, in); Conv2d: (O, C, kh, kw)).
W1_LAYERS = [(128, 784), (64, 128), (10, 64)]
W2_LAYERS = [(16, 1, 3, 3), (32, 16, 3, 3), (128, 32 * 7 * 7), (10, 128)]


def read_idx_gz(path: str) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    if magic == 2051:
        n, rows, cols = struct.unpack(">III", raw[4:16])
        return np.frombuffer(raw, np.uint8, offset=16).reshape(n, rows, cols)
    if magic == 2049:
        return np.frombuffer(raw, np.uint8, offset=8)
    raise ValueError(f"{path}: bad IDX magic {magic}")


def fashion_mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x float32 in [0, 1] of shape (N, 28, 28); y int64."""
    def part(name: str) -> np.ndarray:
        return read_idx_gz(os.path.join(DATA_DIR, name))

    x_train = part("train-images-idx3-ubyte.gz").astype(np.float32) / np.float32(255)
    x_test = part("t10k-images-idx3-ubyte.gz").astype(np.float32) / np.float32(255)
    y_train = part("train-labels-idx1-ubyte.gz").astype(np.int64)
    y_test = part("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return x_train, y_train, x_test, y_test


def epoch_order(n: int, epoch: int, seed: int) -> np.ndarray:
    """The same shuffle order for every framework, one per (seed, epoch)."""
    return np.random.default_rng((seed, epoch)).permutation(n)


def epoch_batches(n: int, epoch: int, seed: int, batch: int = BATCH) -> list[np.ndarray]:
    """That order cut into batches."""
    perm = epoch_order(n, epoch, seed)
    return [perm[i:i + batch] for i in range(0, n, batch)]


def initial_weights(layers: list[tuple[int, ...]], seed: int) -> list[np.ndarray]:
    """[weight, bias, weight, bias, ...] in PyTorch's layouts, drawn from PyTorch's default
    initialisation (both uniform on ±1/√fan_in) with one NumPy generator: both frameworks
    start from the same weights, so their accuracies differ by arithmetic, not by the draw."""
    rng = np.random.default_rng(seed)
    arrays = []
    for shape in layers:
        bound = 1 / np.sqrt(np.prod(shape[1:]))
        arrays.append(rng.uniform(-bound, bound, shape).astype(np.float32))
        arrays.append(rng.uniform(-bound, bound, shape[0]).astype(np.float32))
    return arrays


def seed_argument() -> int:
    return int(sys.argv[2]) if len(sys.argv) > 2 else 0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_private_mb() -> float:
    """Memory this process's children hold alone (private pages, from smaps_rollup): what a
    forked helper adds, where its RSS would count again every page it shares with this one."""
    total = 0.0
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as f:
            for pid in f.read().split():
                with open(f"/proc/{pid}/smaps_rollup") as rollup:
                    total += sum(int(line.split()[1]) for line in rollup if line.startswith("Private_"))
    return total / 1024


def emit(**fields: object) -> None:
    fields["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(fields), flush=True)
    sys.stdout.flush()
