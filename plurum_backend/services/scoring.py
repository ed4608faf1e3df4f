"""The quality score of an experience, in [0, 1], with evidence weighted by its age.

Evidence is the agents' outcome reports (each agent's latest report counts once; the author's
own reports never count) plus votes, each vote worth half a report. Every piece of evidence
weighs ``2 ** (-age / half_life)``: a report as old as the half-life (PLURUM_OUTCOME_HALF_LIFE
_DAYS, 90 days by default; docs/trust.md says why) counts half, one four half-lives old a
sixteenth. Votes age like reports, from the time they were cast (or last changed):

    successes' = Σ w(success) + 0.5 * Σ w(upvote)
    trials'    = Σ w(success) + Σ w(failure) + 0.5 * (Σ w(upvote) + Σ w(downvote))
    quality    = Wilson lower bound of successes' / trials' at 95% (z = 1.96); 0 without evidence

The Wilson bound is the lowest success rate still plausible given the evidence, so it grows
with the amount of evidence: one lucky success scores 0.21, while 40 successes out of 50
score 0.67 and 5 out of 5 score 0.57. Ageing shrinks the amount of evidence, never the rate:
20 successes a year old weigh about 1.2 fresh ones, so 5 fresh failures outvote them.

Since every weight decays by the same factor, the weighted sums computed at one instant give
the sums at any later instant by one multiplication (``Evidence.at``): a stored score is
recomputed exactly at read time without reading the reports again. Without new evidence the
score only falls, so a score stored earlier is an upper bound of the current one; the stored
column serves as a pre-filter and a daily sweep keeps it close (``services/rescore.py``).
Hand-worked cases are in tests/test_scoring.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Z = 1.96
VOTE_WEIGHT = 0.5
DEFAULT_HALF_LIFE_DAYS = 90.0
SECONDS_PER_DAY = 86_400.0


def wilson_lower_bound(successes: float, trials: float, z: float = Z) -> float:
    if trials <= 0:
        return 0.0
    p = min(1.0, max(0.0, successes / trials))
    z2 = z * z
    centre = p + z2 / (2 * trials)
    margin = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - margin) / (1 + z2 / trials))


def quality_score(
    successes: float, failures: float, upvotes: float = 0, downvotes: float = 0
) -> float:
    """The score of (possibly age-weighted) counts."""
    weighted_successes = successes + VOTE_WEIGHT * upvotes
    trials = successes + failures + VOTE_WEIGHT * (upvotes + downvotes)
    return round(wilson_lower_bound(weighted_successes, trials), 4)


def success_rate(successes: int, failures: int) -> float | None:
    total = successes + failures
    return None if total == 0 else round(successes / total, 4)


def age_weight(then: datetime, now: datetime, half_life_days: float) -> float:
    """``2 ** (-age / half_life)``; evidence dated in the future (clock skew) weighs 1."""
    age_days = max(0.0, (now - then).total_seconds() / SECONDS_PER_DAY)
    return float(2.0 ** (-age_days / half_life_days))


@dataclass(frozen=True)
class Evidence:
    """Age-weighted sums of reports and votes, as of ``as_of``, with the half-life used."""

    successes: float
    failures: float
    up: float
    down: float
    as_of: datetime
    half_life_days: float

    def at(self, now: datetime) -> Evidence:
        """The same evidence seen later: every weight times the same decay factor."""
        factor = age_weight(self.as_of, now, self.half_life_days)
        return Evidence(
            self.successes * factor,
            self.failures * factor,
            self.up * factor,
            self.down * factor,
            max(now, self.as_of),
            self.half_life_days,
        )

    @property
    def score(self) -> float:
        return quality_score(self.successes, self.failures, self.up, self.down)

    def as_json(self) -> dict[str, float | str]:
        return {
            "successes": self.successes,
            "failures": self.failures,
            "up": self.up,
            "down": self.down,
            "as_of": self.as_of.isoformat(),
            "half_life_days": self.half_life_days,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence | None:
        """What ``as_json`` stored, or None when it is not that shape."""
        try:
            return cls(
                float(data["successes"]),
                float(data["failures"]),
                float(data["up"]),
                float(data["down"]),
                datetime.fromisoformat(str(data["as_of"])),
                float(data["half_life_days"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def weigh(
    reports: Iterable[tuple[bool, datetime]],
    votes: Iterable[tuple[bool, datetime]],
    *,
    now: datetime,
    half_life_days: float,
) -> Evidence:
    """Sum the weights of ``(success, when)`` reports and ``(is_up, when)`` votes at ``now``."""
    sums = [0.0, 0.0, 0.0, 0.0]
    for success, when in reports:
        sums[0 if success else 1] += age_weight(when, now, half_life_days)
    for up, when in votes:
        sums[2 if up else 3] += age_weight(when, now, half_life_days)
    return Evidence(sums[0], sums[1], sums[2], sums[3], as_of=now, half_life_days=half_life_days)


def pool(evidence: Iterable[Evidence], now: datetime) -> Evidence | None:
    """Several experiences' evidence as one (e.g. a cluster of duplicates): each decayed to
    ``now``, then summed; None when there is none. Half-lives should agree; the first one's
    is kept."""
    decayed = [e.at(now) for e in evidence]
    if not decayed:
        return None
    return Evidence(
        sum(e.successes for e in decayed),
        sum(e.failures for e in decayed),
        sum(e.up for e in decayed),
        sum(e.down for e in decayed),
        max(now, *(e.as_of for e in decayed)),
        decayed[0].half_life_days,
    )
