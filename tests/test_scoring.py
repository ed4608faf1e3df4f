"""Hand-worked cases of the quality formula (see plurum_backend/services/scoring.py)."""

from __future__ import annotations

import math

from plurum_backend.services.scoring import quality_score, success_rate, wilson_lower_bound


def test_no_evidence_scores_zero() -> None:
    assert quality_score(0, 0) == 0.0
    assert success_rate(0, 0) is None


def test_one_success_by_hand() -> None:
    # p = 1, n = 1, z = 1.96: (1 + z²/2 - z·sqrt(z²/4)) / (1 + z²) = 1 / (1 + z²)
    assert math.isclose(wilson_lower_bound(1, 1), 1 / (1 + 1.96**2), rel_tol=1e-9)
    assert quality_score(1, 0) == 0.2065


def test_forty_of_fifty_by_hand() -> None:
    n, p, z = 50, 0.8, 1.96
    expected = (p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (
        1 + z * z / n
    )
    assert math.isclose(quality_score(40, 10), round(expected, 4))
    assert quality_score(40, 10) == 0.6696


def test_one_success_does_not_outrank_forty_of_fifty() -> None:
    assert quality_score(1, 0) < quality_score(40, 10)
    assert quality_score(5, 0) < quality_score(40, 10)
    assert quality_score(3, 0) < quality_score(5, 0)


def test_failures_and_votes_move_the_score() -> None:
    assert quality_score(10, 10) < quality_score(10, 0)
    assert quality_score(10, 0, upvotes=4) > quality_score(10, 0)
    assert quality_score(10, 0, downvotes=4) < quality_score(10, 0)
    # votes are weaker evidence than outcomes: 4 upvotes < 2 successes
    assert quality_score(0, 0, upvotes=4) == quality_score(2, 0)
    assert 0.0 <= quality_score(0, 100, downvotes=100) <= quality_score(100, 0, upvotes=100) <= 1.0
