"""Saving and loading named arrays as ``.npz``, atomically.

Written through :func:`tmt_nn.files.atomic_write`: a crash or Ctrl-C midway leaves either no
file or the previous one intact, never a half-written archive.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from .errors import StateDictError
from .files import atomic_write

__all__ = ["save_arrays", "load_arrays"]


def save_arrays(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` to ``path`` (exactly that name: no ``.npz`` is appended)."""
    with atomic_write(path) as handle:
        _write_npz(handle, arrays)
    return Path(path)


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
