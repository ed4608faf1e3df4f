"""The tables. PostgreSQL is the only source of truth; see migrations/ for the DDL history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import numpy as np
from pgvector.sqlalchemy import Vector as PgVector
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, defer, mapped_column

EMBEDDING_DIM = 384


class Vector(PgVector):
    """pgvector's column type, with a faster way to send a vector: pgvector formats each
    number with ``str(float(v))`` in a Python loop (a sixth of a bulk import's time, by
    py-spy); one ``%`` with a format of ``%.9g`` per number does it in C, 1.6× faster, and
    nine significant digits give back every float32 exactly (pgvector stores float32)."""

    cache_ok = True

    def bind_processor(self, dialect: Any) -> Any:
        formats: dict[int, str] = {}

        def process(value: Any) -> str | None:
            if value is None:
                return None
            numbers = tuple(value.tolist() if isinstance(value, np.ndarray) else value)
            fmt = formats.get(len(numbers))
            if fmt is None:
                fmt = formats[len(numbers)] = "[" + ",".join(["%.9g"] * len(numbers)) + "]"
            return fmt % numbers

        return process


class Base(DeclarativeBase):
    pass


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    name: Mapped[str] = mapped_column(String(100))
    username: Mapped[str] = mapped_column(String(50), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    key_created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Session(Base):
    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id"), index=True)
    topic: Mapped[str] = mapped_column(Text)
    domain: Mapped[str | None] = mapped_column(Text)
    tools_used: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    visibility: Mapped[str] = mapped_column(String(10), default="public")
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    outcome: Mapped[str | None] = mapped_column(String(10))
    environment: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM), nullable=True)
    experience_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("experiences.id", use_alter=True, name="sessions_experience_id_fkey")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # why its topic or an entry reads as instructions to the reader (docs/trust.md); while
    # set, the session is hidden from others and the experience it closes into is held
    held_reasons: Mapped[list[dict[str, str]] | None] = mapped_column(JSONB(none_as_null=True))


class Entry(Base):
    __tablename__ = "entries"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id"), index=True)
    entry_type: Mapped[str] = mapped_column(String(20))
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The entry's one embedding (services/hints.py); reused as its experience item's vector.
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Contribution(Base):
    __tablename__ = "contributions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id"), index=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id"), index=True)
    contribution_type: Mapped[str] = mapped_column(String(20))
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Experience(Base):
    __tablename__ = "experiences"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    short_id: Mapped[str] = mapped_column(String(8), unique=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id"), index=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sessions.id"))
    goal: Mapped[str] = mapped_column(Text)
    solution: Mapped[str | None] = mapped_column(Text)
    domain: Mapped[str | None] = mapped_column(Text)
    context: Mapped[str] = mapped_column(Text, default="")
    dead_ends: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    breakthroughs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    gotchas: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    artifacts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    visibility: Mapped[str] = mapped_column(String(10), default="public")
    status: Mapped[str] = mapped_column(String(10), default="published")
    outcome: Mapped[str | None] = mapped_column(String(10))
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM), nullable=True)
    # plurum reembed's new vectors until the swap; the SHA-256 of the embedded text
    embedding_next: Mapped[Any] = mapped_column(
        Vector(EMBEDDING_DIM), nullable=True, deferred=True, deferred_raiseload=True
    )
    embedding_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quality_score: Mapped[float] = mapped_column(Float, default=0.0)
    success_count: Mapped[int] = mapped_column(Integer, default=0)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    up_votes: Mapped[int] = mapped_column(Integer, default=0)
    down_votes: Mapped[int] = mapped_column(Integer, default=0)
    acquisitions: Mapped[int] = mapped_column(Integer, default=0)
    # Outcome drift (0015_drift, services/rescore.py): the age-weighted evidence and the
    # freshness verdict as of ``scored_at``; NULL until first rescored.
    weighted: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    freshness: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    scored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # held for review: its text reads as instructions to the reader (docs/trust.md)
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    held_reasons: Mapped[list[dict[str, str]] | None] = mapped_column(JSONB(none_as_null=True))
    environment: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    # search.signatures: the errors it quotes (JSON for the detail) and their lookup keys
    error_signatures: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    signature_keys: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


def card_only() -> list[Any]:
    """Loader options for card-sized reads: neither the vector nor the long item lists
    (reading them would raise rather than cost a hidden round trip)."""
    return [
        defer(Experience.embedding, raiseload=True),
        defer(Experience.dead_ends, raiseload=True),
        defer(Experience.gotchas, raiseload=True),
        defer(Experience.artifacts, raiseload=True),
    ]


class ExperienceItem(Base):
    """A dead end, gotcha or breakthrough of an experience, with its vector (hints)."""

    __tablename__ = "experience_items"

    experience_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("experiences.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    # every writer gives an item its vector; nullable only because plurum reembed trades
    # ``embedding`` and ``embedding_next`` by name (0022_items_next)
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM), nullable=True)
    embedding_next: Mapped[Any] = mapped_column(
        Vector(EMBEDDING_DIM), nullable=True, deferred=True, deferred_raiseload=True
    )


class Outcome(Base):
    __tablename__ = "outcomes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    experience_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("experiences.id"), index=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id"), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    context_notes: Mapped[str | None] = mapped_column(Text)
    execution_time_ms: Mapped[int | None] = mapped_column(BigInteger)
    error_message: Mapped[str | None] = mapped_column(Text)
    environment: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Vote(Base):
    __tablename__ = "votes"

    experience_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("experiences.id"), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    vote_type: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Acquisition(Base):
    __tablename__ = "acquisitions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    experience_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("experiences.id"), index=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id"), index=True)
    mode: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SearchChange(Base):
    """One row per write that changes what search sees; tailed into each Tantivy index.

    ``xid`` is the writing transaction's id: a reader only consumes rows whose transaction is
    older than every transaction still running, so rows never appear behind its cursor.
    """

    __tablename__ = "search_changes"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    xid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("pg_current_xact_id()::text::bigint")
    )
    experience_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


class PulseEvent(Base):
    """One pulse event, stored once; who receives it is in ``pulse_deliveries``."""

    __tablename__ = "pulse_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    public: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))  # /pulse/status
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )


class PulseDelivery(Base):
    """An event in one agent's inbox (no foreign key to agents: see migration 0005)."""

    __tablename__ = "pulse_deliveries"

    recipient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("pulse_events.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PulseSubscription(Base):
    __tablename__ = "pulse_subscriptions"

    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    topic: Mapped[str] = mapped_column(Text, primary_key=True)
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PulseCounter(Base):
    __tablename__ = "pulse_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger)


class RateHit(Base):
    """One counted request in a rate-limit bucket, kept until its window ends (UNLOGGED)."""

    __tablename__ = "rate_hits"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    bucket: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EmbeddingMeta(Base):
    """Which model and backend made the stored vectors (one row; migration 0009)."""

    __tablename__ = "embedding_meta"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    model: Mapped[str] = mapped_column(Text)
    backend: Mapped[str] = mapped_column(Text)
    target_model: Mapped[str | None] = mapped_column(Text)
    target_backend: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class UsageEvent(Base):
    """One thing an agent did, for the operator (see migration 0007_usage_log)."""

    __tablename__ = "usage_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp(), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    experience_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    query: Mapped[str | None] = mapped_column(Text)  # searches only, scrubbed, if recorded
    result_count: Mapped[int | None] = mapped_column(Integer)
    best_score: Mapped[float | None] = mapped_column(Float)
    best_similarity: Mapped[float | None] = mapped_column(Float)
    best_relevance: Mapped[float | None] = mapped_column(Float)  # 0014_usage_relevance
    mode: Mapped[str | None] = mapped_column(String(20))
    success: Mapped[bool | None] = mapped_column(Boolean)
    vote: Mapped[str | None] = mapped_column(String(4))


class DuplicateVectors(Base):
    """The vectors of an experience's goal and solution, to tell duplicates (0017_clusters)."""

    __tablename__ = "duplicate_vectors"

    experience_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("experiences.id", ondelete="CASCADE"), primary_key=True
    )
    goal: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM))
    solution: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM), nullable=True)


class ClusterMember(Base):
    """An experience linked into a cluster of near-duplicates (services/duplicates.py)."""

    __tablename__ = "cluster_members"

    experience_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("experiences.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    linked_to: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("experiences.id", ondelete="SET NULL"), nullable=True
    )
    goal_similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    fix_similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
