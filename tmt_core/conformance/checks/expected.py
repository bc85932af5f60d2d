"""Checklist item 12: expected failures. An op declares ``xfail={check: reason}``; a check
that fails there is reported ``xfail``, one that passes ``xpass`` (a failure: the xfail is
stale). A key is a check name (``"linearity"``), a part of one (``"broadcasting.scalar"``),
and may name one sample: ``"finite_differences[scalar]"``."""

from __future__ import annotations

import re
from typing import Any

from ..results import CheckResult, Outcome, failed, passed
from .context import OpContext

__all__ = ["parse_key", "reason_for", "apply_xfail", "check_xfail"]

_KEY = re.compile(r"^(?P<check>[\w.]+)(\[(?P<sample>.+)\])?$")


def parse_key(key: str) -> tuple[str, str | None] | None:
    match = _KEY.match(key.strip()) if isinstance(key, str) else None
    return (match["check"], match["sample"]) if match else None


def _covers(name: str, check: str) -> bool:
    return check == name or check.startswith(name + ".")


def reason_for(xfail: dict[str, Any], check: str, sample_labels: tuple[str, ...]) -> str | None:
    """The reason an op gives for expecting ``check`` to fail on the sample known by any of
    ``sample_labels`` (its name, its description); None when it expects it to pass."""
    for key, reason in xfail.items():
        parsed = parse_key(key)
        if parsed is None or not _covers(parsed[0], check):
            continue
        if parsed[1] is None or parsed[1] in sample_labels:
            return str(reason)
    return None


def apply_xfail(result: CheckResult, xfail: dict[str, Any], sample_labels: tuple[str, ...]) -> CheckResult:
    if not xfail or result.check == "xfail" or result.status not in ("pass", "fail"):
        return result
    reason = reason_for(xfail, result.check, sample_labels)
    if reason is None:
        return result
    if result.status == "fail":
        return CheckResult(result.op, result.sample, result.check, "xfail",
                           f"expected failure ({reason}): {result.message}")
    return CheckResult(result.op, result.sample, result.check, "xpass",
                       f"declared xfail ({reason}) but the check passed: remove the xfail entry")


def check_xfail(ctx: OpContext) -> list[Outcome]:
    """Item 12: every declared expected failure names a known check (and sample) and says why."""
    from . import check_names  # the table of checks imports this module

    xfail = ctx.op.xfail
    if not xfail:
        return [passed("xfail", "no expected failure declared")]
    known = check_names(parts=True)
    labels = {s.name for s in ctx.samples} | {s.describe() for s in ctx.samples}
    problems = []
    for key, reason in xfail.items():
        parsed = parse_key(key)
        if parsed is None or not any(_covers(parsed[0], name) or _covers(name, parsed[0]) for name in known):
            problems.append(f"xfail key {key!r} names no check (checks: {', '.join(check_names())})")
        elif parsed[1] is not None and parsed[1] not in labels:
            problems.append(f"xfail key {key!r} names no sample of this op")
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"xfail {key!r} gives no reason: say why the check is expected to fail")
    if problems:
        return [failed("xfail", "; ".join(problems))]
    return [passed("xfail", f"{len(xfail)} expected failure(s) declared with a reason")]
