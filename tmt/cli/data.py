"""``tmt data list`` (each registered dataset and where it was found) and ``tmt data fetch
NAME`` (find or download a dataset, verify it, print where it is)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .rows import print_rows


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("data", help="list datasets and where they are; fetch one")
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    listing = actions.add_parser("list", help="every registered dataset and where it was found")
    listing.add_argument("--data-dir", help="a data folder to look in first (like TMT_DATA_DIR)")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(func=run_list)

    fetch = actions.add_parser(
        "fetch", help="find or download a dataset, check it, and print where it is",
        description="Look for NAME in the usual places (data folder, cache, Debian package, "
        "Keras cache) and download it from the mirrors, SHA-256-checked, when none has it.",
    )
    fetch.add_argument("name", metavar="NAME", help="a registered dataset (see `tmt data list`)")
    fetch.add_argument(
        "--data-dir", metavar="DIR",
        help="look in DIR (or DIR/NAME) first and download into DIR/NAME instead of the "
        "cache; copy DIR to another machine and set TMT_DATA_DIR=DIR there",
    )
    fetch.add_argument("--mirror", action="append", metavar="URL",
                       help="a base URL to download from, instead of the published mirrors "
                       "(repeat for several, tried in order)")
    fetch.add_argument("--timeout", type=float, default=30.0,
                       help="seconds without data before a mirror is given up (default 30)")
    fetch.set_defaults(func=run_fetch)


def _where(dataset: Any, data_dir: str | None) -> str:
    locate = getattr(dataset, "locate", None)
    if locate is None:
        return "location unknown (this dataset's loader finds its own data)"
    origin = locate(data_dir=data_dir)
    if origin is None:
        return f"not found (`tmt data fetch {dataset.name}` downloads it)"
    return str(origin)


def run_list(args: argparse.Namespace) -> int:
    from tmt_data import DATASETS

    rows = [
        {"dataset": entry.name, "where": _where(entry.value, args.data_dir),
         "plugin": entry.provider.name, "distribution": entry.provider.distribution}
        for entry in DATASETS.entries()
    ]
    print_rows(rows, args.format, "dataset", lambda row: row["where"])
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from tmt_core.errors import NotFoundError
    from tmt_data import DATASETS, DataNotFoundError

    try:
        dataset = DATASETS.get(args.name)
    except NotFoundError as exc:
        print(f"tmt data fetch: {exc}", file=sys.stderr)
        return 2
    fetch = getattr(dataset, "fetch", None)
    try:
        if fetch is None:  # a plugin's plain loader: loading it is the only way to fetch it
            dataset()
            print(f"{args.name}: loaded (its loader does not say where from)")
            return 0
        # A --data-dir that does not exist yet is only where the download goes.
        look_in = args.data_dir if args.data_dir and os.path.isdir(args.data_dir) else None
        origin = fetch(data_dir=look_in, cache_dir=args.data_dir, mirrors=args.mirror,
                       timeout=args.timeout)
    except DataNotFoundError as exc:
        print(f"tmt data fetch: {exc}", file=sys.stderr)
        return 1
    print(f"{args.name}: {origin}")
    return 0
