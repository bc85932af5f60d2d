"""``tmt ops``: the op registry, with each op's provider."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("ops", help="list every registered op and the plugin providing it")
    parser.add_argument("--plugin", help="only the ops of this plugin")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tmt_core.registry import OPS

    rows = [
        {"op": e.name, "plugin": e.provider.name, "distribution": e.provider.distribution,
         "version": e.provider.version}
        for e in OPS.entries()
        if args.plugin in (None, e.provider.name, e.provider.distribution)
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    width = max((len(r["op"]) for r in rows), default=2)
    for r in rows:
        print(f"{r['op']:<{width}}  {r['plugin']} ({r['distribution']} {r['version']})")
    return 0
