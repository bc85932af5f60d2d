"""``tmt ops``: the op registry, with each op's provider."""

from __future__ import annotations

import argparse

from .rows import print_rows


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("ops", help="list every registered op and the plugin providing it")
    parser.add_argument("--plugin", help="only the ops of this plugin")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tmt_core.conformance import select_entries

    # An unknown --plugin is an error that lists the providers (a TmtError: one line, exit 1).
    rows = [
        {"op": e.name, "plugin": e.provider.name, "distribution": e.provider.distribution,
         "version": e.provider.version}
        for e in select_entries(plugin=args.plugin)
    ]
    print_rows(rows, args.format, "op", lambda r: f"{r['plugin']} ({r['distribution']} {r['version']})")
    return 0
