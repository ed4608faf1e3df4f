"""The review queue of held experiences (services/held.py), for ``plurum review``.

Whoever runs the instance lists what is held, reads it whole, and releases it (it becomes
what it would have been: readable, listed, searchable; the pulse events it missed are not
sent late) or deletes it with its outcomes, votes and acquisitions.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend import schemas as s
from plurum_backend.errors import NotFound
from plurum_backend.runtime import Tx
from plurum_backend.services import render
from plurum_backend.services.held import held_of
from plurum_backend.store import review as store
from plurum_backend.store.models import Experience

NOT_FOUND = "No experience with that identifier."


def _item(exp: Experience, username: str) -> s.ReviewItem:
    held = held_of(exp)
    return s.ReviewItem(
        short_id=exp.short_id,
        goal=exp.goal,
        author=s.AgentRef(id=str(exp.agent_id), username=username),
        visibility=exp.visibility,
        status=exp.status,
        held_at=exp.held_at,
        reasons=held.reasons if held else [],
    )


async def queue(db: AsyncSession, limit: int, offset: int) -> s.ReviewList:
    rows, total = await store.held_page(db, limit, offset)
    return s.ReviewList(
        held=[_item(e, u) for e, u in rows], total=total, limit=limit, offset=offset
    )


async def _find(db: AsyncSession, identifier: str, lock: bool = False) -> Experience:
    exp = await store.find(db, identifier, lock=lock)
    if exp is None:
        raise NotFound(NOT_FOUND)
    return exp


async def show(db: AsyncSession, identifier: str) -> s.ExperienceDetail:
    exp = await _find(db, identifier)
    return render.experience_detail(exp, await store.username(db, exp.agent_id))


async def release(tx: Tx, identifier: str) -> s.ExperienceDetail:
    """Lift the hold (idempotent): the experience is what it would have been."""
    exp = await _find(tx.db, identifier, lock=True)
    if exp.held_at is not None:
        await store.release(tx.db, exp)
        tx.touch(exp.id)  # search sees it anew (every server tails the change sequence)
    return render.experience_detail(exp, await store.username(tx.db, exp.agent_id))


async def delete(tx: Tx, identifier: str) -> s.ReviewItem:
    """Delete the experience for good, with its outcomes, votes and acquisitions."""
    exp = await _find(tx.db, identifier, lock=True)
    item = _item(exp, await store.username(tx.db, exp.agent_id))
    await store.delete_experience(tx.db, exp.id)
    tx.touch(exp.id)
    return item
