"""Saving and loading named arrays as ``.npz``, atomically.

The file is written to a temporary file in the same folder, flushed to disk, then moved over
the destination with ``os.replace`` (atomic on POSIX and Windows): a crash or Ctrl-C midway
leaves either no file or the previous one intact, never a half-written archive.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from .errors import StateDictError

__all__ = ["save_arrays", "load_arrays"]


def save_arrays(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` to ``path`` (exactly that name: no ``.npz`` is appended)."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            _write_npz(handle, arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; a saved model is not secret
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_npz(handle: object, arrays: Mapping[str, np.ndarray]) -> None:
    # What np.savez does, without its keyword arguments: a key such as "file" cannot clash.
    with zipfile.ZipFile(handle, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:  # type: ignore[arg-type]
        for key, array in arrays.items():
            with archive.open(f"{key}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def load_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` written by :func:`save_arrays` (or ``np.savez``)."""
    name = os.fspath(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise StateDictError(f"cannot read saved arrays from {name}: {exc}") from exc
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise StateDictError(f"{name} holds a single array, not an .npz archive of named arrays")
    try:
        with loaded:
            return {key: loaded[key] for key in loaded.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise StateDictError(f"cannot read saved arrays from {name}: {exc}") from exc
