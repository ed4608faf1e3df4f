"""The usage log: what agents did (searches, acquisitions, outcomes, votes, publishes,
archives), for the operator's ``plurum usage`` and the web insights page.

Services call ``record`` (or ``record_search``) inside the request's transaction, so an event
is logged exactly when what it describes is committed. Recording never fails a request: the
insert runs in a savepoint, and a failure is logged and forgotten. The log holds ids, counts
and scores, never the text of an experience; a search's query is kept (scrubbed of secrets
like everything agents send) unless ``PLURUM_RECORD_QUERIES=0``. Events older than
``PLURUM_USAGE_RETENTION_DAYS`` (default 30) are pruned hourly by every running backend.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from plurum_backend.services.scrub import Scrub
from plurum_backend.store import usage as store
from plurum_backend.store.faults import is_fault

log = logging.getLogger(__name__)

Kind = Literal["search", "acquire", "outcome", "vote", "publish", "archive", "unarchive"]
KINDS: tuple[Kind, ...] = (
    "search",
    "acquire",
    "outcome",
    "vote",
    "publish",
    "archive",
    "unarchive",
)
PRUNE_EVERY_S = 3600.0
QUERY_MAX_CHARS = 1000


async def record(
    db: AsyncSession,
    kind: Kind,
    *,
    agent_id: uuid.UUID | None,
    experience_id: uuid.UUID | None = None,
    query: str | None = None,
    result_count: int | None = None,
    best_score: float | None = None,
    best_similarity: float | None = None,
    best_relevance: float | None = None,
    mode: str | None = None,
    success: bool | None = None,
    vote: str | None = None,  # the vote now held, "up" or "down", or "undo"
) -> None:
    """Log one event in the caller's transaction (committed or rolled back with it).

    ``query`` is stored as given: pass it only when queries are recorded (``record_search``
    decides that). Never raises: a failed insert rolls back its savepoint only.
    """
    values: dict[str, Any] = {
        "kind": kind,
        "agent_id": agent_id,
        "experience_id": experience_id,
        "query": None if query is None else query[:QUERY_MAX_CHARS],
        "result_count": result_count,
        "best_score": best_score,
        "best_similarity": best_similarity,
        "best_relevance": best_relevance,
        "mode": mode,
        "success": success,
        "vote": vote,
    }
    try:
        await store.add(db, values)
    except Exception as exc:  # the request matters more than its log line
        # the database going away is logged once elsewhere: no traceback for it here
        log.warning("could not record a %s usage event", kind, exc_info=not is_fault(exc))


class ScoredHit(Protocol):
    """A returned search result: its fused ``score`` (orders one query's hits), calibrated
    ``relevance`` (comparable across searches) and cosine ``similarity`` to the query."""

    @property
    def score(self) -> float: ...

    @property
    def relevance(self) -> float: ...

    @property
    def similarity(self) -> float: ...


async def record_search(
    db: AsyncSession,
    *,
    agent_id: uuid.UUID | None,
    query: str,
    hits: Sequence[ScoredHit],
    record_queries: bool,
) -> None:
    """A search, with the number of results actually returned and the best of their scores."""
    await record(
        db,
        "search",
        agent_id=agent_id,
        query=Scrub().text(query.strip()) if record_queries else None,
        result_count=len(hits),
        best_score=max((h.score for h in hits), default=None),
        best_similarity=max((h.similarity for h in hits), default=None),
        best_relevance=max((h.relevance for h in hits), default=None),
    )


# -- retention ------------------------------------------------------------------------------


async def prune(db: AsyncSession, retention_days: int) -> int:
    return await store.prune(db, datetime.now(UTC) - timedelta(days=retention_days))


async def prune_forever(sessions: async_sessionmaker[AsyncSession], retention_days: int) -> None:
    """Every backend prunes at start and then hourly; the deletes are idempotent."""
    while True:
        try:
            async with sessions() as db:
                removed = await prune(db, retention_days)
                await db.commit()
            if removed:
                log.info("usage log: pruned %d events older than %d days", removed, retention_days)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("usage log pruning failed; retrying in an hour")
        await asyncio.sleep(PRUNE_EVERY_S)


# -- reading --------------------------------------------------------------------------------


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchStats(Model):
    searches: int
    without_results: int  # returned nothing (after the relevance floor)
    mean_results: float | None
    mean_best_similarity: float | None
    mean_best_relevance: float | None
    mean_best_score: float | None  # fused scores only order one query's hits: a rough figure
    with_query_text: int
    searching_agents: int  # distinct registered agents
    anonymous: int  # searches made without a key


class QueryStat(Model):
    query: str
    times: int
    mean_results: float


class ExperienceStat(Model):
    short_id: str | None  # None if the experience no longer exists
    goal: str | None  # only for public, published experiences
    events: int


class DayCount(Model):
    day: date
    kind: str
    events: int


class UsageSummary(Model):
    since: datetime
    until: datetime
    retention_days: int
    oldest_event: datetime | None
    events: dict[str, int]  # every kind, 0 when none
    active_agents: int  # distinct registered agents with any event
    search: SearchStats
    top_queries: list[QueryStat]
    unanswered_queries: list[QueryStat]
    acquisitions_by_mode: dict[str, int]
    outcomes: dict[str, int]  # "success", "failure"
    votes: dict[str, int]  # "up", "down", "undo"
    most_acquired: list[ExperienceStat]
    per_day: list[DayCount]


class UsageEventView(Model):
    at: datetime
    kind: str
    agent: str | None  # username; None for an anonymous search
    experience: str | None  # short_id
    query: str | None
    result_count: int | None
    best_score: float | None
    best_similarity: float | None
    best_relevance: float | None
    mode: str | None
    success: bool | None
    vote: str | None


async def summary(
    db: AsyncSession, *, days: int, retention_days: int, top: int = 10
) -> UsageSummary:
    now = datetime.now(UTC)
    since = now - timedelta(days=days)
    counts = await store.counts_by_kind(db, since)
    outcomes = await store.grouped(db, since, "outcome", store.E.success)
    return UsageSummary(
        since=since,
        until=now,
        retention_days=retention_days,
        oldest_event=await store.oldest(db),
        events={kind: counts.get(kind, 0) for kind in KINDS}
        | {k: n for k, n in counts.items() if k not in KINDS},
        active_agents=await store.active_agents(db, since),
        search=SearchStats(**await store.search_stats(db, since)),
        top_queries=[
            QueryStat(query=q, times=n, mean_results=m)
            for q, n, m in await store.top_queries(db, since, top, unanswered=False)
        ],
        unanswered_queries=[
            QueryStat(query=q, times=n, mean_results=m)
            for q, n, m in await store.top_queries(db, since, top, unanswered=True)
        ],
        acquisitions_by_mode=await store.grouped(db, since, "acquire", store.E.mode),
        outcomes={
            "success": outcomes.get("True", 0),
            "failure": outcomes.get("False", 0),
        },
        votes=await store.grouped(db, since, "vote", store.E.vote),
        most_acquired=[
            ExperienceStat(short_id=s, goal=g, events=n)
            for s, g, n in await store.top_experiences(db, since, "acquire", top)
        ],
        per_day=[DayCount(day=d, kind=k, events=n) for d, k, n in await store.per_day(db, since)],
    )


async def recent(db: AsyncSession, limit: int, kind: str | None = None) -> list[UsageEventView]:
    return [
        UsageEventView(
            at=row["created_at"],
            kind=row["kind"],
            agent=row["username"],
            experience=row["short_id"],
            query=row["query"],
            result_count=row["result_count"],
            best_score=row["best_score"],
            best_similarity=row["best_similarity"],
            best_relevance=row["best_relevance"],
            mode=row["mode"],
            success=row["success"],
            vote=row["vote"],
        )
        for row in await store.recent(db, limit, kind)
    ]
