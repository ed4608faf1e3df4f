"""The usage log: what the API records, what it never holds, retention, and `plurum usage`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from plurum_backend.config import Settings
from plurum_backend.errors import ConfigError
from plurum_backend.runtime import Plurum
from plurum_backend.services import usage
from plurum_backend.store.database import Database
from tests.conftest import BASE, MakePlurum, Register, truncate_all

SECRET_GOAL = "Rotate the vault root token for project nightingale"


def rows(database: Database) -> list[dict[str, Any]]:
    with psycopg.connect(database.url, autocommit=True) as conn:
        cur = conn.execute("SELECT * FROM usage_events ORDER BY created_at, id")
        names = [d.name for d in cur.description or []]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


async def publish(client: httpx.AsyncClient, headers: dict[str, str], **over: object) -> str:
    body = {"goal": "Fix pip install hanging on a private index", "tags": ["pip"], **over}
    r = await client.post("/experiences", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["short_id"])


async def test_requests_are_logged_with_their_figures(
    client: httpx.AsyncClient, register: Register, database: Database, plurum: Plurum
) -> None:
    alice, bob = await register(), await register()
    short = await publish(client, alice.headers)
    private = await publish(client, alice.headers, goal=SECRET_GOAL, visibility="private")

    r = await client.post("/experiences/search", json={"query": "pip install hangs"})
    assert r.status_code == 200 and r.json()["results"]
    found = r.json()["results"]
    r = await client.post(
        "/experiences/search",
        json={"query": "pip hangs on index", "tags": ["no-such-tag"]},
        headers=bob.headers,
    )
    assert r.status_code == 200 and r.json()["results"] == []
    assert (
        await client.post(
            f"/experiences/{short}/acquire", json={"mode": "checklist"}, headers=bob.headers
        )
    ).status_code == 200
    assert (
        await client.post(
            f"/experiences/{private}/acquire", json={"mode": "full"}, headers=alice.headers
        )
    ).status_code == 200
    assert (
        await client.post(
            f"/experiences/{short}/outcome", json={"success": True}, headers=bob.headers
        )
    ).status_code == 201
    for _ in range(2):  # the second vote withdraws the first
        r = await client.post(
            f"/experiences/{short}/vote", json={"vote_type": "up"}, headers=bob.headers
        )
        assert r.status_code == 200
    # a refused request logs nothing
    r = await client.post(
        f"/experiences/{private}/acquire", json={"mode": "full"}, headers=bob.headers
    )
    assert r.status_code == 404

    await plurum.search_log.flush()  # searches are written in batches, stamped when made
    events = rows(database)
    assert [e["kind"] for e in events] == [
        "publish", "publish", "search", "search", "acquire", "acquire", "outcome", "vote", "vote",
    ]  # fmt: skip
    published, published_private, *events = events
    assert str(published["agent_id"]) == alice.id and published_private["query"] is None
    anon, tagged, acq, acq_private, outcome, up, undo = events
    assert anon["agent_id"] is None and anon["query"] == "pip install hangs"
    assert anon["result_count"] == len(found)
    for column, field in (("best_score", "score"), ("best_relevance", "relevance")):
        assert anon[column] == pytest.approx(max(h[field] for h in found), abs=1e-4)
    assert anon["best_similarity"] == pytest.approx(max(h["similarity"] for h in found), abs=1e-4)
    assert str(tagged["agent_id"]) == bob.id and tagged["result_count"] == 0
    assert tagged["best_score"] is tagged["best_relevance"] is tagged["best_similarity"] is None
    assert acq["mode"] == "checklist" and str(acq["agent_id"]) == bob.id
    assert acq_private["mode"] == "full"
    assert outcome["success"] is True
    assert (up["vote"], undo["vote"]) == ("up", "undo")
    # no column holds an experience's text
    assert SECRET_GOAL not in json.dumps(events, default=str)

    async with plurum.reading() as db:
        summary = await usage.summary(db, days=7, retention_days=30)
        recent = await usage.recent(db, 3)
    assert summary.events["search"] == 2 and summary.events["acquire"] == 2
    assert summary.events["publish"] == 2  # POST /experiences publishes at once
    assert summary.search.searches == 2 and summary.search.without_results == 1
    assert summary.search.mean_best_relevance == pytest.approx(anon["best_relevance"])
    assert summary.active_agents == 2 and summary.search.anonymous == 1
    assert summary.acquisitions_by_mode == {"checklist": 1, "full": 1}
    assert summary.outcomes == {"success": 1, "failure": 0}
    assert summary.votes == {"up": 1, "undo": 1}
    assert [q.query for q in summary.unanswered_queries] == ["pip hangs on index"]
    goals = {e.short_id: e.goal for e in summary.most_acquired}
    assert goals == {short: "Fix pip install hanging on a private index", private: None}
    assert [e.kind for e in recent] == ["vote", "vote", "outcome"]
    assert recent[0].agent == bob.username and recent[0].experience == short


async def test_queries_are_scrubbed_or_not_kept(
    make_plurum: MakePlurum, database: Database
) -> None:
    from plurum_backend.app import create_app

    truncate_all(database)
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    for record_queries in (True, False):
        plurum = await make_plurum(record_queries=record_queries)
        transport = httpx.ASGITransport(app=create_app(plurum, manage_lifespan=False))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            r = await client.post("/experiences/search", json={"query": f"git push {token}"})
            assert r.status_code == 200
        await plurum.search_log.flush()
    kept, dropped = rows(database)
    assert kept["query"].startswith("git push [REDACTED") and token not in kept["query"]
    assert dropped["query"] is None and dropped["result_count"] == 0


async def test_logging_never_fails_the_request(
    client: httpx.AsyncClient, register: Register, database: Database, plurum: Plurum
) -> None:
    author, agent = await register(), await register()
    short = await publish(client, author.headers)
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute("ALTER TABLE usage_events ADD CONSTRAINT refuse_all CHECK (false) NOT VALID")
    try:
        r = await client.post("/experiences/search", json={"query": "pip"}, headers=agent.headers)
        assert r.status_code == 200 and r.json()["results"]
        await plurum.search_log.flush()  # the batch is refused and dropped, with a warning
        r = await client.post(
            f"/experiences/{short}/outcome", json={"success": False}, headers=agent.headers
        )
        assert r.status_code == 201
    finally:
        with psycopg.connect(database.url, autocommit=True) as conn:
            conn.execute("ALTER TABLE usage_events DROP CONSTRAINT refuse_all")
    assert [e["kind"] for e in rows(database)] == ["publish"]  # only the one before refuse_all
    detail = (await client.get(f"/experiences/{short}")).json()
    assert detail["outcomes"]["failure"] == 1  # the request's own writes were committed


async def test_old_events_are_pruned(plurum: Plurum, database: Database) -> None:
    """``plurum`` prunes in the background at start (30 days); here by hand, 5 days."""
    with psycopg.connect(database.url, autocommit=True) as conn:
        for age in (6, 4, 0):
            conn.execute(
                "INSERT INTO usage_events (kind, created_at) VALUES ('search', %s)",
                (datetime.now(UTC) - timedelta(days=age),),
            )
    async with plurum.reading() as db:
        assert await usage.prune(db, 5) == 1
        await db.commit()
    assert len(rows(database)) == 2


def test_settings() -> None:
    default = Settings.from_env({})
    assert (default.usage_retention_days, default.record_queries) == (30, True)
    chosen = Settings.from_env({"PLURUM_USAGE_RETENTION_DAYS": "7", "PLURUM_RECORD_QUERIES": "0"})
    assert (chosen.usage_retention_days, chosen.record_queries) == (7, False)
    for env in ({"PLURUM_USAGE_RETENTION_DAYS": "0"}, {"PLURUM_RECORD_QUERIES": "maybe"}):
        with pytest.raises(ConfigError):
            Settings.from_env(env)


async def test_plurum_usage_command(
    client: httpx.AsyncClient, register: Register, database: Database, plurum: Plurum
) -> None:
    agent = await register()
    short = await publish(client, agent.headers)
    await client.post("/experiences/search", json={"query": "pip hanging"}, headers=agent.headers)
    await client.post(
        f"/experiences/{short}/acquire", json={"mode": "summary"}, headers=agent.headers
    )
    await asyncio.sleep(1.5 * plurum.search_log.FLUSH_EVERY_S)  # written by the background task
    assert len(plurum.search_log) == 0

    def plurum(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PLURUM_DATABASE_URL": database.url, "HF_HUB_OFFLINE": "1"}
        return subprocess.run(
            [sys.executable, "-m", "plurum_backend.cli", "usage", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    done = plurum("--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["events"]["search"] == 1
    assert report["summary"]["acquisitions_by_mode"] == {"summary": 1}
    assert [e["kind"] for e in report["recent"]] == ["acquire", "search", "publish"]
    assert report["recent"][1]["query"] == "pip hanging"

    done = plurum("--days", "1", "--kind", "search")
    assert done.returncode == 0, done.stderr
    assert "1 searches, 1 acquisitions" in done.stdout
    assert '"pip hanging" → 1 results' in done.stdout
    assert "Acquisitions by mode: summary 1" in done.stdout

    bad = plurum("--days", "0")
    assert bad.returncode == 2 and "expected at least 1" in bad.stderr


async def test_search_log_is_bounded(plurum: Plurum, database: Database) -> None:
    """An outage cannot grow memory: past its limit the queue drops its oldest events."""
    log = usage.SearchLog(plurum.sessions)
    for i in range(log.LIMIT + 3):
        log.add({"kind": "search", "query": str(i)})
    assert len(log) == log.LIMIT and log.dropped == 3
