"""Training speed, accuracy and memory of tmt against PyTorch on real Fashion-MNIST.

    python bench/train.py [w1] [w2] [--runs 3]

W1: MLP 784-128-64-10 ReLU, SGD lr 0.1, batch 128, 5 epochs (seconds = median of epochs 2-5).
W2: the seed's 2-conv CNN, Adam 1e-3, batch 128, 20 warm-up steps then 2 timed epochs.
Run i is one process per framework with seed i: both start from the same initial weights
(PyTorch's default distributions, drawn once with NumPy) and see the same shuffle order, so
each seed is a paired comparison. tmt and PyTorch alternate (tmt, torch, tmt, torch, ...) so
that machine noise hits both alike. Prints every raw JSON line, then per framework the median
seconds per epoch and peak RSS, the mean test accuracy, and the per-seed accuracy differences
(tmt - torch) with their mean and spread. Not a test: no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORKERS = {"tmt": "train_tmt.py", "torch": "train_torch.py"}


def run_worker(peer: str, workload: str, seed: int) -> dict:
    out = subprocess.run([sys.executable, os.path.join(HERE, WORKERS[peer]), workload, str(seed)],
                         capture_output=True, text=True, cwd=HERE)
    if out.returncode != 0:
        raise SystemExit(f"{peer} {workload} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", metavar="w1|w2", help="default: both")
    parser.add_argument("--runs", type=int, default=3, help="seeds, one process per framework each")
    args = parser.parse_args()
    unknown = set(args.workloads) - {"w1", "w2"}
    if unknown:  # (argparse's choices= rejects an empty list of positionals on Python 3.11)
        parser.error(f"unknown workload(s) {sorted(unknown)}: choose w1, w2 or both")
    rows = []
    for workload in args.workloads or ["w1", "w2"]:
        results: dict[str, list[dict]] = {"tmt": [], "torch": []}
        for seed in range(args.runs):
            for peer in ("tmt", "torch"):
                line = run_worker(peer, workload, seed)
                print(json.dumps(line), flush=True)
                results[peer].append(line)
        rows.append((workload, results))
    print(f"\n{'workload':<9}{'peer':<7}{'epoch s':>9}{'test acc':>10}{'peak MB':>9}")
    for workload, results in rows:
        summary = {}
        for peer, lines in results.items():
            summary[peer] = s = {
                "epoch_s": statistics.median(line["epoch_s"] for line in lines),
                "test_acc": statistics.mean(line["test_acc"] for line in lines),
                "peak_rss_mb": statistics.median(line["peak_rss_mb"] for line in lines),
            }
            print(f"{workload:<9}{peer:<7}{s['epoch_s']:>9.3f}{s['test_acc']:>10.4f}{s['peak_rss_mb']:>9.0f}")
        t, p = summary["tmt"], summary["torch"]
        print(f"{workload:<9}{'ratio':<7}{t['epoch_s'] / p['epoch_s']:>9.2f}"
              f"{t['test_acc'] - p['test_acc']:>+10.4f}{t['peak_rss_mb'] / p['peak_rss_mb']:>9.2f}")
        gaps = [a["test_acc"] - b["test_acc"] for a, b in zip(results["tmt"], results["torch"])]
        spread = statistics.stdev(gaps) if len(gaps) > 1 else 0.0
        print(f"{workload:<9}accuracy tmt - torch by seed: {' '.join(f'{g:+.4f}' for g in gaps)}"
              f"  (mean {statistics.mean(gaps):+.4f}, sd {spread:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
