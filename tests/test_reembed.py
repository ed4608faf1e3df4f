"""The database records which embedder made its vectors; `plurum reembed` moves them online.

Real PostgreSQL, the real model on three backends (onnx, the default; torch; onnx-int8).
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from sqlalchemy import text

from plurum_backend.errors import ConfigError
from plurum_backend.runtime import Plurum, check_embedder
from plurum_backend.search import vectors
from plurum_backend.search.documents import embedding_text
from plurum_backend.search.embedder import shared_embedder
from plurum_backend.services import reembed as service
from plurum_backend.store import embeddings
from plurum_backend.store.models import Experience
from tests.conftest import MODEL_DIR, Register


class Killed(Exception):
    """Stands for the process dying between two pages (what a page committed stays)."""


async def _seed(client: httpx.AsyncClient, register: Register, count: int) -> str:
    alice = await register("alice")
    for i in range(count):
        body = {
            "goal": f"Fix flaky pytest run {i} that shares a PostgreSQL database",
            "context": f"Run {i}: tests passed alone and failed together.",
            "breakthroughs": [{"description": f"truncate every table before test {i}"}],
            "tags": ["pytest", "postgres"],
        }
        r = await client.post("/experiences", headers=alice.headers, json=body)
        assert r.status_code == 201, r.text
    r = await client.post("/sessions", headers=alice.headers, json={"topic": "docker builds"})
    assert r.status_code == 201, r.text
    return r.json()["session_id"]


async def _stored(plurum: Plurum) -> list[Experience]:
    async with plurum.reading() as db:
        rows = await db.scalars(text("SELECT id FROM experiences ORDER BY id"))
        ids = list(rows)
        return [e for i in ids if (e := await db.get(Experience, i)) is not None]


async def test_start_records_the_embedder_and_refuses_another(
    plurum: Plurum, client: httpx.AsyncClient, register: Register
) -> None:
    await _seed(client, register, 1)
    recorded = embeddings.recorded(plurum.database.url)
    assert recorded == vectors.identity(plurum.embedder)
    assert recorded is not None and recorded.backend == "onnx/r1"
    torch = shared_embedder(backend="torch", model_dir=MODEL_DIR)
    with pytest.raises(ConfigError) as refused:
        check_embedder(plurum.database, torch)
    assert "plurum reembed" in refused.value.message
    assert refused.value.message.count(". ") == 0  # one sentence


async def test_reembed_swaps_online_and_resumes_after_a_kill(
    plurum: Plurum, client: httpx.AsyncClient, register: Register
) -> None:
    await _seed(client, register, 6)
    int8 = shared_embedder(backend="onnx-int8", model_dir=MODEL_DIR)
    before = {e.id: np.array(e.embedding) for e in await _stored(plurum)}

    # a run killed after its first page: the page it committed is kept
    pages: list[int] = []

    def kill_after_first_page(done: int, total: int) -> None:
        pages.append(done)
        if len(pages) == 2:
            raise Killed

    with pytest.raises(Killed):
        await service.reembed(plurum.engine, int8, progress=kill_after_first_page, page=2)
    async with plurum.reading() as db:
        assert await embeddings.counts(db) == (6, 4)
        # search still reads the old vectors, and the old embedder may still write
        r = await client.post("/experiences/search", json={"query": "flaky pytest database"})
        assert r.status_code == 200 and r.json()["results"], r.text
    alice_again = await register("bob")
    late = {"goal": "Written during the re-embed", "context": "by a server on the old backend"}
    r = await client.post("/experiences", headers=alice_again.headers, json=late)
    assert r.status_code == 201, r.text

    calls = int8.calls
    report = await service.reembed(plurum.engine, int8, page=2)
    assert report.resumed and report.total == 7
    assert report.embedded == 5 and report.at_swap == 0  # 4 left + the one written meanwhile
    assert report.sessions == 1
    assert int8.calls - calls >= 2

    assert embeddings.recorded(plurum.database.url) == vectors.identity(int8)
    for exp in await _stored(plurum):
        expected = int8.embed([embedding_text(exp)])[0]
        assert float(np.dot(np.array(exp.embedding), expected)) > 0.999
        if exp.id in before:
            assert not np.allclose(np.array(exp.embedding), before[exp.id], atol=1e-4)
    async with plurum.reading() as db:
        assert await embeddings.counts(db) == (7, 7)  # old vectors dropped after the swap
        index = await db.scalar(
            text("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'ix_experiences_emb%'")
        )
        assert index == 1

    # the server still running the old embedder refuses to write vectors, in one sentence
    r = await client.post("/experiences", headers=alice_again.headers, json=late)
    assert r.status_code == 409 and "plurum reembed" in r.json()["detail"], r.text
    with pytest.raises(ConfigError):
        check_embedder(plurum.database, plurum.embedder)
    # nothing left to do the second time
    again = await service.reembed(plurum.engine, int8)
    assert "nothing to do" in again.summary()


async def test_unchanged_text_is_not_embedded_again(plurum: Plurum) -> None:
    exp = Experience(goal="Cache pip downloads in CI", context="keyed on the lock file", tags=[])
    exp.dead_ends, exp.breakthroughs, exp.gotchas = [], [], []
    async with plurum.sessions() as db:
        calls = plurum.embedder.calls
        assert await vectors.attach(plurum.embedder, db, [exp]) == 1
        assert await vectors.attach(plurum.embedder, db, [exp]) == 0  # same text: no call
        assert plurum.embedder.calls == calls + 1
        exp.context = "keyed on the lock file and the Python version"
        assert await vectors.attach(plurum.embedder, db, [exp]) == 1
        await db.rollback()
