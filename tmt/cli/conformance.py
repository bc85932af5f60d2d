"""``tmt conformance``: run the op conformance suite over the registry (every installed
plugin included), one plugin, or some ops. Exits 1 on any failure or unexpected pass."""

from __future__ import annotations

import argparse
import sys
import time


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "conformance",
        help="check registered ops against the conformance suite (gradients, dtypes, aliasing...)",
        description="Hold every registered op to the op contract: the conformance checklist "
        "(docs/op-plugins.md) on each op's declared samples.",
    )
    parser.add_argument("--plugin", help="only the ops of this plugin (entry-point or distribution name)")
    parser.add_argument("--op", help="only this op (a name or a glob pattern such as 'extra.*')")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every check, not only failures")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples and random cotangents")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tmt_core import conformance
    from tmt_core.errors import NotFoundError

    try:
        entries = conformance.select_entries(plugin=args.plugin, op=args.op)
    except NotFoundError as exc:
        print(f"tmt conformance: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results = []
    width = max(len(entry.name) for entry in entries)
    for entry in entries:  # print op by op, so a long run shows progress
        found = conformance.check_op(entry.value, rng=args.seed)
        results += found
        for line in conformance.format_results(found, verbose=args.verbose, width=width):
            print(line, flush=True)
    print(conformance.summary_line(results, time.perf_counter() - started))
    return 1 if conformance.failures(results) else 0
