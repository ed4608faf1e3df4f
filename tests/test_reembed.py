"""The database records which embedder made its vectors; `plurum reembed` moves them online.

Real PostgreSQL, the real model on three backends (onnx-int8, the default; torch; onnx).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest
from sqlalchemy import text

from plurum_backend.app import create_app
from plurum_backend.config import DEFAULT_BACKEND, Settings
from plurum_backend.errors import ConfigError
from plurum_backend.runtime import Plurum, backend_for, check_embedder
from plurum_backend.search import vectors
from plurum_backend.search.documents import embedding_text
from plurum_backend.search.embedder import label_of, shared_embedder
from plurum_backend.services import reembed as service
from plurum_backend.services.hints import item_text
from plurum_backend.store import embeddings
from plurum_backend.store.models import Experience
from tests.conftest import BASE, MODEL_DIR, MakePlurum, Register
from tests.test_hints import HELM, REWORDED, create, log, session


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
        for label, expected in (
            ("onnx/r1", "onnx"),
            ("torch", "torch"),
            ("onnx-int8/r1", None),
            ("onnx-int8/r2", None),
            ("onnx-int8/r3", "onnx-int8"),
        ):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("UPDATE embedding_meta SET backend = %s WHERE id = 1", (label,))
            # a label no backend makes today (an old int8 recipe): the default, then refusal
            assert backend_for(plurum.database, unset) == (expected or DEFAULT_BACKEND)
            assert backend_for(plurum.database, chosen) == "torch"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE embedding_meta SET backend = %s WHERE id = 1", (recorded.backend,))


async def _item_rows(plurum: Plurum) -> list[tuple[str, str, list[float] | None, object]]:
    """(key, text, vector, next vector) of every item."""
    async with plurum.reading() as db:
        rows = await db.execute(
            text(
                "SELECT experience_id::text || kind || position, text, embedding::real[], "
                "embedding_next::real[] FROM experience_items ORDER BY 1"
            )
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]


async def _entry_rows(plurum: Plurum) -> list[tuple[dict[str, object], str, object]]:
    async with plurum.reading() as db:
        rows = await db.execute(
            text(
                "SELECT e.content, s.status, e.embedding::real[] FROM entries e "
                "JOIN sessions s ON s.id = e.session_id ORDER BY e.seq"
            )
        )
        return [(r[0], r[1], r[2]) for r in rows]


def _close_to(vector: object, expected: np.ndarray) -> bool:
    return float(np.dot(np.array(vector), expected)) > 0.999


async def test_reembed_moves_item_and_entry_vectors_and_resumes_after_a_kill(
    plurum: Plurum, client: httpx.AsyncClient, register: Register, make_plurum: MakePlurum
) -> None:
    alice, bob = await register("alice"), await register("bob")
    for i in range(2):
        await create(client, alice, goal=f"{HELM['goal']} ({i})")
    # a closed session: its entries' embeddings became item vectors and are read no more
    closed = await session(client, alice)
    await log(client, alice, closed, REWORDED)
    r = await client.post(f"/sessions/{closed}/close", json={}, headers=alice.headers)
    assert r.status_code == 200, r.text
    # an open session: its entries' embeddings become item vectors when it closes
    still_open = await session(client, bob, topic="Rolling back a stuck helm release")
    entry = {
        "entry_type": "gotcha",
        "content": {
            "description": "helm rollback needs the previous revision number, not the chart version"
        },
    }
    await log(client, bob, still_open, entry)
    items_before = {k: v for k, _, v, _ in await _item_rows(plurum)}
    assert len(items_before) >= 5 and all(v is not None for v in items_before.values())

    other = "onnx" if plurum.embedder.backend == "onnx-int8" else "onnx-int8"
    int8 = shared_embedder(backend=other, model_dir=MODEL_DIR)
    experiences = 3

    def kill_among_the_items(done: int, total: int) -> None:
        if done > experiences + 1:  # the experiences and the first page of items are done
            raise Killed

    with pytest.raises(Killed):
        await service.reembed(plurum.engine, int8, progress=kill_among_the_items, page=2)
    async with plurum.reading() as db:
        assert await embeddings.counts(db) == (experiences, 0)
        total, todo = await embeddings.item_counts(db)
        assert total == len(items_before) and 0 < todo < total
    # hints still work on the old vectors meanwhile, and a server writes items and entries
    carol = await register("carol")
    hinted = await log(client, carol, await session(client, carol), REWORDED)
    assert hinted["hints"], hinted
    await create(client, carol, goal="Written during the re-embed: a stuck helm release")

    seen: list[tuple[int, int]] = []

    def item_written_late(done: int, total: int) -> None:
        """Once every page is done: an item without a new vector (as a close writing one
        before the swap leaves it), behind the walk's position, so only the swap sees it."""
        seen.append((done, total))
        if done == total:
            with psycopg.connect(plurum.database.url, autocommit=True) as conn:
                conn.execute(
                    "UPDATE experience_items SET embedding_next = NULL WHERE (experience_id, "
                    "kind, position) = (SELECT experience_id, kind, position FROM "
                    "experience_items ORDER BY 1, 2, 3 LIMIT 1)"
                )

    report = await service.reembed(plurum.engine, int8, progress=item_written_late, page=2)
    assert report.items_at_swap == 1
    assert report.resumed and report.total == experiences + 1
    assert report.items == len(items_before) + 5 and 0 < report.items_embedded < report.items
    assert seen[-1][0] == seen[-1][1] == report.total + report.items
    assert report.entries == 2  # bob's and carol's entries: their sessions are open
    assert report.entries_dropped == 1  # alice's, whose session is closed
    assert "experience items" in report.summary()

    # every item vector is the new model's vector of its text; the old ones are gone
    items = await _item_rows(plurum)
    assert len(items) == report.items
    new = int8.embed([t for _, t, _, _ in items])
    for (key, item, vector, old), expected in zip(items, new, strict=True):
        assert vector is not None and _close_to(vector, expected), item
        assert old is None
        if key in items_before:
            assert not np.allclose(np.array(vector), items_before[key], atol=1e-4)
    # open sessions' entries: the new model's vector of their item text; closed: none
    for content, status, vector in await _entry_rows(plurum):
        if status == "open":
            assert vector is not None
            assert _close_to(vector, int8.embed([item_text(content)])[0])
        else:
            assert vector is None
    async with plurum.reading() as db:
        indexes = await db.scalar(
            text("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'ix_experience_items_emb%'")
        )
        assert indexes == 1
        definition = await db.scalar(
            text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_experience_items_embedding'"
            )
        )
        assert "hnsw (embedding vector_cosine_ops)" in definition and "m='32'" in definition

    # a server on the new backend: hints and search work on the new vectors
    moved = await make_plurum(embedding_backend=other)
    app = create_app(moved, manage_lifespan=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE
    ) as new_client:
        dave = await register("dave")
        r = await new_client.post("/sessions", json={"topic": "Deploy"}, headers=dave.headers)
        assert r.status_code == 201, r.text
        sid = r.json()["session_id"]
        r = await new_client.post(f"/sessions/{sid}/entries", json=REWORDED, headers=dave.headers)
        assert r.status_code == 201 and r.json()["hints"], r.text
        r = await new_client.post(
            "/experiences/search", json={"query": "helm release stuck in pending-upgrade"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["results"][0]["goal"].startswith(("Unblock a Helm", "Written during"))
        # bob closes his session on the new server: the item is the entry's new vector
        r = await new_client.post(f"/sessions/{still_open}/close", json={}, headers=bob.headers)
        assert r.status_code == 200, r.text
    gotcha = item_text(entry["content"])
    vector = {t: v for _, t, v, _ in await _item_rows(plurum)}[gotcha]
    assert _close_to(vector, int8.embed([gotcha])[0])
    # the old server's reads keep working on the renamed columns (its pooled connections
    # re-plan their statements), and it may not log an entry with an old vector any more
    r = await client.post("/experiences/search", json={"query": "helm pending-upgrade rollback"})
    assert r.status_code == 200 and r.json()["results"], r.text
    r = await client.post(f"/sessions/{still_open}/entries", json=REWORDED, headers=bob.headers)
    assert r.status_code == 409 and "plurum reembed" in r.json()["detail"], r.text


async def test_logging_entries_does_not_grow_the_query_cache(
    plurum: Plurum, client: httpx.AsyncClient, register: Register
) -> None:
    bob = await register("bob")
    sid = await session(client, bob)
    cached = len(plurum.embedder._cache)
    for i in range(3):
        body = {"entry_type": "dead_end", "content": {"description": f"Tried fix {i} for CI"}}
        await log(client, bob, sid, body)
    assert len(plurum.embedder._cache) == cached
    # a search query is still cached
    r = await client.post("/experiences/search", json={"query": "a query worth caching"})
    assert r.status_code == 200, r.text
    assert plurum.embedder.cached("a query worth caching") is not None


async def test_entries_logged_during_a_reembed_end_with_the_new_models_vectors(
    plurum: Plurum, client: httpx.AsyncClient, register: Register
) -> None:
    """Entries keep coming while the re-embed runs and swaps: each is either acknowledged
    and then holds the new model's vector (the swap waited for it and re-embedded it), or
    refused after the swap with 409; never stored with an old vector, and no deadlock."""
    alice, bob = await register("alice"), await register("bob")
    await create(client, alice)
    sid = await session(client, bob)
    other = "onnx" if plurum.embedder.backend == "onnx-int8" else "onnx-int8"
    target = shared_embedder(backend=other, model_dir=MODEL_DIR)
    finished = asyncio.Event()

    async def run() -> service.ReembedReport:
        try:
            return await service.reembed(plurum.engine, target, page=1)
        finally:
            finished.set()

    async def keep_logging() -> list[int]:
        statuses: list[int] = []
        while not finished.is_set():
            body = {
                "entry_type": "dead_end",
                "content": {"description": f"Retried the stuck deploy, attempt {len(statuses)}"},
            }
            r = await client.post(f"/sessions/{sid}/entries", json=body, headers=bob.headers)
            assert r.status_code in (201, 409), r.text
            statuses.append(r.status_code)
        return statuses

    report, statuses = await asyncio.gather(run(), keep_logging())
    assert statuses.count(201) >= 1, statuses
    assert report.entries == statuses.count(201)
    for content, status, vector in await _entry_rows(plurum):
        assert status == "open" and vector is not None
        assert _close_to(vector, target.embed([item_text(content)])[0]), content
