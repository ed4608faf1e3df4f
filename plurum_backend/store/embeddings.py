"""Which embedder made the stored vectors, and the queries of an online re-embed.

``embedding_meta`` has one row (see migration 0009). A server checks it at start; each write
of an experience vector reads it ``FOR SHARE`` in the write's transaction, so the swap at the
end of ``plurum reembed`` (which takes it ``FOR UPDATE``) waits for writes in flight and every
later write by a server still running the old embedder is refused instead of mixing vectors.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import defer

from plurum_backend.store.models import (
    EmbeddingMeta,
    Entry,
    Experience,
    ExperienceItem,
    PulseSubscription,
    Session,
)


@dataclass(frozen=True)
class Identity:
    model: str
    backend: str

    def __str__(self) -> str:
        return f"{self.model} on {self.backend}"


def _vector(values: Sequence[float]) -> str:
    return "[" + ",".join(map(str, values)) + "]"  # pgvector's text form


# -- at start (blocking, before the event loop) ---------------------------------------------


def recorded(url: str) -> Identity | None:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT model, backend FROM embedding_meta WHERE id = 1").fetchone()
    return None if row is None else Identity(row[0], row[1])


def claim(url: str, identity: Identity) -> Identity:
    """Record ``identity`` if nothing is recorded yet, or if no vector is stored at all;
    returns what is recorded afterwards."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT model, backend FROM embedding_meta WHERE id = 1 FOR UPDATE"
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO embedding_meta (id, model, backend) VALUES (1, %s, %s) "
                "ON CONFLICT (id) DO NOTHING",
                (identity.model, identity.backend),
            )
        elif Identity(row[0], row[1]) != identity and not _any_vector(conn):
            conn.execute(
                "UPDATE embedding_meta SET model = %s, backend = %s, target_model = NULL, "
                "target_backend = NULL, updated_at = now() WHERE id = 1",
                (identity.model, identity.backend),
            )
        found = conn.execute("SELECT model, backend FROM embedding_meta WHERE id = 1").fetchone()
        conn.commit()
    assert found is not None
    return Identity(found[0], found[1])


def _any_vector(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM experiences WHERE embedding IS NOT NULL) "
        "OR EXISTS (SELECT 1 FROM sessions WHERE embedding IS NOT NULL) "
        "OR EXISTS (SELECT 1 FROM pulse_subscriptions)"
    ).fetchone()
    return bool(row and row[0])


# -- on every vector write ------------------------------------------------------------------


async def current(db: AsyncSession, share: bool = False) -> Identity | None:
    """The recorded embedder; ``share`` holds it (FOR KEY SHARE: writers do not block each
    other, only the swap's FOR UPDATE) until the transaction ends."""
    query = select(EmbeddingMeta.model, EmbeddingMeta.backend).where(EmbeddingMeta.id == 1)
    if share:
        query = query.with_for_update(read=True, key_share=True)
    row = (await db.execute(query)).first()
    return None if row is None else Identity(row[0], row[1])


# -- plurum reembed ---------------------------------------------------------------------------


async def start_target(db: AsyncSession, target: Identity) -> bool:
    """Make ``target`` the re-embed in progress; True when a killed run for the same target
    left work to resume (its ``embedding_next`` vectors are kept), False when starting over."""
    meta = await db.get(EmbeddingMeta, 1, with_for_update=True)
    assert meta is not None, "the start-up check records the embedder first"
    resuming = (meta.target_model, meta.target_backend) == (target.model, target.backend)
    if not resuming:
        meta.target_model, meta.target_backend = target.model, target.backend
    await db.flush()
    return resuming


