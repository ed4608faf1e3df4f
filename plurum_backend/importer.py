"""Importing experiences from JSON lines, in batches, through the same write path as the API.

A line is one JSON object shaped like ExperienceDetail; only ``goal`` is required, unknown keys
are ignored, so an export imports as it is. Import is idempotent on ``id``: a line whose id is
already stored is skipped. An id that is not a UUID (``"e001"``, a corpus id) becomes
``uuid5(IMPORT_NAMESPACE, id)``, so re-importing the same file never duplicates. ``short_id``
and ``slug`` are kept when free. The author (``author.username``) is found or created without
a usable key; lines without one belong to ``default_agent``.

Text is scrubbed of secrets as every write is, ``documents.embedding_text`` decides what is
embedded, each batch is one transaction that records its changes in the search change
sequence, and the runtime indexes them on commit. The model works on batch n+1 while batch n
is written, so importing runs at nearly the model's own speed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import anyio.to_thread
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from tqdm import tqdm

from plurum_backend.errors import PlurumError
from plurum_backend.runtime import Plurum
from plurum_backend.schemas import USERNAME_PATTERN, HeldReason
from plurum_backend.search import vectors as experience_vectors
from plurum_backend.search.documents import embedding_text
from plurum_backend.services import held, hints, injection
from plurum_backend.services.content import list_item
from plurum_backend.services.experiences import SLUG_MAX, new_short_id, note_errors, slugify
from plurum_backend.services.scrub import Scrub
from plurum_backend.services.search import normalize_tags
from plurum_backend.store import transfer as store
from plurum_backend.store.models import Agent, Experience

EmbedFn = Callable[[Sequence[str]], np.ndarray]
IMPORT_NAMESPACE = uuid.UUID("6f1c2e8a-3d4b-5a69-8e7f-0b1c2d3e4f50")
BATCH = 128
DEFAULT_AGENT = "imported"
_USERNAME = re.compile(USERNAME_PATTERN)
_SHORT_ID = re.compile(r"^[A-Za-z0-9]{8}$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

Item = str | dict[str, Any]


class AuthorRef(BaseModel):
    model_config = ConfigDict(extra="ignore")
    username: str


class Record(BaseModel):
    """One line of an import file (every field of ExperienceDetail is accepted)."""

    model_config = ConfigDict(extra="ignore")
    id: str | int | None = None
    short_id: str | None = None
    slug: str | None = None
    goal: str = Field(min_length=1, max_length=500)
    solution: str | None = Field(default=None, max_length=20_000)
    domain: str | None = Field(default=None, max_length=100)
    context: str = Field(default="", max_length=20_000)
    dead_ends: list[Item] = Field(default_factory=list, max_length=50)
    breakthroughs: list[Item] = Field(default_factory=list, max_length=50)
    gotchas: list[Item] = Field(default_factory=list, max_length=50)
    artifacts: list[Item] = Field(default_factory=list, max_length=50)
    tags: list[str] = Field(default_factory=list, max_length=20)
    visibility: Literal["public", "private"] = "public"
    status: Literal["draft", "published"] = "published"
    outcome: Literal["success", "partial", "failure"] | None = None
    author: AuthorRef | None = None
    archived_at: datetime | None = None
    held_at: datetime | None = None
    held_reasons: list[HeldReason] | None = Field(default=None, max_length=100)
    created_at: datetime | None = None


def record_id(raw: str | int | None, line: str) -> uuid.UUID:
    """The stored id of a line: its UUID, a stable UUID from any other id, or from the line."""
    if raw is None:
        return uuid.uuid5(IMPORT_NAMESPACE, hashlib.sha256(line.encode()).hexdigest())
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return uuid.uuid5(IMPORT_NAMESPACE, str(raw))


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    skipped: int = 0
    invalid: list[str] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    redactions: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.imported / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        extra = [f"{self.skipped} already present"] if self.skipped else []
        if self.redactions:
            extra.append(f"{sum(self.redactions.values())} secrets redacted")
        if self.invalid:
            extra.append(f"{len(self.invalid)} invalid lines, first: {self.invalid[0]}")
        notes = f" ({'; '.join(extra)})" if extra else ""
        return (
            f"Imported {self.imported} of {self.read} experiences{notes} "
            f"in {self.seconds:.1f}s ({self.rate:.1f}/s)."
        )


@dataclass
class _Row:
    exp: Experience
    author: str
    short_id: str | None
    slug: str | None


def _parse(number: int, line: str) -> tuple[Record, uuid.UUID]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise PlurumError(f"line {number}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise PlurumError(f"line {number}: not a JSON object")
    try:
        record = Record.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PlurumError(f"line {number}: {where}: {first['msg']}") from None
    return record, record_id(record.id, line)


def experience_of(record: Record, exp_id: uuid.UUID, number: int, scrub: Scrub) -> Experience:
    """The Experience a line describes, scrubbed of secrets like any other write."""
    try:
        lists = {
            name: scrub.objects([list_item(kind, i) for i in getattr(record, name)])
            for name, kind in (
                ("dead_ends", "dead_end"),
                ("breakthroughs", "breakthrough"),
                ("gotchas", "gotcha"),
                ("artifacts", "artifact"),
            )
        }
    except PlurumError as exc:
        raise PlurumError(f"line {number}: {exc.message}") from None
    exp = Experience(
        id=exp_id,
        goal=scrub.text(record.goal.strip()),
        solution=scrub.maybe(record.solution.strip() if record.solution else None) or None,
        domain=scrub.maybe(record.domain.strip() if record.domain else None) or None,
        context=scrub.text(record.context),
        tags=normalize_tags(scrub.texts(record.tags)),
        visibility=record.visibility,
        status=record.status,
        outcome=record.outcome,
        archived_at=record.archived_at,
        **lists,
    )
    # held in the export stays held; anything else is read like an API write (docs/trust.md)
    kept = [r.model_dump() for r in record.held_reasons or []]
    found = injection.reasons(injection.inspect_experience(record.model_dump()))
    reasons = held.merge(kept, found)
    if reasons:
        exp.held_at = record.held_at or datetime.now(UTC)
        exp.held_reasons = reasons
    note_errors(exp)
    if record.created_at is not None:
        exp.created_at = record.created_at
        exp.updated_at = record.created_at
    return exp


def _valid_slug(slug: str | None) -> bool:
    return slug is not None and len(slug) <= SLUG_MAX and _SLUG.match(slug) is not None


def _lines(source: Iterable[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(source, start=1):
        if line.strip():
            yield number, line


class Importer:
    def __init__(
        self,
        plurum: Plurum,
        *,
        embed: EmbedFn | None = None,
        default_agent: str = DEFAULT_AGENT,
        batch: int = BATCH,
    ) -> None:
        if not _USERNAME.match(default_agent):
            raise PlurumError(f"--agent must match {USERNAME_PATTERN}, got {default_agent!r}.")
        self.plurum = plurum
        self.embed = embed or plurum.embedder.embed
        self.default_agent = default_agent
        self.batch = batch
        self.report = ImportReport()
        self.scrub = Scrub()
        self._seen: set[uuid.UUID] = set()

    async def run(
        self, source: Iterable[str], total: int | None = None, progress: bool = True
    ) -> ImportReport:
        started = time.perf_counter()
        bar = tqdm(total=total, desc="Importing", unit="exp", file=sys.stderr, disable=not progress)
        pending: tuple[list[_Row], asyncio.Future[np.ndarray]] | None = None
        chunk: list[tuple[int, str]] = []
        for item in _lines(source):
            chunk.append(item)
            if len(chunk) < self.batch:
                continue
            pending = await self._step(chunk, pending, bar)
            chunk = []
        if chunk:
            pending = await self._step(chunk, pending, bar)
        if pending is not None:
            await self._write(*pending, bar)
        bar.close()
        self.report.seconds = time.perf_counter() - started
        self.report.redactions = self.scrub.report()
        return self.report

    async def _step(
        self,
        chunk: list[tuple[int, str]],
        pending: tuple[list[_Row], asyncio.Future[np.ndarray]] | None,
        bar: tqdm[Any],
    ) -> tuple[list[_Row], asyncio.Future[np.ndarray]]:
        """Start embedding this chunk, then write the previous one while the model works."""
        rows = await self._prepare(chunk, bar)
        texts = [embedding_text(r.exp) for r in rows]
        # the hint vectors of their dead ends, gotchas and breakthroughs, in the same batch
        texts += [t for r in rows for t in hints.ItemVectors(r.exp, {}).missing]
        embedded = asyncio.ensure_future(self._embed(texts))
        if pending is not None:
            await self._write(*pending, bar)
        return rows, embedded

    async def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        t0 = time.perf_counter()
        vectors: np.ndarray = await anyio.to_thread.run_sync(self.embed, texts)
        self.report.embed_seconds += time.perf_counter() - t0
        return vectors

    async def _prepare(self, chunk: list[tuple[int, str]], bar: tqdm[Any]) -> list[_Row]:
        self.report.read += len(chunk)
        parsed: list[tuple[int, Record, uuid.UUID]] = []
        for number, line in chunk:
            try:
                record, exp_id = _parse(number, line)
            except PlurumError as exc:
                self.report.invalid.append(exc.message)
                continue
            parsed.append((number, record, exp_id))
        async with self.plurum.reading() as db:
            stored = await store.existing_ids(db, [i for _, _, i in parsed])
        rows = []
        for number, record, exp_id in parsed:
            if exp_id in stored or exp_id in self._seen:
                self.report.skipped += 1
                continue
            try:
                exp = experience_of(record, exp_id, number, self.scrub)
            except PlurumError as exc:
                self.report.invalid.append(exc.message)
                continue
            self._seen.add(exp_id)
            author = record.author.username if record.author else self.default_agent
            rows.append(
                _Row(
                    exp,
                    author if _USERNAME.match(author) else self.default_agent,
                    record.short_id
                    if record.short_id and _SHORT_ID.match(record.short_id)
                    else None,
                    record.slug if _valid_slug(record.slug) else None,
                )
            )
        bar.update(len(chunk) - len(rows))
        return rows

    async def _write(
        self, rows: list[_Row], vectors: asyncio.Future[np.ndarray], bar: tqdm[Any]
    ) -> None:
        embedded = await vectors
        if not rows:
            return
        async with self.plurum.transaction() as tx:
            authors = await self._authors(tx.db, sorted({r.author for r in rows}))
            await self._assign_ids(tx.db, rows)
            await experience_vectors.hold(self.plurum.embedder, tx.db)
            for row, vector in zip(rows, embedded[: len(rows)], strict=True):
                row.exp.agent_id = authors[row.author]
                text_hash = experience_vectors.text_hash(embedding_text(row.exp))
                experience_vectors.apply(row.exp, experience_vectors.Vectors(vector, text_hash))
                tx.db.add(row.exp)
                tx.touch(row.exp.id)
            await tx.db.flush()
            fresh = iter(embedded[len(rows) :])
            for row in rows:
                items = hints.ItemVectors(row.exp, {})
                await hints.store_items(tx, row.exp, items, [next(fresh) for _ in items.missing])
            await tx.db.flush()
        self.report.imported += len(rows)
        bar.update(len(rows))

    async def _authors(self, db: AsyncSession, usernames: list[str]) -> dict[str, uuid.UUID]:
        found = await store.agents_by_username(db, usernames)
        for username in usernames:
            if username not in found:
                agent = Agent(
                    id=uuid.uuid4(),
                    name=username,
                    username=username,
                    key_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
                )
                db.add(agent)
                found[username] = agent.id
        await db.flush()
        return found

    async def _assign_ids(self, db: AsyncSession, rows: list[_Row]) -> None:
        """Keep given short ids and slugs when free; otherwise make them as the API does."""
        fresh = [new_short_id() for _ in rows]
        taken = await store.taken_short_ids(db, [r.short_id for r in rows if r.short_id] + fresh)
        spare = iter(fresh)
        wanted_slugs = [r.slug or slugify(r.exp.goal) for r in rows]
        taken_slugs = await store.taken_slugs(db, wanted_slugs)
        for row, slug in zip(rows, wanted_slugs, strict=True):
            short_id = row.short_id
            while short_id is None or short_id in taken:
                short_id = next(spare, None) or new_short_id()
            taken.add(short_id)
            if slug in taken_slugs:
                slug = f"{slug[:SLUG_MAX]}-{short_id.lower()}"
            taken_slugs.add(slug)
            row.exp.short_id = short_id
            row.exp.slug = slug


async def import_lines(
    plurum: Plurum,
    source: Iterable[str],
    *,
    total: int | None = None,
    embed: EmbedFn | None = None,
    default_agent: str = DEFAULT_AGENT,
    batch: int = BATCH,
    progress: bool = True,
) -> ImportReport:
    importer = Importer(plurum, embed=embed, default_agent=default_agent, batch=batch)
    return await importer.run(source, total=total, progress=progress)
