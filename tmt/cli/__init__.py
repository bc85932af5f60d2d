"""The ``tmt`` command line. Each subcommand lives in its own module of this package and
exposes ``add_parser(subparsers)``, which sets ``func(args) -> int`` as the handler."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

__all__ = ["main", "build_parser"]

# One module per subcommand (or group of related subcommands).
COMMANDS = (
    "tmt.cli.ops",
    "tmt.cli.conformance",
    "tmt.cli.plugins",
    "tmt.cli.catalogs",
    "tmt.cli.train",
    "tmt.cli.data",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tmt", description="tmt: tiny micro torch, an autodiff and neural-network library"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from tmt_core.errors import TmtError

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("tmt: interrupted", file=sys.stderr)
        return 130
    except TmtError as exc:  # e.g. TMT_STRICT_PLUGINS=1 and a plugin failed: one line
        print(f"tmt: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `tmt ops | head`: the reader has gone, so stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit's flush
        return 1


if __name__ == "__main__":
    sys.exit(main())
