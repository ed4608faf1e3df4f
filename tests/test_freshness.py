"""The freshness rule (services/freshness.py) on outcome sequences, at a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from plurum_backend.services.freshness import (
    Report,
    Verdict,
    as_of,
    assess,
    find_split,
    stale_after,
    warning,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
CREATED = NOW - timedelta(days=500)
WINDOW = stale_after(90.0)  # 360 days


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def ok(days: float, **packages: str) -> Report:
    return Report(True, ago(days), packages)


def fail(days: float, **packages: str) -> Report:
    return Report(False, ago(days), packages)


def verdict(*reports: Report, created: datetime = CREATED) -> Verdict:
    return assess(list(reports), created_at=created, now=NOW, stale_window=WINDOW)


def test_all_successes_are_fresh_since_the_latest() -> None:
    v = verdict(ok(300), ok(120), ok(8), ok(40))
    assert (v.status, v.since) == ("fresh", ago(8))
    assert v.reason == f"last reported working on {ago(8).date()}"
    assert warning(v.status, v.reason) is None


def test_old_successes_then_recent_failures_need_revalidation() -> None:
    v = verdict(ok(200), ok(180), ok(150), fail(6), fail(2))
    assert v.status == "needs_revalidation"
    assert v.since == ago(6)  # the first failure of the run
    assert v.reason == (
        f"the last 2 reports failed after 3 successes, the latest success on {ago(150).date()}"
    )
    assert warning(v.status, v.reason) == f"⚠ needs revalidation: {v.reason}"


def test_one_failure_after_successes_is_not_enough() -> None:
    v = verdict(ok(30), ok(20), fail(1))
    assert v.status == "fresh" and v.since == ago(20)
    assert v.reason.endswith("; 1 later report failed")


def test_a_success_after_failures_revalidates() -> None:
    assert verdict(ok(100), fail(50), fail(40), ok(3)).status == "fresh"


def test_failures_without_any_success() -> None:
    v = verdict(fail(10), fail(4))
    assert v.status == "needs_revalidation" and v.since == ago(10)
    assert v.reason == "2 agents reported failure and none reported success"
    lone = verdict(fail(4), created=ago(30))
    assert lone.status == "fresh" and lone.since is None
    assert (
        lone.reason == f"recorded on {ago(30).date()}; one agent reported failure, none success yet"
    )


def test_the_reason_names_the_package_whose_major_version_splits() -> None:
    v = verdict(
        ok(200, pydantic="1.10.2", fastapi="0.95.0"),
        ok(150, pydantic="1.9.0", fastapi="0.99.1"),
        fail(9, pydantic="2.5.3", fastapi="0.99.1"),
        fail(3, **{"Pydantic": "2.6.0"}),  # names are compared normalised
    )
    assert v.status == "needs_revalidation"
    assert v.reason.startswith("succeeded on pydantic 1.x, fails on 2.x (the last 2 reports")


def test_zero_major_versions_split_on_the_minor() -> None:
    v = verdict(ok(90, fastapi="0.99.1"), ok(80, fastapi="0.99.0"), fail(5, fastapi="0.100.0"),
                fail(2, fastapi="0.100.1"))  # fmt: skip
    assert v.reason.startswith("succeeded on fastapi 0.99.x, fails on 0.100.x")


def test_no_split_named_when_a_failure_ran_on_a_working_version() -> None:
    v = verdict(ok(100, pydantic="1.10.0"), fail(5, pydantic="2.1.0"), fail(2, pydantic="1.10.0"))
    assert v.status == "needs_revalidation" and not v.reason.startswith("succeeded on")


def test_a_split_needs_revalidation_even_while_the_old_version_keeps_working() -> None:
    """Interleaved: agents on 1.x keep succeeding, agents on 2.x keep failing."""
    v = verdict(
        ok(60, pydantic="1.10.2"),
        fail(50, pydantic="2.5.0"),
        ok(40, pydantic="1.10.4"),
        fail(30, pydantic="2.6.1"),
        ok(20, pydantic="1.10.5"),
    )
    assert (v.status, v.since) == ("needs_revalidation", ago(50))
    assert (
        v.reason
        == "succeeded on pydantic 1.x, fails on 2.x (2 failed reports on 2.x, no success there)"
    )
    # one failure on the new version is not yet a pattern
    assert verdict(ok(60, pydantic="1.10.2"), fail(50, pydantic="2.5.0"), ok(40)).status == "fresh"


def test_the_split_covering_most_failures_wins() -> None:
    split = find_split(
        [ok(90, numpy="1.26.0", scipy="1.11.0")],
        [fail(5, numpy="2.0.0", scipy="1.11.0"), fail(2, numpy="2.1.0")],
        least=1,
        strict=True,
    )
    assert split is not None and split.package == "numpy"
    assert split.describe() == "succeeded on numpy 1.x, fails on 2.x"
    assert find_split([ok(9)], [fail(5, numpy="2.0.0")], least=1, strict=True) is None


def test_nothing_confirmed_for_the_window_is_stale() -> None:
    v = verdict(ok(700), ok(400))
    assert v.status == "stale"
    assert v.since == ago(400) + WINDOW
    assert v.reason == f"no agent has reported success since {ago(400).date()}"
    assert warning(v.status, v.reason) == f"⚠ stale: {v.reason}"
    # a failure alone does not refresh it
    assert verdict(ok(400), fail(5)).status == "stale"


def test_no_reports_age_from_the_creation() -> None:
    old = verdict(created=ago(361))
    assert old.status == "stale" and old.since == ago(1)
    assert old.reason == f"recorded on {ago(361).date()} and no agent has reported success since"
    new = verdict(created=ago(10))
    assert (new.status, new.since) == ("fresh", None)
    assert new.reason == f"recorded on {ago(10).date()}; no outcome reported yet"


def test_a_stored_fresh_verdict_turns_stale_when_its_window_runs_out() -> None:
    stored = verdict(ok(300))
    assert stored.status == "fresh" and stored.stale_at == ago(300) + WINDOW
    again = Verdict.from_json(stored.as_json())
    assert again == stored
    assert as_of(stored, NOW + timedelta(days=59)).status == "fresh"
    later = as_of(stored, NOW + timedelta(days=60))
    assert later.status == "stale" and later.since == stored.stale_at
    # only fresh verdicts move with time
    failing = verdict(ok(300), fail(2), fail(1))
    assert as_of(failing, NOW + timedelta(days=900)) == failing
    assert Verdict.from_json({"status": "rotten", "reason": "x"}) is None


def test_the_authors_environment_counts_for_the_split_only() -> None:
    reports = [fail(9, pydantic="2.5.3"), fail(3, pydantic="2.6.0")]
    v = assess(reports, created_at=CREATED, now=NOW, stale_window=WINDOW,
               author_packages={"pydantic": "1.10.2"})  # fmt: skip
    assert v.status == "needs_revalidation"
    assert v.reason == (
        "succeeded on pydantic 1.x, fails on 2.x (2 agents reported failure and none reported "
        "success)"
    )
