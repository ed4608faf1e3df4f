"""Web sign-in sessions (migration 0011): the row behind a browser's session cookie."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, delete, func, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from plurum_backend.store.models import Agent, Base


class WebSession(Base):
    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    key_hash: Mapped[str] = mapped_column(String(64))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


async def add(db: AsyncSession, row: WebSession) -> None:
    db.add(row)
    await db.flush()


async def signed_in(db: AsyncSession, token_hash: str) -> tuple[WebSession, Agent] | None:
    """The live session and its agent; none once expired or once the key was rotated."""
    row = (
        await db.execute(
            select(WebSession, Agent)
            .join(Agent, Agent.id == WebSession.agent_id)
            .where(
                WebSession.token_hash == token_hash,
                WebSession.expires_at > func.now(),
                WebSession.key_hash == Agent.key_hash,
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


async def remove(db: AsyncSession, token_hash: str) -> None:
    await db.execute(delete(WebSession).where(WebSession.token_hash == token_hash))


async def prune_expired(db: AsyncSession) -> None:
    await db.execute(delete(WebSession).where(WebSession.expires_at <= func.now()))
