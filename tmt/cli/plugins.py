"""``tmt plugins``: the installed plugins, their version, hooks and what each provides, and
the ones that failed with their error, the way ``llm plugins`` or ``datasette plugins`` do.

``--all`` adds the default plugins (tmt's own op families, optimizers, datasets, reporters).
``--check`` also looks for mistakes that are otherwise silent: a hook implementation whose
name matches no specification (``register_reporter`` for ``register_reporters``), or a hook
function left without ``@hookimpl``; it exits 1 when a listed plugin failed to load, has such
a mistake, or registered something it may not (a name already taken).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from typing import Any

from tmt.cli.catalogs import load_all_catalogs

__all__ = ["add_parser", "plugin_records", "hook_mistakes"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "plugins", help="list installed plugins: version, hooks, what each provides, failures"
    )
    parser.add_argument("--all", action="store_true", help="include tmt's default plugins")
    parser.add_argument(
        "--check", action="store_true",
        help="also report hooks that match no specification; exit 1 on any problem",
    )
    parser.add_argument("--format", choices=("json", "table"), default="json")
    parser.set_defaults(func=run)


def _spec_names(pm: Any) -> list[str]:
    return sorted(name for name, caller in vars(pm.hook).items()
                  if getattr(caller, "spec", None) is not None)


def hook_mistakes(name: str) -> tuple[list[str], list[str]]:
    """``(unknown, unmarked)`` for the registered plugin ``name``: hook implementations that
    match no specification, and functions named like a hook but without ``@hookimpl``."""
    from tmt_core import plugins

    pm = plugins.plugin_manager()
    plugin = pm.get_plugin(name)
    if plugin is None:
        return [], []
    unknown = sorted(caller.name for caller in pm.get_hookcallers(plugin) or []
                     if caller.spec is None)
    unmarked = sorted(
        spec for spec in _spec_names(pm)
        if callable(getattr(plugin, spec, None)) and pm.parse_hookimpl_opts(plugin, spec) is None
    )
    return unknown, unmarked


def _mistake_messages(unknown: list[str], unmarked: list[str], specs: list[str]) -> list[str]:
    messages = []
    for hook in unknown:
        close = difflib.get_close_matches(hook, specs, n=1)
        hint = f"; did you mean {close[0]}?" if close else f" (tmt's hooks: {', '.join(specs)})"
        messages.append(f"hook {hook}() matches no hook specification, tmt never calls it{hint}")
    for hook in unmarked:
        messages.append(f"{hook}() is not marked with @hookimpl, tmt never calls it")
    return messages


def plugin_records(include_default: bool = False, check: bool = False) -> list[dict[str, Any]]:
    """One JSON-ready record per plugin (built after every catalog, so ``provides`` is
    complete)."""
    from tmt_core import plugins

    load_all_catalogs()
    specs = _spec_names(plugins.plugin_manager())
    records = []
    for info in plugins.plugin_infos():
        if info.default and not include_default:
            continue
        record: dict[str, Any] = {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "module": info.module,
            "default": info.default,
            "status": info.status,
            "error": info.error,
            "hooks": info.hooks(),
            "provides": {kind: sorted(names) for kind, names in info.provides.items() if names},
            "problems": list(info.problems),
        }
        if check:
            unknown, unmarked = hook_mistakes(info.name)
            record["unknown_hooks"] = unknown
            record["unmarked_hooks"] = unmarked
            record["problems"] += _mistake_messages(unknown, unmarked, specs)
        records.append(record)
    return records


def _label(record: dict[str, Any]) -> str:
    if record["distribution"]:
        return f"{record['name']} ({record['distribution']} {record['version']})"
    return record["name"]


def _print_table(records: list[dict[str, Any]]) -> None:
    if not records:
        print("no plugins installed (tmt plugins --all also lists tmt's own)")
        return
    for record in records:
        provides = "; ".join(f"{kind}: {', '.join(names)}"
                             for kind, names in record["provides"].items())
        print(f"{_label(record)}  [{record['status']}]  module {record['module']}")
        if record["hooks"]:
            print(f"    hooks:    {', '.join(record['hooks'])}")
        if provides:
            print(f"    provides: {provides}")
        if record["error"]:
            print(f"    error:    {record['error']}")
        for problem in record["problems"]:
            print(f"    problem:  {problem}")


def run(args: argparse.Namespace) -> int:
    records = plugin_records(include_default=args.all, check=args.check)
    if args.format == "json":
        print(json.dumps(records, indent=2))
    else:
        _print_table(records)
    if not args.check:
        return 0
    bad = [r for r in records if r["status"] == "failed" or r["problems"]]
    for record in bad:
        for message in ([record["error"]] if record["error"] else []) + record["problems"]:
            print(f"tmt plugins --check: {_label(record)}: {message}", file=sys.stderr)
    return 1 if bad else 0
