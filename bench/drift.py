"""How the outcome half-life trades reaction to a breaking release against steady evidence.

    python -m bench.drift            # the table docs/trust.md quotes
    python -m bench.drift --json

A simulation of report streams through the real scoring and freshness functions
(services/scoring.py, services/freshness.py), no database: the scenarios are written here,
so its figures are claims about the formula, not measurements of agents. For each half-life:

- release: one success a week for a year, then a breaking release after which every weekly
  report fails. Days after the release until the score is below half its value at the
  release, and until it is below 0.2; and when freshness says needs_revalidation.
- steady: a fix that works 9 times in 10, reported once a week, for two years. Its score at
  the end (the cumulative score would be the Wilson bound over all 104 reports): a short
  half-life caps the evidence an experience can hold, so a fix that keeps working scores low.
- quiet: a year of weekly successes, then nobody reports. Its score 180 and 365 days later.

``--cost`` also times the Python part of one rescore (weigh + assess) at 100, 1,000 and
10,000 counted reports: it grows linearly with the agents who reported on the experience.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta

from plurum_backend.services import freshness, scoring

START = datetime(2024, 1, 1, tzinfo=UTC)
HALF_LIVES = (30.0, 60.0, 90.0, 180.0, 365.0, 36500.0)
WEEK = timedelta(days=7)


def _score(reports: list[tuple[bool, datetime]], now: datetime, half_life: float) -> float:
    return scoring.weigh(reports, [], now=now, half_life_days=half_life).score


def release(half_life: float) -> dict[str, float | None]:
    history = [(True, START + i * WEEK) for i in range(52)]
    at_release = START + 52 * WEEK
    before = _score(history, at_release, half_life)
    halved = below = flagged = None
    for week in range(1, 105):
        now = at_release + week * WEEK
        history.append((False, now))
        score = _score(history, now, half_life)
        days = (now - at_release).days
        if halved is None and score < before / 2:
            halved = days
        if below is None and score < 0.2:
            below = days
        if flagged is None:
            # every report is a different agent's (one latest report per agent counts)
            reports = [freshness.Report(ok, when) for ok, when in history]
            verdict = freshness.assess(
                reports, created_at=START, now=now, stale_window=freshness.stale_after(half_life)
            )
            if verdict.status == "needs_revalidation":
                flagged = days
    return {"score_at_release": before, "days_to_half": halved, "days_below_0.2": below,
            "days_to_needs_revalidation": flagged}  # fmt: skip


def steady(half_life: float) -> dict[str, float]:
    history = [(i % 10 != 9, START + i * WEEK) for i in range(104)]
    end = START + 104 * WEEK
    wins = sum(1 for ok, _ in history if ok)
    return {
        "score_after_2_years": _score(history, end, half_life),
        "cumulative": scoring.quality_score(wins, len(history) - wins),
    }


def quiet(half_life: float) -> dict[str, float]:
    history = [(True, START + i * WEEK) for i in range(52)]
    end = START + 52 * WEEK
    return {
        "score_at_end": _score(history, end, half_life),
        "after_180_days": _score(history, end + timedelta(days=180), half_life),
        "after_365_days": _score(history, end + timedelta(days=365), half_life),
    }


def cost(reports: int, rng: random.Random) -> float:
    """Milliseconds to weigh and assess ``reports`` counted reports (what one report or vote
    on an experience with that many reporting agents costs besides its two queries)."""
    now = START + timedelta(days=800)
    stream = [
        freshness.Report(
            rng.random() < 0.8,
            now - timedelta(days=rng.random() * 400),
            {"pydantic": rng.choice(["1.10.2", "2.5.0"]), "fastapi": "0.110.0"},
        )
        for _ in range(reports)
    ]
    window = freshness.stale_after(90.0)
    repeat = max(1, 2000 // reports)
    started = time.perf_counter()
    for _ in range(repeat):
        freshness.assess(stream, created_at=START, now=now, stale_window=window)
        scoring.weigh([(r.success, r.at) for r in stream], [], now=now, half_life_days=90.0)
    return (time.perf_counter() - started) / repeat * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--cost", action="store_true", help="also time a rescore's Python part by report count"
    )
    args = parser.parse_args(argv)
    if args.cost:
        rng = random.Random(15)
        for n in (100, 1000, 10000):
            print(f"rescore with {n} counted reports: {cost(n, rng):.1f} ms (weigh + assess)")
    rows = [{"half_life_days": h, **release(h), **steady(h), **quiet(h)} for h in HALF_LIVES]
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
        return 0
    print("half-life | release: score, days to half, days < 0.2, flagged | "
          "steady: 2 years (cumulative) | quiet: end, +180 d, +365 d")  # fmt: skip
    for r in rows:
        label = "off" if r["half_life_days"] > 10000 else f"{r['half_life_days']:.0f} d"
        print(
            f"{label:>9} | {r['score_at_release']:.2f}, {r['days_to_half']}, "
            f"{r['days_below_0.2']}, {r['days_to_needs_revalidation']} | "
            f"{r['score_after_2_years']:.2f} ({r['cumulative']:.2f}) | "
            f"{r['score_at_end']:.2f}, {r['after_180_days']:.2f}, {r['after_365_days']:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
