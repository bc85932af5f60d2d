"""Files a run writes (saved models, metrics, plots): written atomically, named freshly.

The content goes to a temporary file in the destination's folder, is flushed to disk, then
moved over the destination with ``os.replace`` (atomic on POSIX and Windows): a crash or
Ctrl-C midway leaves either no file or the previous one intact, never half a file.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

__all__ = ["atomic_write", "fresh_run_path"]


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb", **open_options: Any) -> Iterator[IO[Any]]:
    """``with atomic_write(path) as handle: ...`` — ``path`` appears only once all is written."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, mode, **open_options) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; these files are not secret
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def fresh_run_path(suffix: str, folder: str = "runs") -> Path:
    """``runs/<timestamp><suffix>``, with ``-1``, ``-2``... when that name is taken."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(folder) / f"{stamp}{suffix}"
    counter = 1
    while path.exists():
        path = Path(folder) / f"{stamp}-{counter}{suffix}"
        counter += 1
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
