"""What a conformance check reports, and how a list of reports reads as text.

A :class:`CheckResult` names the op, the sample, the check and its status; its message says
what was expected and what came. ``fail`` and ``xpass`` (a declared expected failure that
passed) are failures; ``pass``, ``xfail`` and ``skip`` are not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

__all__ = [
    "CheckResult",
    "Outcome",
    "STATUSES",
    "FAILING",
    "passed",
    "failed",
    "skipped",
    "failures",
    "summary_line",
    "format_results",
]

STATUSES = ("pass", "fail", "xfail", "xpass", "skip")
FAILING = frozenset({"fail", "xpass"})
OP_LEVEL = "(op)"  # how text output names a result that concerns the op, not one sample
LABEL_WIDTH = 100  # a sample label longer than this (arrays in its attributes) is cut


@dataclass(frozen=True)
class Outcome:
    """What a check function yields; the runner adds the op and the sample."""

    check: str
    status: str
    message: str = ""
    where: str = ""  # for a check of the whole op: the sample or convention it concerns


def passed(check: str, message: str = "", where: str = "") -> Outcome:
    return Outcome(check, "pass", message, where)


def failed(check: str, message: str, where: str = "") -> Outcome:
    return Outcome(check, "fail", message, where)


def skipped(check: str, message: str, where: str = "") -> Outcome:
    return Outcome(check, "skip", message, where)


@dataclass(frozen=True)
class CheckResult:
    """One check of one op on one sample (``sample`` is empty for checks of the whole op)."""

    op: str
    sample: str
    check: str
    status: str
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status not in FAILING

    def __str__(self) -> str:
        where = self.sample or OP_LEVEL
        text = f"{self.status.upper():<5} {self.op} [{where}] {self.check}"
        return f"{text}: {self.message}" if self.message else text


def failures(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.ok]


def summary_line(results: list[CheckResult], seconds: float | None = None) -> str:
    """``N passed, N failed`` (then xfailed / xpassed / skipped when there are any)."""
    counts = Counter(r.status for r in results)
    parts = [f"{counts['pass']} passed", f"{counts['fail']} failed"]
    parts += [f"{counts[s]} {s}ed" for s in ("xfail", "xpass") if counts[s]]
    if counts["skip"]:
        parts.append(f"{counts['skip']} skipped")
    ops = len({r.op for r in results})
    tail = f" ({ops} op{'s' if ops != 1 else ''}"
    tail += f" in {seconds:.2f}s)" if seconds is not None else ")"
    return ", ".join(parts) + tail


def _line_status(group: list[CheckResult]) -> str:
    statuses = {r.status for r in group}
    for status in ("fail", "xpass", "pass", "xfail"):
        if status in statuses:
            return status
    return "skip"


def format_results(results: list[CheckResult], verbose: bool = False, width: int | None = None) -> list[str]:
    """One line per op and sample with its overall status; under it, every check that did
    not pass (every check with ``verbose``) with its message. ``width``: of the op column."""
    groups: dict[tuple[str, str], list[CheckResult]] = {}
    for r in results:
        groups.setdefault((r.op, r.sample), []).append(r)
    width = width or max((len(op) for op, _ in groups), default=0)
    lines = []
    for (op, sample), group in groups.items():
        status = _line_status(group)
        notes = Counter(r.status for r in group if r.status in ("xfail", "skip"))
        note = ", ".join(f"{n} {s}{'ed' if s == 'xfail' else 'ped'}" for s, n in notes.items())
        label = sample or OP_LEVEL
        if len(label) > LABEL_WIDTH:
            label = label[: LABEL_WIDTH - 3] + "..."
        lines.append(f"{status.upper():<5}  {op:<{width}}  {label}" + (f"  ({note})" if note else ""))
        for r in group:
            if verbose or r.status in FAILING:
                detail = f": {r.message}" if r.message else ""
                lines.append(f"       {r.status:<5} {r.check}{detail}")
    return lines
