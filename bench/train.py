"""Training speed, accuracy and memory of tmt against PyTorch on real Fashion-MNIST.

    python bench/train.py [w1] [w2] [--runs 3]

W1: MLP 784-128-64-10 ReLU, SGD lr 0.1, batch 128, 5 epochs (seconds = median of epochs 2-5).
W2: the seed's 2-conv CNN, Adam 1e-3, batch 128, 20 warm-up steps then 2 timed epochs.
Each run is its own process; tmt and PyTorch alternate (tmt, torch, tmt, torch, ...) so that
machine noise hits both alike; the same shuffle order feeds both. Prints a table of medians
over runs, the ratios, and every raw JSON line. Not a test: no assertions.
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


def run_worker(peer: str, workload: str) -> dict:
    out = subprocess.run([sys.executable, os.path.join(HERE, WORKERS[peer]), workload],
                         capture_output=True, text=True, cwd=HERE)
    if out.returncode != 0:
        raise SystemExit(f"{peer} {workload} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=["w1", "w2"], choices=["w1", "w2"])
    parser.add_argument("--runs", type=int, default=3, help="processes per framework")
    args = parser.parse_args()
    rows = []
    for workload in args.workloads:
        results: dict[str, list[dict]] = {"tmt": [], "torch": []}
        for _ in range(args.runs):
            for peer in ("tmt", "torch"):
                line = run_worker(peer, workload)
                print(json.dumps(line), flush=True)
                results[peer].append(line)
        rows.append((workload, results))
    print(f"\n{'workload':<8}{'peer':<7}{'epoch s':>9}{'test acc':>10}{'peak MB':>9}")
    for workload, results in rows:
        summary = {}
        for peer, lines in results.items():
            summary[peer] = {k: statistics.median(l[k] for l in lines)
                             for k in ("epoch_s", "test_acc", "peak_rss_mb")}
            s = summary[peer]
            print(f"{workload:<8}{peer:<7}{s['epoch_s']:>9.3f}{s['test_acc']:>10.4f}{s['peak_rss_mb']:>9.0f}")
        t, p = summary["tmt"], summary["torch"]
        print(f"{workload:<8}{'ratio':<7}{t['epoch_s'] / p['epoch_s']:>9.2f}"
              f"{t['test_acc'] - p['test_acc']:>+10.4f}{t['peak_rss_mb'] / p['peak_rss_mb']:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