async def clear_next_page(db: AsyncSession, limit: int) -> int:
    """Drop up to ``limit`` leftover ``embedding_next`` vectors (another target's, or the old
    vectors left there by a swap); returns how many."""
    ids = select(Experience.id).where(Experience.embedding_next.is_not(None)).limit(limit)
    result = await db.execute(
        update(Experience)
        .where(Experience.id.in_(ids.scalar_subquery()))
        .values(embedding_next=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def clear_items_next_page(db: AsyncSession, limit: int) -> int:
    """``clear_next_page`` for the item vectors."""
    result = await db.execute(
        text(
            "UPDATE experience_items SET embedding_next = NULL WHERE ctid = ANY(ARRAY("
            "SELECT ctid FROM experience_items WHERE embedding_next IS NOT NULL LIMIT :limit))"
        ),
        {"limit": limit},
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def clear_closed_entries_page(db: AsyncSession, limit: int) -> int:
    """Drop up to ``limit`` embeddings of entries of closed or abandoned sessions: an entry's
    embedding is read when it is logged (its hints) and when its session closes (it becomes
    its item's vector), never after, so a re-embed drops them instead of embedding them."""
    closed = select(Session.id).where(Session.status != "open")
    ids = (
        select(Entry.id)
        .where(Entry.embedding.is_not(None), Entry.session_id.in_(closed))
        .limit(limit)
    )
    result = await db.execute(
        update(Entry)
        .where(Entry.id.in_(ids.scalar_subquery()))
        .values(embedding=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def counts(db: AsyncSession) -> tuple[int, int]:
    """(experiences, experiences still without a new vector)."""
    total = await db.scalar(select(func.count()).select_from(Experience))
    todo = await db.scalar(
        select(func.count()).select_from(Experience).where(Experience.embedding_next.is_(None))
    )
    return int(total or 0), int(todo or 0)


async def pending_page(
    db: AsyncSession, after: uuid.UUID | None, limit: int, lock: bool = False
) -> list[Experience]:
    query = (
        select(Experience)
        .options(defer(Experience.embedding))
        .where(Experience.embedding_next.is_(None))
        .order_by(Experience.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(Experience.id > after)
    if lock:
        query = query.with_for_update()
    return list(await db.scalars(query))


async def item_counts(db: AsyncSession) -> tuple[int, int]:
    """(experience items, items still without a new vector)."""
    total = await db.scalar(select(func.count()).select_from(ExperienceItem))
    todo = await db.scalar(
        select(func.count())
        .select_from(ExperienceItem)
        .where(ExperienceItem.embedding_next.is_(None))
    )
    return int(total or 0), int(todo or 0)


ItemKey = tuple[uuid.UUID, str, int]  # experience_items' primary key


@dataclass(frozen=True)
class PendingItem:
    key: ItemKey
    text: str


async def pending_items(
    db: AsyncSession, after: ItemKey | None, limit: int, lock: bool = False
) -> list[PendingItem]:
    """Items without a new vector, in key order after ``after`` (a resumable walk)."""
    query = (
        select(
            ExperienceItem.experience_id,
            ExperienceItem.kind,
            ExperienceItem.position,
            ExperienceItem.text,
        )
        .where(ExperienceItem.embedding_next.is_(None))
        .order_by(ExperienceItem.experience_id, ExperienceItem.kind, ExperienceItem.position)
        .limit(limit)
    )
    if after is not None:
        key = tuple_(ExperienceItem.experience_id, ExperienceItem.kind, ExperienceItem.position)
        query = query.where(key > tuple_(*after))
    if lock:
        query = query.with_for_update()
    rows = (await db.execute(query)).all()
    return [PendingItem((r[0], r[1], r[2]), r[3]) for r in rows]


async def write_items_next(
    db: AsyncSession, vectors: Sequence[tuple[ItemKey, Sequence[float]]]
) -> None:
    if vectors:
        await db.execute(
            text(
                "UPDATE experience_items SET embedding_next = CAST(:v AS vector) "
                "WHERE experience_id = :e AND kind = :k AND position = :p"
            ),
            [{"e": e, "k": k, "p": p, "v": _vector(v)} for (e, k, p), v in vectors],
        )


async def write_next(
    db: AsyncSession, vectors: Sequence[tuple[uuid.UUID, Sequence[float]]]
) -> None:
    if vectors:
        await db.execute(
            text("UPDATE experiences SET embedding_next = CAST(:v AS vector) WHERE id = :id"),
            [{"id": i, "v": _vector(v)} for i, v in vectors],
        )


# (index, table): the HNSW graphs a re-embed rebuilds, with the options of their
# migrations (0004 for experiences, 0012 for items)
_GRAPHS = (
    ("ix_experiences_embedding", "experiences"),
    ("ix_experience_items_embedding", "experience_items"),
)


async def build_next_index(conn: AsyncConnection) -> None:
    """The HNSW graphs of the new vectors (experiences', items'), built beside the old ones
    before the swap (same options as migrations 0004 and 0012). ``conn`` is in autocommit:
    CONCURRENTLY lets writes go on. A build killed midway leaves an invalid index, which is
    dropped and built again."""
    await conn.execute(text("SET maintenance_work_mem = '512MB'"))
    for index, table in _GRAPHS:
        invalid = await conn.scalar(
            text(
                "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = :name"
            ),
            {"name": f"{index}_next"},
        )
        if invalid:
            await conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {index}_next"))
        await conn.execute(
            text(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index}_next ON {table} "
                "USING hnsw (embedding_next vector_cosine_ops) WITH (m = 32, ef_construction = 200)"
            )
        )
    await conn.execute(text("RESET maintenance_work_mem"))


async def lock_meta(db: AsyncSession) -> None:
    """Hold the embedder record FOR UPDATE: vector writes wait until this transaction ends."""
    await db.execute(select(EmbeddingMeta.id).where(EmbeddingMeta.id == 1).with_for_update())


async def in_progress(db: AsyncSession) -> bool:
    target = await db.scalar(select(EmbeddingMeta.target_backend).where(EmbeddingMeta.id == 1))
    return target is not None


async def sessions_to_embed(db: AsyncSession) -> list[Session]:
    rows = await db.scalars(select(Session).where(Session.status == "open").with_for_update())
    return list(rows)


async def open_entries(db: AsyncSession) -> list[Entry]:
    """Entries of open sessions that have an embedding (they become item vectors at close)."""
    opened = select(Session.id).where(Session.status == "open")
    rows = await db.scalars(
        select(Entry)
        .where(Entry.embedding.is_not(None), Entry.session_id.in_(opened))
        .order_by(Entry.seq)
        .with_for_update()
    )
    return list(rows)


async def subscriptions(db: AsyncSession) -> list[PulseSubscription]:
    return list(await db.scalars(select(PulseSubscription).with_for_update()))


async def swap(db: AsyncSession, target: Identity) -> None:
    """The new vectors become ``embedding`` (a rename: no row is rewritten) and the target
    becomes the recorded embedder. Runs inside the caller's transaction, which holds the meta
    row FOR UPDATE and has filled every ``embedding_next``."""
    await db.execute(text("SET LOCAL lock_timeout = '10s'"))
    for index, table in _GRAPHS:
        for statement in (
            f"DROP INDEX IF EXISTS {index}_prev",
            f"ALTER TABLE {table} RENAME COLUMN embedding TO embedding_prev",
            f"ALTER TABLE {table} RENAME COLUMN embedding_next TO embedding",
            f"ALTER TABLE {table} RENAME COLUMN embedding_prev TO embedding_next",
            f"ALTER INDEX {index} RENAME TO {index}_prev",
            f"ALTER INDEX {index}_next RENAME TO {index}",
        ):
            await db.execute(text(statement))
    for statement in (
        # closed and abandoned sessions' vectors are never read again (only open sessions are
        # matched), nor their entries' (read when logged and at the close); dropping them
        # keeps every stored vector from the recorded embedder
        "UPDATE sessions SET embedding = NULL WHERE status <> 'open' AND embedding IS NOT NULL",
        "UPDATE entries SET embedding = NULL WHERE embedding IS NOT NULL AND session_id IN "
        "(SELECT id FROM sessions WHERE status <> 'open')",
        # duplicate linking's goal/solution vectors are made again, by the new embedder, the
        # next time each experience is compared (services/duplicates.py)
        "DELETE FROM duplicate_vectors",
    ):
        await db.execute(text(statement))
    await db.execute(
        update(EmbeddingMeta)
        .where(EmbeddingMeta.id == 1)
        .values(
            model=target.model,
            backend=target.backend,
            target_model=None,
            target_backend=None,
            updated_at=func.now(),
        )
    )


async def drop_previous_index(conn: AsyncConnection) -> None:
    """The old vectors' graphs, left by a swap (``conn`` in autocommit)."""
    for index, _ in _GRAPHS:
        await conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {index}_prev"))
