"""How the listing commands (``tmt ops``, ``tmt data list``, ``tmt optimizers`` ...) print
their rows: JSON for scripts, or one aligned line per row for people."""

from __future__ import annotations

import json
from typing import Any, Callable

__all__ = ["print_rows"]

Row = dict[str, Any]


def print_rows(rows: list[Row], format: str, key: str, rest: Callable[[Row], str]) -> None:
    """``format="json"``: the rows as a JSON list. Otherwise one line each: ``row[key]``
    padded to the longest, two spaces, then ``rest(row)``."""
    if format == "json":
        print(json.dumps(rows, indent=2))
        return
    width = max((len(row[key]) for row in rows), default=len(key))
    for row in rows:
        print(f"{row[key]:<{width}}  {rest(row)}")
