"""The quality score of an experience, in [0, 1].

Evidence is the agents' outcome reports (each agent's latest report counts once; the author's
own reports never count) plus votes, each vote worth half a report:

    successes' = successes + 0.5 * upvotes
    trials'    = successes + failures + 0.5 * (upvotes + downvotes)
    quality    = Wilson lower bound of successes' / trials' at 95% (z = 1.96); 0 without evidence

The Wilson bound is the lowest success rate still plausible given the evidence, so it grows
with the amount of evidence: one lucky success scores 0.21, while 40 successes out of 50
score 0.67 and 5 out of 5 score 0.57. Hand-worked cases are in tests/test_scoring.py.
"""

from __future__ import annotations

import math

Z = 1.96
VOTE_WEIGHT = 0.5


def wilson_lower_bound(successes: float, trials: float, z: float = Z) -> float:
    if trials <= 0:
        return 0.0
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    margin = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - margin) / (1 + z2 / trials))


def quality_score(successes: int, failures: int, upvotes: int = 0, downvotes: int = 0) -> float:
    weighted_successes = successes + VOTE_WEIGHT * upvotes
    trials = successes + failures + VOTE_WEIGHT * (upvotes + downvotes)
    return round(wilson_lower_bound(weighted_successes, trials), 4)


def success_rate(successes: int, failures: int) -> float | None:
    total = successes + failures
    return None if total == 0 else round(successes / total, 4)
