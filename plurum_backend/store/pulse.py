"""Queries of the pulse: writing events in order, recipients, inbox, subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text, tuple_, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend.store.models import (
    Contribution,
    PulseCounter,
    PulseDelivery,
    PulseEvent,
    PulseSubscription,
    Session,
)
from plurum_backend.store.visibility import session_visible_to

CHANNEL = "plurum_pulse"
KEYS_CHANNEL = "plurum_keys"


@dataclass(frozen=True)
class PendingEvent:
    """An event decided in a transaction, written just before it commits."""

    type: str
    payload: dict[str, Any]
    recipients: tuple[uuid.UUID, ...]
    public: bool = False  # also a row of public activity


async def write_events(db: AsyncSession, events: Sequence[PendingEvent]) -> int | None:
    """Insert the events with ids from the locked counter, their deliveries, and NOTIFY;
    returns the last id.

    The counter row stays locked until this transaction ends, so event ids commit in order.
    An event is one row however many agents receive it; each recipient is a (recipient,
    event) row, written by one statement.
    """
    events = [e for e in events if e.recipients or e.public]
    if not events:
        return None
    last = await db.scalar(
        update(PulseCounter)
        .where(PulseCounter.id == 1)
        .values(last_id=PulseCounter.last_id + len(events))
        .returning(PulseCounter.last_id)
    )
    assert last is not None, "migration 0002 creates the counter row"
    first = int(last) - len(events) + 1
    await db.execute(
        insert(PulseEvent),
        [
            {"id": first + i, "type": e.type, "payload": e.payload, "public": e.public}
            for i, e in enumerate(events)
        ],
    )
    for i, event in enumerate(events):
        if event.recipients:
            await db.execute(
                text(
                    "INSERT INTO pulse_deliveries (recipient_id, event_id) "
                    "SELECT unnest(CAST(:recipients AS uuid[])), :event_id"
                ),
                {"recipients": list(event.recipients), "event_id": first + i},
            )
    await db.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": str(last)})
    return int(last)


async def notify_key_rotated(db: AsyncSession, agent_id: uuid.UUID) -> None:
    await db.execute(text("SELECT pg_notify(:c, :p)"), {"c": KEYS_CHANNEL, "p": str(agent_id)})


async def related_agents(
    db: AsyncSession,
    embedding: Sequence[float],
    *,
    exclude_agent: uuid.UUID,
    exclude_session: uuid.UUID,
    min_similarity: float,
) -> list[uuid.UUID]:
    """Agents with an open session, or a subscribed topic, within ``min_similarity``."""
    max_distance = 1 - min_similarity
    by_session = select(Session.agent_id).where(
        Session.status == "open",
        Session.agent_id != exclude_agent,
        Session.id != exclude_session,
        Session.embedding.is_not(None),
        Session.embedding.cosine_distance(embedding) <= max_distance,
    )
    by_topic = select(PulseSubscription.agent_id).where(
        PulseSubscription.agent_id != exclude_agent,
        PulseSubscription.embedding.cosine_distance(embedding) <= max_distance,
    )
    rows = await db.scalars(union(by_session, by_topic))
    return sorted(set(rows))


async def contributors(db: AsyncSession, session_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await db.scalars(
        select(Contribution.agent_id).where(Contribution.session_id == session_id).distinct()
    )
    return list(rows)


async def events_after(db: AsyncSession, after: int, limit: int) -> list[PulseEvent]:
    """Every event past ``after``, in id order: what the hub fans out."""
    query = select(PulseEvent).where(PulseEvent.id > after).order_by(PulseEvent.id).limit(limit)
    return list(await db.scalars(query))


async def recipients_of(db: AsyncSession, first: int, last: int) -> list[tuple[int, uuid.UUID]]:
    """(event id, recipient) of the events ``first``..``last``."""
    rows = await db.execute(
        select(PulseDelivery.event_id, PulseDelivery.recipient_id).where(
            PulseDelivery.event_id.between(first, last)
        )
    )
    return [(int(event_id), recipient) for event_id, recipient in rows]


async def inbox_after(
    db: AsyncSession, recipient: uuid.UUID, after: int, limit: int
) -> list[PulseEvent]:
    """One agent's events past ``after``, in id order."""
    query = (
        select(PulseEvent)
        .join(PulseDelivery, PulseDelivery.event_id == PulseEvent.id)
        .where(PulseDelivery.recipient_id == recipient, PulseDelivery.event_id > after)
        .order_by(PulseDelivery.event_id)
        .limit(limit)
    )
    return list(await db.scalars(query))


