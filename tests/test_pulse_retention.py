"""Pulse retention: events are stored once with a delivery per recipient; pruning keeps the
newest deliveries of each inbox and the newest public activity, and drops events nobody
holds any more."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from plurum_backend.runtime import Plurum
from plurum_backend.store import pulse as store
from plurum_backend.store.models import PulseDelivery, PulseEvent
from tests.conftest import Register


async def test_one_row_per_event_and_pruning(plurum: Plurum, register: Register) -> None:
    a, b = (await register("keeper")).id, (await register("other")).id
    async with plurum.sessions() as db:
        for n in range(5):  # each to both agents, public too
            await store.write_events(db, [store.PendingEvent("t", {"n": n}, (a, b), True)])
        await store.write_events(db, [store.PendingEvent("only_b", {}, (b,))])
        await db.commit()
        assert await db.scalar(select(func.count()).select_from(PulseEvent)) == 6
        inbox_a = await store.inbox_after(db, a, 0, 100)
        inbox_b = await store.inbox_after(db, b, 0, 100)
        assert [e.payload["n"] for e in inbox_a] == [0, 1, 2, 3, 4]
        assert [e.id for e in inbox_a] == [e.id for e in inbox_b[:5]]  # one id per event

        await store.prune(db, timedelta(days=30), keep=2)
        await db.commit()
        assert [e.payload["n"] for e in await store.inbox_after(db, a, 0, 100)] == [3, 4]
        assert [e.type for e in await store.inbox_after(db, b, 0, 100)] == ["t", "only_b"]
        assert [e.payload["n"] for e in await store.recent_public(db, 10)] == [4, 3]
        # events 0..2 are in no inbox and no longer public: gone
        assert await db.scalar(select(func.count()).select_from(PulseEvent)) == 3

        await db.execute(update(PulseEvent).values(created_at=func.now() - timedelta(days=31)))
        await store.prune(db, timedelta(days=30), keep=2)
        await db.commit()
        assert await db.scalar(select(func.count()).select_from(PulseEvent)) == 0
        assert await db.scalar(select(func.count()).select_from(PulseDelivery)) == 0


async def test_an_event_for_nobody_is_not_written(plurum: Plurum) -> None:
    async with plurum.sessions() as db:
        assert await store.write_events(db, [store.PendingEvent("t", {}, ())]) is None
        nobody = uuid.uuid4()
        last = await store.write_events(db, [store.PendingEvent("t", {}, (nobody,))])
        assert last is not None and await store.unread_count(db, nobody) == 1
        await db.rollback()
