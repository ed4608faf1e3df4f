"""Hand-worked cases of the quality formula (see plurum_backend/services/scoring.py)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from plurum_backend.services.scoring import (
    Evidence,
    age_weight,
    pool,
    quality_score,
    success_rate,
    weigh,
    wilson_lower_bound,
)


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


# -- ageing (outcome drift) -------------------------------------------------------------------

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
H = 90.0


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_a_report_one_half_life_old_counts_half() -> None:
    assert age_weight(ago(0), NOW, H) == 1.0
    assert math.isclose(age_weight(ago(90), NOW, H), 0.5)
    assert math.isclose(age_weight(ago(360), NOW, H), 1 / 16)
    assert age_weight(NOW + timedelta(days=3), NOW, H) == 1.0  # a clock ahead of ours


def test_fresh_evidence_scores_as_before() -> None:
    # reports seconds old weigh ~1: the hand-worked scores above still hold
    evidence = weigh([(True, ago(0.0001))], [], now=NOW, half_life_days=H)
    assert evidence.score == quality_score(1, 0) == 0.2065


def test_recent_failures_outweigh_old_successes() -> None:
    """The issue's case: 20 successes a year old against 5 failures this week."""
    reports = [(True, ago(365))] * 20 + [(False, ago(3))] * 5
    weighted = weigh(reports, [], now=NOW, half_life_days=H)
    assert math.isclose(weighted.successes, 20 * 2 ** (-365 / 90))  # about 1.2 fresh ones
    assert weighted.score < 0.1 < quality_score(20, 5)
    # the same 20 successes this month still hold against 5 failures
    recent = weigh([(True, ago(20))] * 20 + [(False, ago(3))] * 5, [], now=NOW, half_life_days=H)
    assert recent.score > 0.5


def test_votes_age_like_reports_and_count_half() -> None:
    old_up = weigh([], [(True, ago(90))], now=NOW, half_life_days=H)
    assert math.isclose(old_up.up, 0.5) and old_up.down == 0
    assert math.isclose(old_up.score, quality_score(0, 0, upvotes=0.5))
    # 4 fresh upvotes = 2 fresh successes (the vote rule is unchanged)
    assert weigh([], [(True, NOW)] * 4, now=NOW, half_life_days=H).score == quality_score(2, 0)


def test_stored_sums_decay_exactly_to_any_later_instant() -> None:
    reports = [(True, ago(10)), (True, ago(50)), (False, ago(5)), (True, ago(200))]
    votes = [(True, ago(30)), (False, ago(1))]
    stored = weigh(reports, votes, now=ago(0), half_life_days=H)
    later = NOW + timedelta(days=45)
    direct = weigh(reports, votes, now=later, half_life_days=H)
    decayed = stored.at(later)
    for field in ("successes", "failures", "up", "down"):
        assert math.isclose(getattr(decayed, field), getattr(direct, field), rel_tol=1e-9)
    assert decayed.score == direct.score
    assert Evidence.from_json(stored.as_json()) == stored
    assert Evidence.from_json({"successes": 1}) is None


def test_without_new_evidence_a_score_only_falls() -> None:
    stored = weigh(
        [(True, NOW)] * 12 + [(False, NOW)] * 2, [(True, NOW)], now=NOW, half_life_days=H
    )
    scores = [stored.at(NOW + timedelta(days=d)).score for d in range(0, 800, 10)]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0.6 and scores[-1] < 0.05


def test_pooled_evidence_is_the_sum_at_one_instant() -> None:
    a = weigh([(True, ago(10))] * 3, [], now=ago(5), half_life_days=H)
    b = weigh([(False, ago(1)), (True, ago(100))], [(True, ago(2))], now=ago(1), half_life_days=H)
    pooled = pool([a, b], NOW)
    assert pooled is not None
    both = weigh(
        [(True, ago(10))] * 3 + [(False, ago(1)), (True, ago(100))],
        [(True, ago(2))],
        now=NOW,
        half_life_days=H,
    )
    assert math.isclose(pooled.successes, both.successes) and pooled.score == both.score
    assert pool([], NOW) is None