async def last_event_id(db: AsyncSession) -> int:
    return int(await db.scalar(select(PulseCounter.last_id).where(PulseCounter.id == 1)) or 0)


async def unread_count(db: AsyncSession, recipient: uuid.UUID) -> int:
    query = select(func.count()).where(
        PulseDelivery.recipient_id == recipient, PulseDelivery.read_at.is_(None)
    )
    return int(await db.scalar(query) or 0)


async def mark_read(db: AsyncSession, recipient: uuid.UUID, event_ids: Sequence[int] | None) -> int:
    query = update(PulseDelivery).where(
        PulseDelivery.recipient_id == recipient, PulseDelivery.read_at.is_(None)
    )
    if event_ids is not None:
        query = query.where(PulseDelivery.event_id.in_(event_ids))
    result = await db.execute(query.values(read_at=datetime.now(UTC)))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def recent_public(db: AsyncSession, limit: int) -> list[PulseEvent]:
    rows = await db.scalars(
        select(PulseEvent).where(PulseEvent.public).order_by(PulseEvent.id.desc()).limit(limit)
    )
    return list(rows)


async def open_public_sessions(db: AsyncSession, limit: int) -> tuple[list[Session], int]:
    condition = (Session.status == "open") & session_visible_to(None)
    total = await db.scalar(select(func.count()).select_from(Session).where(condition))
    rows = await db.scalars(
        select(Session).where(condition).order_by(Session.created_at.desc()).limit(limit)
    )
    return list(rows), int(total or 0)


async def replace_subscriptions(
    db: AsyncSession, agent_id: uuid.UUID, topics: Sequence[tuple[str, Sequence[float]]]
) -> None:
    await db.execute(delete(PulseSubscription).where(PulseSubscription.agent_id == agent_id))
    for topic, embedding in topics:
        db.add(PulseSubscription(agent_id=agent_id, topic=topic, embedding=list(embedding)))
    await db.flush()


async def subscriptions(db: AsyncSession, agent_id: uuid.UUID) -> list[str]:
    rows = await db.scalars(
        select(PulseSubscription.topic)
        .where(PulseSubscription.agent_id == agent_id)
        .order_by(PulseSubscription.topic)
    )
    return list(rows)


async def prune(db: AsyncSession, max_age: timedelta, keep: int) -> int:
    """Retention: drop events older than ``max_age``, deliveries beyond ``keep`` per inbox,
    public activity beyond the last ``keep``, and events nobody holds any more."""
    old = await db.execute(
        delete(PulseEvent).where(PulseEvent.created_at < datetime.now(UTC) - max_age)
    )
    ranked = select(
        PulseDelivery.recipient_id,
        PulseDelivery.event_id,
        func.row_number()
        .over(partition_by=PulseDelivery.recipient_id, order_by=PulseDelivery.event_id.desc())
        .label("n"),
    ).subquery()
    await db.execute(
        delete(PulseDelivery).where(
            tuple_(PulseDelivery.recipient_id, PulseDelivery.event_id).in_(
                select(ranked.c.recipient_id, ranked.c.event_id).where(ranked.c.n > keep)
            )
        )
    )
    newest_public = (
        select(PulseEvent.id).where(PulseEvent.public).order_by(PulseEvent.id.desc()).limit(keep)
    )
    await db.execute(
        update(PulseEvent)
        .where(PulseEvent.public, PulseEvent.id.not_in(newest_public))
        .values(public=False)
    )
    held = select(PulseDelivery.event_id).where(PulseDelivery.event_id == PulseEvent.id)
    orphans = await db.execute(delete(PulseEvent).where(~PulseEvent.public, ~held.exists()))
    return int(old.rowcount) + int(orphans.rowcount)  # type: ignore[attr-defined]
