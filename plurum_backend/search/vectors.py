"""Every vector of an experience, computed in one place.

``compute`` is the seam: whatever stores experience vectors (a close, ``POST /experiences``,
``plurum import``, ``plurum reembed``) asks it for all of an experience's vectors at once, so
a new kind of vector (several per document, say) is added here and every writer and the
re-embed get it. Today an experience has one vector, of ``documents.embedding_text``.

``attach`` puts them on experiences about to be written, calling the model only for those
whose embedded text changed (its SHA-256 is stored beside the vector), and holds the database's
record of the embedder for the rest of the write's transaction (``store.embeddings``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend.errors import Conflict
from plurum_backend.search.documents import embedding_text
from plurum_backend.search.embedder import Embedder
from plurum_backend.store import embeddings as store
from plurum_backend.store.models import Experience


@dataclass(frozen=True)
class Vectors:
    """All vectors of one experience, and the fingerprint of the text they came from."""

    embedding: np.ndarray
    text_hash: str


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def identity(embedder: Embedder) -> store.Identity:
    return store.Identity(embedder.model_name, embedder.label)


async def compute(
    embedder: Embedder, experiences: Sequence[Experience], single: bool = False
) -> list[Vectors]:
    """Every vector of each experience. ``single`` (one request's write) shares a model call
    with other requests' writes in flight; otherwise the texts go as one batch (import,
    re-embed)."""
    texts = [embedding_text(e) for e in experiences]
    if not texts:
        return []
    if single:
        rows = list(await asyncio.gather(*(embedder.aembed_document(t) for t in texts)))
    else:
        matrix = await embedder.aembed(texts)
        rows = [matrix[i] for i in range(len(texts))]
    return [Vectors(row, text_hash(t)) for row, t in zip(rows, texts, strict=True)]


def unchanged(experience: Experience) -> bool:
    """The experience already has vectors of exactly the text it would embed now."""
    return (
        experience.embedding is not None
        and experience.embedding_hash is not None
        and experience.embedding_hash == text_hash(embedding_text(experience))
    )


def apply(experience: Experience, vectors: Vectors) -> None:
    experience.embedding = vectors.embedding.tolist()
    experience.embedding_hash = vectors.text_hash
    # a re-embed in progress must compute this one again: its new vector is of the old text
    experience.embedding_next = None


async def attach(
    embedder: Embedder,
    db: AsyncSession,
    experiences: Sequence[Experience],
    single: bool = False,
) -> int:
    """Give each experience its vectors (skipping those whose text did not change), then hold
    the embedder record until the transaction ends; returns how many were embedded."""
    todo = [e for e in experiences if not unchanged(e)]
    for experience, vectors in zip(todo, await compute(embedder, todo, single), strict=True):
        apply(experience, vectors)
    await hold(embedder, db)
    return len(todo)


async def hold(embedder: Embedder, db: AsyncSession) -> None:
    """Refuse the write if ``plurum reembed`` has switched the database to another embedder
    since this server started (its vectors would not be comparable)."""
    recorded = await store.current(db, share=True)
    mine = identity(embedder)
    if recorded is not None and recorded != mine:
        raise Conflict(
            f"This server embeds with {mine} but the database now holds vectors from "
            f"{recorded} (switched by plurum reembed); restart the server with that backend."
        )
