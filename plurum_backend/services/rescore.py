"""Keep each experience's age-weighted score and freshness verdict current.

An experience is rescored when a report or vote arrives (``rescore``, in that write's
transaction) and by a sweep (``sweep_forever``) that every backend runs at start and then
hourly: it rescores the experiences with evidence whose stored score is more than a day old,
was never weighted, or used another half-life. Responses never depend on the sweep: they
decay the stored weighted sums to the instant of reading (``current_score``) and apply the
freshness window (``current_freshness``). What the sweep keeps close is the stored
``quality_score`` column, which the ``min_quality_score`` filters of both retrievals and the
best-quality orderings read; without new evidence a score only falls, so the stored one is an
upper bound and search re-checks the current score before answering (docs/trust.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend.errors import PlurumError
from plurum_backend.services import freshness, scoring
from plurum_backend.services.freshness import Report, Verdict
from plurum_backend.store import experiences as store
from plurum_backend.store import faults
from plurum_backend.store.models import Experience

if TYPE_CHECKING:
    from plurum_backend.runtime import Plurum

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 3600.0
RESCORE_AFTER = timedelta(days=1)  # a day's decay moves a score by at most ~0.01 (90-day half-life)
SWEEP_BATCH = 200


# The instance's half-life, for the verdict of experiences never assessed (no report or vote
# yet), which responses compute from the creation time alone; set once by Plurum at start.
_half_life_days = scoring.DEFAULT_HALF_LIFE_DAYS


def configure(half_life_days: float) -> None:
    global _half_life_days
    _half_life_days = half_life_days


def _packages(environment: object) -> dict[str, str]:
    packages = environment.get("packages") if isinstance(environment, dict) else None
    if not isinstance(packages, dict):
        return {}
    return {str(k): v for k, v in packages.items() if isinstance(v, str)}


async def rescore(
    db: AsyncSession,
    exps: Sequence[Experience],
    *,
    half_life_days: float,
    now: datetime | None = None,
) -> list[Experience]:
    """Recount, reweigh and reassess ``exps`` (locked by the caller); returns those whose
    stored score moved across a hundredth, which search's index must see anew."""
    now = now or datetime.now(UTC)
    ids = [e.id for e in exps]
    reports = await store.counted_reports(db, ids)
    votes = await store.cast_votes(db, ids)
    window = freshness.stale_after(half_life_days)
    moved: list[Experience] = []
    for exp in exps:
        mine = reports[exp.id]
        exp.success_count = sum(1 for ok, _, _ in mine if ok)
        exp.failure_count = len(mine) - exp.success_count
        exp.up_votes = sum(1 for up, _ in votes[exp.id] if up)
        exp.down_votes = len(votes[exp.id]) - exp.up_votes
        evidence = scoring.weigh(
            [(ok, when) for ok, when, _ in mine],
            votes[exp.id],
            now=now,
            half_life_days=half_life_days,
        )
        verdict = freshness.assess(
            [Report(ok, when, _packages(env)) for ok, when, env in mine],
            created_at=exp.created_at,
            now=now,
            stale_window=window,
            # as in search's environment evidence: unless its session ended otherwise
            author_packages=_packages(exp.environment)
            if exp.outcome in (None, "success")
            else None,
        )
        before = exp.quality_score
        exp.quality_score = evidence.score
        exp.weighted = evidence.as_json()
        exp.freshness = verdict.as_json()
        exp.scored_at = now
        if int(before * 100) != int(exp.quality_score * 100):
            moved.append(exp)
    await db.flush()
    return moved


def evidence_of(exp: Experience) -> scoring.Evidence | None:
    """The stored age-weighted evidence (None until the experience is first weighted)."""
    return scoring.Evidence.from_json(exp.weighted) if exp.weighted else None


def current_score(exp: Experience, now: datetime) -> float:
    """The score at ``now``: the stored weighted sums decayed to it (the stored column until
    the experience is first weighted)."""
    evidence = evidence_of(exp)
    if evidence is None:
        return exp.quality_score
    return evidence.at(now).score


def current_freshness(
    exp: Experience, now: datetime, half_life_days: float | None = None
) -> Verdict:
    """The verdict at ``now``: the stored one with the window applied, or, never assessed (no
    report or vote yet), the verdict on no reports."""
    stored = Verdict.from_json(exp.freshness) if exp.freshness else None
    if stored is not None:
        return freshness.as_of(stored, now)
    return freshness.assess(
        [],
        created_at=exp.created_at or now,
        now=now,
        stale_window=freshness.stale_after(half_life_days or _half_life_days),
    )


async def sweep(plurum: Plurum, now: datetime | None = None) -> int:
    """Rescore every experience that is due, in batches; returns how many."""
    half_life = plurum.settings.outcome_half_life_days
    done = 0
    while True:
        at = now or datetime.now(UTC)
        async with plurum.transaction() as tx:
            due = await store.due_for_rescore(tx.db, at - RESCORE_AFTER, half_life, SWEEP_BATCH)
            for exp in await rescore(tx.db, due, half_life_days=half_life, now=at):
                tx.touch(exp.id)
        done += len(due)
        if len(due) < SWEEP_BATCH:
            return done


async def sweep_forever(plurum: Plurum) -> None:
    """Every backend sweeps at start and then hourly; rows locked by another are skipped."""
    while True:
        try:
            count = await sweep(plurum)
            if count:
                log.info("outcome drift: rescored %d experiences", count)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a passing database fault must not stop the sweep
            if isinstance(exc, PlurumError):  # a database fault, as the transaction said it
                log.warning("outcome drift rescoring paused (%s); retrying in an hour", exc.message)
            elif faults.is_fault(exc):
                log.warning(
                    "outcome drift rescoring paused (%s); retrying in an hour", faults.summary(exc)
                )
            else:
                log.exception("outcome drift rescoring failed; retrying in an hour")
        await asyncio.sleep(SWEEP_EVERY_S)
