"""Helpers for the search tests: clients on any replica, waiting, and index-vs-database checks."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import select

from plurum_backend.app import create_app
from plurum_backend.importer import import_lines
from plurum_backend.runtime import Plurum
from plurum_backend.search.fulltext import FulltextIndex
from plurum_backend.store.models import Experience
from plurum_backend.store.visibility import audience_of
from tests.conftest import BASE


@contextlib.asynccontextmanager
async def client_of(plurum: Plurum) -> AsyncIterator[httpx.AsyncClient]:
    """An API client on one replica (the ``client`` fixture is the first replica's)."""
    app = create_app(plurum, manage_lifespan=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


async def ranks(
    client: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None, **body: Any
) -> dict[str, tuple[int | None, int | None]]:
    """short_id -> (fulltext_rank, vector_rank) of one search."""
    r = await client.post("/experiences/search", json={"query": query, **body}, headers=headers)
    assert r.status_code == 200, r.text
    return {
        h["short_id"]: (h["match"]["fulltext_rank"], h["match"]["vector_rank"])
        for h in r.json()["results"]
    }


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float) -> float:
    """Seconds until ``check`` first holds; fails if it never does within ``timeout``."""
    started = time.perf_counter()
    while True:
        if await check():
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise AssertionError(f"not true within {timeout}s")
        await _sleep(0.02)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def expected_index(plurum: Plurum) -> dict[str, tuple[str, ...]]:
    """What a correct index holds: every experience id with its audience terms."""
    async with plurum.reading() as db:
        rows = await db.scalars(select(Experience))
        return {str(e.id): tuple(sorted(audience_of(e))) for e in rows}


def indexed(index: FulltextIndex) -> dict[str, tuple[str, ...]]:
    return {k: tuple(sorted(v)) for k, v in index.documents().items()}


async def index_matches(plurum: Plurum, index: FulltextIndex | None = None) -> bool:
    """Does the index (the runtime's own by default) hold exactly what the database says?"""
    return indexed(index or plurum.index) == await expected_index(plurum)


def records(prefix: str, count: int) -> list[dict[str, Any]]:
    topics = ("docker", "postgres", "nginx", "pytest", "oauth", "redis", "webpack", "grpc")
    return [
        {
            "id": f"{prefix}-{i}",
            "goal": f"Fix the {topics[i % len(topics)]} problem number {i} in service {prefix}",
            "breakthroughs": [f"Pinned {topics[i % len(topics)]} to the known good version {i}"],
            "visibility": "private" if i % 5 == 0 else "public",
        }
        for i in range(count)
    ]


async def bulk(plurum: Plurum, records: list[dict[str, Any]]) -> None:
    """Store experiences through the importer (batched real embeddings)."""
    report = await import_lines(plurum, [json.dumps(r) for r in records], progress=False)
    assert report.imported == len(records), report.summary()
