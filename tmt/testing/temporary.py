"""A throwaway plugin installed for the length of a ``with`` block: a real entry point, found
the way pip-installed plugins are, and gone afterwards.

    with temporary_plugin('''
        from tmt_core.plugins import hookimpl

        @hookimpl
        def register_ops(register):
            ...
    ''', name="myplugin", version="0.3.0") as plugin:
        ...   # tmt sees "myplugin (myplugin 0.3.0)"

It writes ``<name>.py`` and a ``<name>-<version>.dist-info`` folder (``METADATA`` and
``entry_points.txt``, group ``tmt``) into a fresh temporary folder, puts the folder first on
``sys.path``, adds the plugin to ``TMT_LOAD_PLUGINS`` and makes tmt scan its entry points
again. On exit everything is undone and tmt scans again. Not thread-safe (it edits
``sys.path`` and ``os.environ``), like pytest's ``monkeypatch``.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tmt_core import plugins

__all__ = ["TemporaryPlugin", "temporary_plugin"]


@dataclass(frozen=True)
class TemporaryPlugin:
    name: str  # the entry point name (and module name)
    distribution: str
    version: str
    path: Path  # the folder put on sys.path


def _write(folder: Path, source: str, name: str, distribution: str, version: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    info = folder / f"{distribution.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    )
    (info / "entry_points.txt").write_text(f"[{plugins.PROJECT}]\n{name} = {name}\n")


@contextmanager
def temporary_plugin(
    source: str,
    *,
    name: str = "throwaway",
    version: str = "1.0.0",
    distribution: str | None = None,
    select: bool = True,
) -> Iterator[TemporaryPlugin]:
    """Install ``source`` as the module ``name`` of distribution ``distribution`` (default:
    ``name`` with ``_`` as ``-``), entry point ``name`` in the group ``tmt``. ``select=False``
    leaves ``TMT_LOAD_PLUGINS`` alone (to test that an unselected plugin stays out)."""
    if not name.isidentifier():
        raise ValueError(f"plugin name {name!r} must be a valid module name")
    distribution = distribution or name.replace("_", "-")
    folder = Path(tempfile.mkdtemp(prefix=f"tmt-plugin-{name}-"))
    _write(folder, source, name, distribution, version)
    saved_env = os.environ.get("TMT_LOAD_PLUGINS")
    if select and saved_env is not None:  # None loads every installed plugin already
        os.environ["TMT_LOAD_PLUGINS"] = ",".join(p for p in (saved_env, name) if p)
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    plugins.reset()
    try:
        yield TemporaryPlugin(name, distribution, version, folder)
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(name, None)
        if saved_env is None:
            os.environ.pop("TMT_LOAD_PLUGINS", None)
        else:
            os.environ["TMT_LOAD_PLUGINS"] = saved_env
        shutil.rmtree(folder, ignore_errors=True)
        importlib.invalidate_caches()
        plugins.reset()
