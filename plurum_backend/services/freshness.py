"""Whether an experience still works: ``fresh``, ``needs_revalidation`` or ``stale``.

Pure: a verdict is a function of the counted outcome reports (each non-author agent's latest
one, as for the quality score), the experience's creation time and the clock. The rule, in
order (docs/trust.md, "Outcome drift"):

1. ``needs_revalidation`` when the most recent reports fail: at least ``MIN_FAILING`` reports
   after the latest success (or, with no success at all, at least that many failures).
   ``since`` is the first of those failures.
2. ``needs_revalidation`` when the reports split on a package's breaking series: at least
   ``MIN_FAILING`` failures on a major version (a 0.x minor) of a package on which nothing
   succeeded, while successes name other versions of it ("succeeded on pydantic 1.x, fails
   on 2.x"). ``since`` is the first such failure.
3. ``stale`` when nothing confirmed it for ``STALE_HALF_LIVES`` half-lives (360 days by
   default): no success reported, or, without any, the experience was recorded that long
   ago. ``since`` is the day the window ran out.
4. Otherwise ``fresh``; ``since`` is the latest success, null when none was reported.

Under 1, the reason names a package split among the failing reports when there is one.
Only time moves a verdict without new reports, and only from fresh to stale: a stored
verdict carries ``stale_at`` and ``as_of`` applies it at read time.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from plurum_backend.services.environment import normalize_package, series

Status = Literal["fresh", "needs_revalidation", "stale"]
STATUSES: tuple[Status, ...] = ("fresh", "needs_revalidation", "stale")
# One failure after successes is often the reporter's own setup; two agents in a row is a
# pattern (each agent's latest report counts once, so these are two different agents).
MIN_FAILING = 2
STALE_HALF_LIVES = 4  # a success this old weighs 1/16 of a fresh one in the score


@dataclass(frozen=True)
class Report:
    success: bool
    at: datetime
    packages: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    status: Status
    since: datetime | None
    reason: str
    # When a fresh verdict turns stale if no new success arrives (None: never by time alone).
    stale_at: datetime | None = None
    confirmed_at: datetime | None = None  # the latest success, else the creation
    confirmed_by_report: bool = False

    def public(self) -> dict[str, Any]:
        return {"status": self.status, "since": self.since, "reason": self.reason}

    def as_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "status": self.status,
            "since": iso(self.since),
            "reason": self.reason,
            "stale_at": iso(self.stale_at),
            "confirmed_at": iso(self.confirmed_at),
            "confirmed_by_report": self.confirmed_by_report,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict | None:
        """What ``as_json`` stored, or None when it is not that shape."""

        def when(key: str) -> datetime | None:
            value = data.get(key)
            return None if value is None else datetime.fromisoformat(str(value))

        try:
            status = data["status"]
            if status not in STATUSES:
                return None
            return cls(
                status=status,
                since=when("since"),
                reason=str(data["reason"]),
                stale_at=when("stale_at"),
                confirmed_at=when("confirmed_at"),
                confirmed_by_report=bool(data.get("confirmed_by_report", False)),
            )
        except (KeyError, TypeError, ValueError):
            return None


def stale_after(half_life_days: float) -> timedelta:
    return timedelta(days=STALE_HALF_LIVES * half_life_days)


def _day(when: datetime) -> str:
    return when.date().isoformat()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}es" if word.endswith("s") else f"{n} {word}s"


def _labels(found: set[tuple[int, ...]]) -> str:
    labels = [".".join(map(str, s)) + ".x" for s in sorted(found)]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


@dataclass(frozen=True)
class Split:
    """A package whose breaking series separates where it worked from where it failed."""

    package: str
    worked: frozenset[tuple[int, ...]]
    failed: frozenset[tuple[int, ...]]
    failures: list[Report]  # the failing reports on ``failed``, oldest first

    def describe(self) -> str:
        return (
            f"succeeded on {self.package} {_labels(set(self.worked))}, "
            f"fails on {_labels(set(self.failed))}"
        )


@functools.lru_cache(maxsize=4096)  # the same few packages and versions recur in every report
def _breaking(name: str, version: str) -> tuple[str, tuple[int, ...]]:
    return normalize_package(name), series(version)


def _series_of(report: Report) -> dict[str, tuple[int, ...]]:
    found: dict[str, tuple[int, ...]] = {}
    for name, version in report.packages.items():
        if isinstance(version, str):
            key, breaking = _breaking(name, version)
            if breaking:
                found[key] = breaking
    return found


def find_split(
    successes: Sequence[Report], failures: Sequence[Report], *, least: int, strict: bool
) -> Split | None:
    """The package whose series no success ran on yet at least ``least`` failures did.

    ``strict``: every failure naming the package is on such a series (the failing run must be
    explained whole). Among several, the one covering most failures, then most reports.
    """
    worked: dict[str, set[tuple[int, ...]]] = {}
    named_by_successes: dict[str, int] = {}
    for report in successes:
        for name, s in _series_of(report).items():
            worked.setdefault(name, set()).add(s)
            named_by_successes[name] = named_by_successes.get(name, 0) + 1
    failing = [(r, _series_of(r)) for r in failures]
    best: tuple[tuple[int, int, str], Split] | None = None
    for name in sorted({n for _, found in failing for n in found}):
        ok = worked.get(name)
        if not ok:
            continue
        named = [(r, found[name]) for r, found in failing if name in found]
        new = [(r, s) for r, s in named if s not in ok]
        if len(new) < least or (strict and len(new) != len(named)):
            continue
        covered = named_by_successes[name] + len(named)
        key = (-len(new), -covered, name)
        split = Split(name, frozenset(ok), frozenset(s for _, s in new), [r for r, _ in new])
        if best is None or key < best[0]:
            best = (key, split)
    return None if best is None else best[1]


def assess(
    reports: Sequence[Report],
    *,
    created_at: datetime,
    now: datetime,
    stale_window: timedelta,
    author_packages: Mapping[str, str] | None = None,
) -> Verdict:
    """The verdict at ``now`` on ``reports`` (in any order).

    ``author_packages``: where the author's own session succeeded; it counts as a success in
    the environment split only (never in the counts, like the author's reports).
    """
    ordered = sorted(reports, key=lambda r: r.at)
    successes = [r for r in ordered if r.success]
    worked = successes + ([Report(True, created_at, author_packages)] if author_packages else [])
    last_success = successes[-1] if successes else None
    run = [r for r in ordered if not r.success and (last_success is None or r.at > last_success.at)]
    if len(run) >= MIN_FAILING:
        split = find_split(worked, run, least=1, strict=True)
        if not successes:
            reason = f"{len(run)} agents reported failure and none reported success"
        else:
            reason = (
                f"the last {len(run)} reports failed after {_plural(len(successes), 'success')}, "
                f"the latest success on {_day(successes[-1].at)}"
            )
        if split is not None:
            reason = f"{split.describe()} ({reason})"
        return Verdict("needs_revalidation", run[0].at, reason)
    failures = [r for r in ordered if not r.success]
    split = find_split(worked, failures, least=MIN_FAILING, strict=False)
    if split is not None:
        reason = (
            f"{split.describe()} ({_plural(len(split.failures), 'failed report')} on "
            f"{_labels(set(split.failed))}, no success there)"
        )
        return Verdict("needs_revalidation", split.failures[0].at, reason)
    confirmed_at = last_success.at if last_success else created_at
    fresh = Verdict(
        "fresh",
        confirmed_at if last_success else None,
        _fresh_reason(last_success, run, created_at),
        stale_at=confirmed_at + stale_window,
        confirmed_at=confirmed_at,
        confirmed_by_report=last_success is not None,
    )
    return as_of(fresh, now)


def _fresh_reason(last_success: Report | None, run: Sequence[Report], created_at: datetime) -> str:
    if last_success is not None:
        reason = f"last reported working on {_day(last_success.at)}"
        return reason + (f"; {_plural(len(run), 'later report')} failed" if run else "")
    if run:
        return f"recorded on {_day(created_at)}; one agent reported failure, none success yet"
    return f"recorded on {_day(created_at)}; no outcome reported yet"


def as_of(verdict: Verdict, now: datetime) -> Verdict:
    """The verdict seen at ``now``: a fresh one whose window ran out is stale."""
    if verdict.status != "fresh" or verdict.stale_at is None or now < verdict.stale_at:
        return verdict
    confirmed = verdict.confirmed_at or verdict.stale_at
    if verdict.confirmed_by_report:
        reason = f"no agent has reported success since {_day(confirmed)}"
    else:
        reason = f"recorded on {_day(confirmed)} and no agent has reported success since"
    return replace(verdict, status="stale", since=verdict.stale_at, reason=reason)


def warning(status: str, reason: str) -> str | None:
    """The line acquire's text forms and the MCP tools show, or None when fresh."""
    if status == "needs_revalidation":
        return f"⚠ needs revalidation: {reason}"
    if status == "stale":
        return f"⚠ stale: {reason}"
    return None
