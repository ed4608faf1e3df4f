"""The database records which embedder made its vectors; `plurum reembed` moves them online.

Real PostgreSQL, the real model on three backends (onnx-int8, the default; torch; onnx).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest
from sqlalchemy import text

from plurum_backend.config import DEFAULT_BACKEND, Settings
from plurum_backend.errors import ConfigError
from plurum_backend.runtime import Plurum, backend_for, check_embedder
from plurum_backend.search import vectors
from plurum_backend.search.documents import embedding_text
from plurum_backend.search.embedder import label_of, shared_embedder
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
    assert recorded is not None and recorded.backend == label_of(DEFAULT_BACKEND)
    torch = shared_embedder(backend="torch", model_dir=MODEL_DIR)
    with pytest.raises(ConfigError) as refused:
        check_embedder(plurum.database, torch)
    assert "plurum reembed" in refused.value.message
    assert refused.value.message.count(". ") == 0  # one sentence


async def test_reembed_swaps_online_and_resumes_after_a_kill(
    plurum: Plurum, client: httpx.AsyncClient, register: Register
) -> None:
    await _seed(client, register, 6)
    # to the other ONNX backend than the one the server runs (the default)
    other = "onnx" if plurum.embedder.backend == "onnx-int8" else "onnx-int8"
    int8 = shared_embedder(backend=other, model_dir=MODEL_DIR)
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


async def test_a_backend_not_chosen_follows_the_database(plurum: Plurum, tmp_path: Path) -> None:
    """Without PLURUM_EMBEDDING_BACKEND a server keeps the backend whose vectors the database
    holds (an upgrade that changed the default needs no re-embed); chosen, it is obeyed."""
    url = plurum.database.url
    recorded = embeddings.recorded(url)
    assert recorded is not None
    unset = Settings.from_env({"PLURUM_DATA_DIR": str(tmp_path)})
    chosen = Settings.from_env(
        {"PLURUM_DATA_DIR": str(tmp_path), "PLURUM_EMBEDDING_BACKEND": "torch"}
    )
    assert not unset.embedding_backend_chosen and chosen.embedding_backend_chosen
    try:
        for label, expected in (("onnx/r1", "onnx"), ("torch", "torch"), ("onnx-int8/r1", None)):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("UPDATE embedding_meta SET backend = %s WHERE id = 1", (label,))
            # a label no backend makes today (an old int8 recipe): the default, then refusal
            assert backend_for(plurum.database, unset) == (expected or DEFAULT_BACKEND)
            assert backend_for(plurum.database, chosen) == "torch"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE embedding_meta SET backend = %s WHERE id = 1", (recorded.backend,))
