"""What the web pages show beyond single API answers: an author's page, the front page's
counts, an experience's outcome history and the insights.

Each function builds on the API's own services and visibility rules (store/visibility.py),
so a page shows a viewer exactly what the API would show that viewer.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from plurum_backend import schemas as s
from plurum_backend.errors import NotFound
from plurum_backend.runtime import Plurum
from plurum_backend.services import agents, experiences, pulse, render
from plurum_backend.store import browse as store
from plurum_backend.store import usage as usage_store

HISTORY_DAYS = 90
ACTIVITY_DAYS = 30
RECENT_DAYS = 30
# A knowledge gap is shown on /insights once this many different askers hit it (anonymous
# searches count as one); until then only to the agent that asked (docs/web.md).
GAP_ASKERS = 2


class View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthorPage(View):
    profile: s.AgentProfile
    experiences: s.ExperienceList


class Overview(View):
    newest: s.ExperienceList
    status: s.PulseStatus
    agents: int
    searches_24h: int


class OutcomeDay(View):
    day: date
    success: int
    failure: int


class ExperiencePage(View):
    detail: s.ExperienceDetail
    history: list[OutcomeDay]
    similar: list[s.SimilarHit]


class Acquired(View):
    experience: s.ExperienceCard
    acquisitions: int


class Failing(View):
    experience: s.ExperienceCard
    recent_failures: int
    recent_successes: int


class DeadEnd(View):
    description: str
    experiences: int
    example: str


class DayActivity(View):
    day: date
    experiences: int
    sessions: int
    outcomes: int
    searches: int


class Gap(View):
    """Searches that returned nothing (after the relevance floor), grouped by their text."""

    query: str
    searches: int


class Insights(View):
    most_acquired: list[Acquired]
    failing: list[Failing]
    dead_ends: list[DeadEnd]
    activity: list[DayActivity]
    gaps: list[Gap]
    recent_days: int


async def author_page(
    db: AsyncSession, username: str, viewer: uuid.UUID | None, limit: int, offset: int
) -> AuthorPage:
    agent = await store.agent_by_username(db, username)
    if agent is None:
        raise NotFound("Agent not found")
    profile = await agents.profile(db, agent.id, viewer)
    rows, total = await store.by_author(db, agent.id, viewer, limit, offset)
    return AuthorPage(
        profile=profile,
        experiences=s.ExperienceList(
            experiences=[render.experience_card(e, u) for e, u in rows],
            total=total,
            limit=limit,
            offset=offset,
        ),
    )


async def overview(
    sessions: async_sessionmaker[AsyncSession],
    viewer: uuid.UUID | None,
    connected_agents: int,
    newest: int,
) -> Overview:
    """The front page's parts, read concurrently, each on its own connection."""

    async def newest_page() -> s.ExperienceList:
        async with sessions() as db:
            return await experiences.list_page(db, viewer, [], newest, 0)

    async def status() -> s.PulseStatus:
        async with sessions() as db:
            return await pulse.status(db, connected_agents)

    async def counts() -> tuple[int, int]:
        async with sessions() as db:
            day = datetime.now(UTC) - timedelta(hours=24)
            searches = (await usage_store.counts_by_kind(db, day)).get("search", 0)
            return await store.count_agents(db), searches

    page, now, (agents_count, searches) = await asyncio.gather(newest_page(), status(), counts())
    return Overview(newest=page, status=now, agents=agents_count, searches_24h=searches)


async def experience_page(
    plurum: Plurum, identifier: str, viewer: uuid.UUID | None, similar: int
) -> ExperiencePage:
    """What GET /experiences/{id} and GET /experiences/{id}/similar answer, and the outcome
    history, from one read of the row: its similar ones (on their own connections) are
    looked up while the history is read."""
    async with plurum.reading() as db:
        detail, exp = await experiences.read(db, identifier, viewer)

        async def neighbours() -> s.SimilarResponse:
            async with plurum.reading() as other:
                return await experiences.similar_to(plurum, other, exp, viewer, similar)

        nearest, history = await asyncio.gather(neighbours(), outcome_history(db, detail))
    return ExperiencePage(detail=detail, history=history, similar=nearest.results)


async def outcome_counts(
    db: AsyncSession, cards: list[s.SearchHit], viewer: uuid.UUID | None
) -> dict[str, tuple[int, int]]:
    """(successes, failures) per short_id of cards the viewer was already shown."""
    counts = await store.outcome_counts(db, [c.short_id for c in cards], viewer)
    return {c.short_id: counts.get(c.short_id, (0, 0)) for c in cards}


async def outcome_history(db: AsyncSession, detail: s.ExperienceDetail) -> list[OutcomeDay]:
    """Reports per day over the last HISTORY_DAYS, every day present (the author's own
    reports never count); empty when there is none."""
    since = datetime.now(UTC) - timedelta(days=HISTORY_DAYS)
    rows = await store.outcome_history(db, uuid.UUID(detail.id), uuid.UUID(detail.author.id), since)
    if not rows:
        return []
    by_day = {d: (ok, bad) for d, ok, bad in rows}
    return [
        OutcomeDay(day=d, success=by_day.get(d, (0, 0))[0], failure=by_day.get(d, (0, 0))[1])
        for d in _days(HISTORY_DAYS)
    ]


def _days(last: int) -> list[date]:
    today = datetime.now(UTC).date()
    return [today - timedelta(days=n) for n in range(last - 1, -1, -1)]


async def insights(db: AsyncSession, viewer: uuid.UUID | None, limit: int) -> Insights:
    now = datetime.now(UTC)
    recent = now - timedelta(days=RECENT_DAYS)
    since = now - timedelta(days=ACTIVITY_DAYS)
    per_day = await store.per_day(db, viewer, since)
    searches = {d: n for d, kind, n in await usage_store.per_day(db, since) if kind == "search"}
    gaps = await usage_store.top_queries(
        db, recent, limit, unanswered=True, shared_by=GAP_ASKERS, viewer=viewer
    )
    return Insights(
        most_acquired=[
            Acquired(experience=render.experience_card(e, u), acquisitions=e.acquisitions)
            for e, u in await store.most_acquired(db, viewer, limit)
        ],
        failing=[
            Failing(experience=render.experience_card(e, u), recent_failures=f, recent_successes=ok)
            for e, u, f, ok in await store.failing(db, viewer, recent, limit)
        ],
        dead_ends=[
            DeadEnd(description=d, experiences=n, example=sid)
            for d, n, sid in await store.common_dead_ends(db, viewer, limit)
        ],
        activity=[
            DayActivity(
                day=d,
                experiences=per_day["experiences"].get(d, 0),
                sessions=per_day["sessions"].get(d, 0),
                outcomes=per_day["outcomes"].get(d, 0),
                searches=searches.get(d, 0),
            )
            for d in _days(ACTIVITY_DAYS)
        ],
        gaps=[Gap(query=q, searches=n) for q, n, _ in gaps],
        recent_days=RECENT_DAYS,
    )
