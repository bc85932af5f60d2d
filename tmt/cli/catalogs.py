"""``tmt optimizers``, ``tmt datasets``, ``tmt reporters``: each catalog, with each entry's
provider, the way ``tmt ops`` lists the op registry.

The layers are imported here, when a command runs, never when the command line starts: a
layer that does not import costs its own command one error line, not the whole ``tmt``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

from tmt_core.conformance.selection import matches_plugin

from .rows import print_rows

__all__ = ["CATALOGS", "load_catalog", "load_all_catalogs", "add_parser"]

# kind -> (module, attribute) of the catalog holding every registered thing of that kind.
CATALOGS: dict[str, tuple[str, str]] = {
    "op": ("tmt_core.registry", "OPS"),
    "optimizer": ("tmt_optim", "OPTIMIZERS"),
    "dataset": ("tmt_data", "DATASETS"),
    "reporter": ("tmt_nn", "REPORTERS"),
}


def load_catalog(kind: str) -> Any:
    """The catalog of ``kind``; importing its layer also adds the layer's hook specs."""
    module, attribute = CATALOGS[kind]
    return getattr(importlib.import_module(module), attribute)


def load_all_catalogs() -> dict[str, Any]:
    """Every catalog that imports, built. Layers are all imported before any catalog is
    built, because importing a layer adds hook specifications (and rebuilds the tables);
    building fills each plugin's ``PluginInfo.provides``. A layer that does not import is
    reported on stderr and left out."""
    catalogs: dict[str, Any] = {}
    for kind, (module, attribute) in CATALOGS.items():
        try:
            catalogs[kind] = load_catalog(kind)
        except Exception as exc:  # another layer broken must not hide the plugins
            print(f"tmt: {module}.{attribute} is not available ({type(exc).__name__}: {exc}); "
                  f"its {kind}s are not listed", file=sys.stderr)
    for catalog in catalogs.values():
        len(catalog)
    return catalogs


def add_parser(sub: argparse._SubParsersAction) -> None:
    for kind in ("optimizer", "dataset", "reporter"):
        parser = sub.add_parser(
            f"{kind}s", help=f"list every registered {kind} and the plugin providing it"
        )
        parser.add_argument("--plugin", help=f"only the {kind}s of this plugin or distribution")
        parser.add_argument("--format", choices=("table", "json"), default="table")
        parser.set_defaults(func=run, kind=kind)


def _summary(value: Any) -> str:
    """The entry's own ``description`` (a dataset's), else its docstring's first paragraph,
    on one line (a first line may end mid-sentence), without reST's double backticks."""
    described = getattr(value, "description", None)
    doc = described if isinstance(described, str) and described else getattr(value, "__doc__", None)
    return " ".join((doc or "").strip().split("\n\n")[0].split()).replace("``", "")


def run(args: argparse.Namespace) -> int:
    kind = args.kind
    try:
        catalog = load_catalog(kind)
    except Exception as exc:
        module = CATALOGS[kind][0]
        print(f"tmt: cannot list {kind}s: {module} does not import "
              f"({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    rows = [
        {kind: entry.name, "plugin": entry.provider.name,
         "distribution": entry.provider.distribution, "version": entry.provider.version,
         "description": _summary(entry.value)}
        for entry in catalog.entries()
        if args.plugin is None or matches_plugin(entry.provider, args.plugin)
    ]
    if args.plugin is not None and not rows:
        providers = sorted({e.provider.distribution or e.provider.name for e in catalog.entries()})
        print(f"tmt {kind}s: no loaded plugin named {args.plugin!r} provides {kind}s. "
              f"Plugins providing {kind}s: {', '.join(providers) or '(none)'}.", file=sys.stderr)
        return 1
    print_rows(rows, args.format, kind, _provider_and_summary)
    return 0


def _provider_and_summary(row: dict[str, Any]) -> str:
    source = f" ({row['distribution']} {row['version']})" if row["distribution"] else ""
    text = f"{row['plugin']}{source}"
    return f"{text}  {row['description']}" if row["description"] else text
