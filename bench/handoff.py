"""What handing work to another core costs: two threads through locks, against two processes
spinning on a word of shared memory (what ``fit(..., processes=N)`` does).

    python bench/handoff.py [--trips 2000]

Each round trip wakes the other side and waits for its answer; ~100 µs of Python work
between trips lets the other side go idle, as between the hand-offs of a training step.
Prints the median round trip of each. Not a test: no assertions.
"""

from __future__ import annotations

import argparse
import mmap
import os
import statistics
import threading
import time

import numpy as np


def work() -> None:
    total = 0
    for i in range(3000):  # ~100 µs
        total += i


def threads(trips: int) -> float:
    go, done = threading.Lock(), threading.Lock()
    go.acquire()
    done.acquire()

    def other() -> None:
        for _ in range(trips):
            go.acquire()
            done.release()

    thread = threading.Thread(target=other)
    thread.start()
    times = []
    for _ in range(trips):
        start = time.perf_counter()
        go.release()
        done.acquire()
        times.append(time.perf_counter() - start)
        work()
    thread.join()
    return statistics.median(times)


def processes(trips: int) -> float:
    memory = mmap.mmap(-1, 4096)  # anonymous and shared: the child sees the parent's writes
    words = np.ndarray((16,), np.int64, buffer=memory)  # [0]: the trip asked; [8]: answered
    pid = os.fork()
    if pid == 0:
        try:
            for trip in range(1, trips + 1):
                while words[0] != trip:
                    pass
                words[8] = trip
        finally:
            os._exit(0)
    times = []
    for trip in range(1, trips + 1):
        start = time.perf_counter()
        words[0] = trip
        while words[8] != trip:
            pass
        times.append(time.perf_counter() - start)
        work()
    os.waitpid(pid, 0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=2000)
    args = parser.parse_args()
    print(f"two threads, locks:            {threads(args.trips) * 1e6:8.2f} µs a round trip")
    print(f"two processes, shared memory:  {processes(args.trips) * 1e6:8.2f} µs a round trip")


if __name__ == "__main__":
    main()
