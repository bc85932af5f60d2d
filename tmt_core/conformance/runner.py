"""Running the checks: on one op (``check_op``, ``assert_conforms``) or over the registry
(``run``). Every call, forward or vjp, is guarded: an op that raises fails the check that
called it, with the error in the message, and the other checks go on."""

from __future__ import annotations

import zlib
from dataclasses import replace
from typing import Any, Iterable, Sequence

import numpy as np

from ..op import Op, Sample
from ..registry import get_op
from .calling import Case, ContractError, sample_arrays
from .checks import CHECKS, Check, OpContext, apply_xfail, check_names, check_registration
from .results import CheckResult, Outcome, failed, failures, format_results, summary_line
from .selection import provider_label, select_entries

__all__ = ["check_op", "assert_conforms", "run"]

RngLike = np.random.Generator | int | None
CHECKS_BY_NAME = {check.name: check for check in CHECKS}


def _resolve(op_or_name: Op | str) -> Op:
    return get_op(op_or_name) if isinstance(op_or_name, str) else op_or_name


def _select(checks: Iterable[str] | None) -> list[Check]:
    if checks is None:
        return list(CHECKS)
    wanted = set(checks)
    unknown = wanted - set(check_names())
    if unknown:
        raise ValueError(f"unknown check(s) {sorted(unknown)}; the checks are {', '.join(check_names())}")
    return [c for c in CHECKS if c.name in wanted]


def _seeds(rng: RngLike) -> tuple[np.random.Generator, int]:
    """The generator the samples are drawn with, and the base seed of every check's own
    generator (each check draws from its own, so running one check alone draws the same)."""
    if rng is None:
        return np.random.default_rng(0), 0
    if isinstance(rng, (int, np.integer)):
        return np.random.default_rng(int(rng)), int(rng)
    return rng, int(rng.integers(2**31))


def _rng_for(base: int, op: Op, index: int, check: str) -> np.random.Generator:
    return np.random.default_rng([base, zlib.crc32(op.name.encode()), index, zlib.crc32(check.encode())])


def _guarded(check: Check, *args: Any) -> list[Outcome]:
    try:
        return list(check.run(*args))
    except ContractError as exc:
        return [failed(check.name, str(exc))]
    except Exception as exc:  # the op raised: that fails this check, not the suite
        return [failed(check.name, f"raised {type(exc).__name__}: {exc}")]


class _Recorder:
    """Turns outcomes into results for one op, applying its declared expected failures."""

    def __init__(self, op: Op, samples: Sequence[Sample] = ()):
        self.op = op
        self.labels = {_one_line(s.describe()): (s.describe(), s.name) for s in samples}
        self.results: list[CheckResult] = []

    def add(self, outcomes: list[Outcome], sample: str = "") -> None:
        name = getattr(self.op, "name", repr(self.op))
        xfail = getattr(self.op, "xfail", {}) or {}
        for o in outcomes:
            where = _one_line(o.where or sample)
            result = CheckResult(name, where, o.check, o.status, o.message)
            self.results.append(apply_xfail(result, xfail, self.labels.get(where, (where,))))


def _one_line(text: str) -> str:
    """A sample's description on one line (attributes holding arrays print over several)."""
    return " ".join(text.split())


def _callable_cases(
    op: Op, samples: list[Sample], base: int, recorder: _Recorder, report: bool
) -> list[Case]:
    """Item 2 on every sample; the samples that pass it are the cases the other checks get
    (a forward that raises or a vjp with the wrong slots makes them meaningless)."""
    slots = CHECKS_BY_NAME["vjp_slots"]
    cases = []
    for index, sample in enumerate(samples):
        rng = _rng_for(base, op, index, slots.name)
        case = Case(op, sample, index, sample_arrays(sample), dict(sample.attrs), rng)
        outcomes = _guarded(slots, case)
        if report:
            recorder.add(outcomes, case.label)
        if all(o.status == "pass" for o in outcomes):
            cases.append(case)
    return cases


def check_op(
    op_or_name: Op | str, rng: RngLike = None, checks: Iterable[str] | None = None
) -> list[CheckResult]:
    """Run the conformance checks (all, or the named ones) on one op, registered or not."""
    op = _resolve(op_or_name)
    selected = _select(checks)
    names = {c.name for c in selected}
    samples_rng, base = _seeds(rng)
    provider = provider_label(op) if isinstance(op, Op) else "(not registered)"
    outcomes, samples = check_registration(op, samples_rng, provider)
    recorder = _Recorder(op, samples or ())
    if "registration" in names:
        recorder.add(outcomes)
    if samples is None:
        return recorder.results
    cases = _callable_cases(op, samples, base, recorder, report="vjp_slots" in names)
    for check in selected:
        if check.name in ("registration", "vjp_slots"):
            continue
        reason = check.applies(op)
        if reason:
            recorder.add([Outcome(check.name, "skip", reason)])
        elif check.scope == "sample":
            for case in cases:
                case_rng = _rng_for(base, op, case.index, check.name)
                recorder.add(_guarded(check, replace(case, rng=case_rng)), case.label)
        else:
            context = OpContext(op, samples, cases, _rng_for(base, op, len(samples), check.name))
            recorder.add(_guarded(check, context))
    return recorder.results


def assert_conforms(op_or_name: Op | str, rng: RngLike = None) -> list[CheckResult]:
    """``check_op``, raising AssertionError with a readable report if anything failed (or an
    expected failure passed). Returns the results otherwise: handy in a notebook."""
    results = check_op(op_or_name, rng=rng)
    bad = failures(results)
    if bad:
        op = results[0].op
        report = "\n".join(format_results(bad))
        raise AssertionError(f"op {op!r} does not conform ({summary_line(results)}):\n{report}")
    return results


def run(
    plugin: str | None = None,
    op: str | None = None,
    rng: RngLike = None,
    checks: Iterable[str] | None = None,
) -> list[CheckResult]:
    """Check every registered op (third-party ones included), or those of one ``plugin``
    (entry-point or distribution name) or matching ``op`` (a name or glob pattern)."""
    results = []
    for entry in select_entries(plugin, op):
        results += check_op(entry.value, rng=rng, checks=checks)
    return results
