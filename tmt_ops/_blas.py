"""Tell NumPy's OpenBLAS how many threads to run on (Linux; private to ``_parallel``).

After every multi-threaded matmul, OpenBLAS keeps its worker threads spinning for a while
(about 2**28 cycles, a tenth of a second) in case more work comes. tmt's own threads, which
split the copies and elementwise passes around the matmuls, then fight those spinning threads
for the same cores: a W2 training step measured 33 ms that way, 25 ms with one pool of
threads doing everything (``python bench/ops_conv.py``, ``python bench/train.py``). So when
tmt runs threads of its own it sets OpenBLAS to one thread and splits big matmuls itself,
as PyTorch does with its intra-op thread pool.

OpenBLAS has no Python API: the library NumPy loaded is found in ``/proc/self/maps`` and its
``set_num_threads`` called through ctypes, under whichever of the names below the build
exports. Anything else (MKL, Accelerate, another OS) is left alone and :func:`set_threads`
returns None, so callers keep BLAS's own threading.
"""

from __future__ import annotations

import ctypes

import numpy as np  # noqa: F401  (NumPy loads its BLAS on import: it must be mapped first)

_PREFIXES = (
    "scipy_openblas_{}_num_threads64_",  # NumPy >= 2.0 wheels (scipy-openblas, ILP64)
    "scipy_openblas_{}_num_threads",
    "openblas_{}_num_threads64_",
    "openblas_{}_num_threads",  # Debian's libopenblas, older wheels
)


def _openblas_paths() -> list[str]:
    """The OpenBLAS libraries mapped into this process, NumPy's own (a wheel's) first."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:  # not Linux
        return []
    return sorted(paths, key=lambda path: ("numpy" not in path, path))


def set_threads(count: int) -> int | None:
    """Set NumPy's OpenBLAS to ``count`` threads; returns how many it had (0 if it cannot
    say), or None when no OpenBLAS was found to tell."""
    for path in _openblas_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _PREFIXES:
            setter = getattr(library, name.format("set"), None)
            if setter is not None:
                getter = getattr(library, name.format("get"), None)
                before = int(getter()) if getter is not None else 0
                setter(count)
                return before
    return None
