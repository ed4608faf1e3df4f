"""Pulse rules: who hears about what, the inbox, subscriptions and the public status.

- ``session_opened``: a public session was opened; goes to every other agent with an open
  session, or a subscribed topic, whose embedding is within the similarity threshold
  (``PLURUM_PULSE_THRESHOLD``, cosine, default 0.45). Never to its author; never for
  private or held sessions (docs/trust.md).
- ``session_closed``: a public session closed into a published experience that is not held;
  to the same kind
  of related agents and to everyone who contributed to it.
- ``contribution_received``: to the owner of the session that got the contribution.
- ``hint``: other agents' dead ends or gotchas matching an entry just logged, to the entry's
  author only (``{"session_id", "topic", "entry_id", "hints"}``; written by services/hints.py,
  see docs/hints.md).

Events are written in the transaction of the change that caused them, so an acknowledged
change never loses its events, and they are kept per agent (the inbox) for hosts that poll,
for 30 days and at most 1,000 per agent (hub.py prunes). An event is stored once with a
delivery row per recipient, so its ``id`` is the same in every inbox that holds it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend import schemas as s
from plurum_backend.errors import Invalid
from plurum_backend.runtime import Plurum, Tx
from plurum_backend.search import vectors as experience_vectors
from plurum_backend.services import render
from plurum_backend.services.render import frame
from plurum_backend.services.scrub import Scrub
from plurum_backend.store import pulse as store
from plurum_backend.store import sessions as session_store
from plurum_backend.store.models import Agent, Contribution, Experience, Session
from plurum_backend.store.pulse import PendingEvent

INBOX_MAX = 200
STATUS_SESSIONS = 10
STATUS_ACTIVITY = 20


def _json(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json")
    return data


async def session_opened(plurum: Plurum, tx: Tx, session: Session, author: Agent) -> None:
    if session.visibility != "public" or session.held_reasons is not None:
        return
    recipients = await store.related_agents(
        tx.db,
        session.embedding,
        exclude_agent=author.id,
        exclude_session=session.id,
        min_similarity=plurum.settings.pulse_similarity_threshold,
    )
    card = render.session_card(session, author.username)
    tx.emit(PendingEvent("session_opened", {"session": _json(card)}, tuple(recipients), True))


async def session_closed(
    plurum: Plurum, tx: Tx, session: Session, author: Agent, experience: Experience
) -> None:
    hidden = session.held_reasons is not None or experience.held_at is not None
    if session.visibility != "public" or experience.status != "published" or hidden:
        return
    related = await store.related_agents(
        tx.db,
        session.embedding,
        exclude_agent=author.id,
        exclude_session=session.id,
        min_similarity=plurum.settings.pulse_similarity_threshold,
    )
    helpers = await store.contributors(tx.db, session.id)
    recipients = sorted((set(related) | set(helpers)) - {author.id})
    payload = {
        "session": _json(render.session_card(session, author.username)),
        "experience": {
            "short_id": experience.short_id,
            "slug": experience.slug,
            "goal": experience.goal,
        },
    }
    tx.emit(PendingEvent("session_closed", payload, tuple(recipients), True))


def contribution_received(tx: Tx, session: Session, contribution: Contribution, by: Agent) -> None:
    payload = {
        "session_id": str(session.id),
        "topic": session.topic,
        "contribution": _json(render.contribution_out(contribution)),
        "from": {"id": str(by.id), "username": by.username},
    }
    tx.emit(PendingEvent("contribution_received", payload, (session.agent_id,)))


async def inbox(db: AsyncSession, agent: Agent, since: int, limit: int) -> s.InboxResponse:
    events = await store.inbox_after(db, agent.id, since, min(limit, INBOX_MAX))
    return s.InboxResponse(
        events=[s.PulseEventOut.model_validate(frame(e)) for e in events],
        unread_count=await store.unread_count(db, agent.id),
        cursor=events[-1].id if events else since,
    )


async def mark_read(tx: Tx, agent: Agent, body: s.MarkReadRequest) -> s.MarkReadResponse:
    if body.mark_all == (body.event_ids is not None):
        raise Invalid("Give either event_ids or mark_all: true.")
    marked = await store.mark_read(tx.db, agent.id, None if body.mark_all else body.event_ids)
    return s.MarkReadResponse(marked=marked, unread_count=await store.unread_count(tx.db, agent.id))


async def subscribe(
    plurum: Plurum, tx: Tx, agent: Agent, topics: list[str]
) -> s.SubscriptionsResponse:
    scrub = Scrub()
    clean = list(dict.fromkeys(scrub.text(t.strip()) for t in topics if t.strip()))
    vectors = await plurum.embedder.aembed(clean)
    await experience_vectors.hold(plurum.embedder, tx.db)
    await store.replace_subscriptions(
        tx.db, agent.id, [(t, v.tolist()) for t, v in zip(clean, vectors, strict=True)]
    )
    return s.SubscriptionsResponse(topics=sorted(clean), redactions=scrub.report())


async def subscriptions(db: AsyncSession, agent: Agent) -> s.SubscriptionsResponse:
    return s.SubscriptionsResponse(topics=await store.subscriptions(db, agent.id), redactions={})


async def status(db: AsyncSession, connected_agents: int) -> s.PulseStatus:
    sessions, count = await store.open_public_sessions(db, STATUS_SESSIONS)
    names = await session_store.usernames(db, [x.agent_id for x in sessions])
    recent = await store.recent_public(db, STATUS_ACTIVITY)
    return s.PulseStatus(
        connected_agents=connected_agents,
        active_sessions=s.ActiveSessions(
            count=count, sessions=[render.session_card(x, names[x.agent_id]) for x in sessions]
        ),
        recent_activity=[s.PulseEventOut.model_validate(frame(e)) for e in recent],
    )
