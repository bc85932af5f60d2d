"""Training speed, accuracy and memory of tmt against PyTorch on real Fashion-MNIST.

    python bench/train.py [w1] [w2] [--runs 3]

W1: MLP 784-128-64-10 ReLU, SGD lr 0.1, batch 128, 5 epochs (seconds = median of epochs 2-5).
W2: the seed's 2-conv CNN, Adam 1e-3, batch 128, 20 warm-up steps then 2 timed epochs.
Peers: ``tmt`` (a step loop on tmt's threads), ``tmt-2p`` (``fit(..., processes=2)``: two
processes, each a share of every batch) and ``torch`` (2 threads).
Run i is one process per peer with seed i: all start from the same initial weights
(PyTorch's default distributions, drawn once with NumPy) and see the same shuffle order, so
each seed is a paired comparison. The peers alternate (tmt, tmt-2p, torch, tmt, ...) so that
machine noise hits all alike. Prints every raw JSON line, then per peer the median seconds
per epoch, the mean test accuracy and the median peak RSS (for tmt-2p, the main process's
plus the private memory of its helper, whose RSS would count the shared pages twice),
then each tmt peer against torch, with the per-seed accuracy differences. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORKERS = {"tmt": ("train_tmt.py",), "tmt-2p": ("train_tmt.py", "2"), "torch": ("train_torch.py",)}


def run_worker(peer: str, workload: str, seed: int) -> dict:
    script, *extra = WORKERS[peer]
    out = subprocess.run([sys.executable, os.path.join(HERE, script), workload, str(seed), *extra],
                         capture_output=True, text=True, cwd=HERE)
    if out.returncode != 0:
        raise SystemExit(f"{peer} {workload} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", metavar="w1|w2", help="default: both")
    parser.add_argument("--runs", type=int, default=3, help="seeds, one process per framework each")
    parser.add_argument("--peers", default=",".join(WORKERS), help=f"comma-separated, of {', '.join(WORKERS)}")
    args = parser.parse_args()
    peers = args.peers.split(",")
    if set(peers) - set(WORKERS) or "torch" not in peers:
        parser.error(f"--peers: choose among {', '.join(WORKERS)}, torch included; got {args.peers!r}")
    unknown = set(args.workloads) - {"w1", "w2"}
    if unknown:  # (argparse's choices= rejects an empty list of positionals on Python 3.11)
        parser.error(f"unknown workload(s) {sorted(unknown)}: choose w1, w2 or both")
    rows = []
    for workload in args.workloads or ["w1", "w2"]:
        results: dict[str, list[dict]] = {peer: [] for peer in peers}
        for seed in range(args.runs):
            for peer in peers:
                line = run_worker(peer, workload, seed)
                print(json.dumps(line), flush=True)
                results[peer].append(line)
        rows.append((workload, results))
    print(f"\n{'workload':<9}{'peer':<8}{'epoch s':>9}{'test acc':>10}{'peak MB':>9}")
    for workload, results in rows:
        summary = {}
        for peer, lines in results.items():
            summary[peer] = s = {
                "epoch_s": statistics.median(line["epoch_s"] for line in lines),
                "test_acc": statistics.mean(line["test_acc"] for line in lines),
                "peak_rss_mb": statistics.median(line["peak_rss_mb"] + line.get("helper_private_mb", 0) for line in lines),
            }
            print(f"{workload:<9}{peer:<8}{s['epoch_s']:>9.3f}{s['test_acc']:>10.4f}{s['peak_rss_mb']:>9.0f}")
        p = summary["torch"]
        for peer in (peer for peer in results if peer != "torch"):
            t = summary[peer]
            print(f"{workload:<9}{peer + '/':<8}{t['epoch_s'] / p['epoch_s']:>9.2f}"
                  f"{t['test_acc'] - p['test_acc']:>+10.4f}{t['peak_rss_mb'] / p['peak_rss_mb']:>9.2f}")
            gaps = [a["test_acc"] - b["test_acc"] for a, b in zip(results[peer], results["torch"])]
            spread = statistics.stdev(gaps) if len(gaps) > 1 else 0.0
            print(f"{workload:<9}accuracy {peer} - torch by seed: {' '.join(f'{g:+.4f}' for g in gaps)}"
                  f"  (mean {statistics.mean(gaps):+.4f}, sd {spread:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
