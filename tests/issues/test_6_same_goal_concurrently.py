"""Issue 6, found by bench/load.py: two sessions on the same topic closed at the same moment
both took the slug the other had just checked was free; the second insert hit the unique
index and answered 500 (and uvicorn dropped the connection). Now the loser gets a suffixed
slug."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import psycopg

from plurum_backend.runtime import Plurum
from plurum_backend.services import experiences
from plurum_backend.store.database import Database
from plurum_backend.store.models import Experience
from tests.conftest import Register


async def test_same_goal_created_and_closed_concurrently(
    client: httpx.AsyncClient, register: Register
) -> None:
    agents = [await register() for _ in range(4)]
    goal = "Deploy FastAPI to AWS ECS with Docker"

    async def create(i: int) -> httpx.Response:
        return await client.post("/experiences", headers=agents[i % 4].headers, json={"goal": goal})

    async def close(i: int) -> httpx.Response:
        auth = agents[i % 4].headers
        sid = (await client.post("/sessions", headers=auth, json={"topic": goal})).json()
        sid = sid["session_id"]
        entry = {"entry_type": "note", "content": {"description": "n"}}
        await client.post(f"/sessions/{sid}/entries", headers=auth, json=entry)
        return await client.post(f"/sessions/{sid}/close", headers=auth)

    answers = await asyncio.gather(*(create(i) for i in range(8)), *(close(i) for i in range(8)))
    assert [r.status_code for r in answers] == [201] * 8 + [200] * 8, [r.text for r in answers]
    made = [r.json() for r in answers[:8]] + [r.json()["experience"] for r in answers[8:]]
    slugs = [m["slug"] for m in made]
    assert len(set(slugs)) == 16
    assert "deploy-fastapi-to-aws-ecs-with-docker" in slugs
    assert all(s.startswith("deploy-fastapi-to-aws-ecs-with-docker") for s in slugs)


async def test_insert_that_loses_the_slug_race_takes_a_suffix(
    plurum: Plurum, register: Register, database: Database
) -> None:
    """Deterministic: B checks the slug while A holds it uncommitted, so B's insert waits on
    A's unique-index entry; A commits, and B must not fail."""
    agent = uuid.UUID((await register()).id)

    def draft() -> experiences.Draft:
        return experiences.Draft(agent_id=agent, goal="Shard a Redis cache without downtime")

    async def second() -> Experience:
        async with plurum.transaction() as b:
            return await experiences.store_draft(plurum, b, draft())

    def waiting_on_a_lock() -> int:
        with psycopg.connect(database.url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ).fetchone()
        return int(row[0]) if row else 0

    async with plurum.transaction() as a:
        first = await experiences.store_draft(plurum, a, draft())
        blocked = asyncio.create_task(second())
        async with asyncio.timeout(30):
            while not await asyncio.to_thread(waiting_on_a_lock):
                await asyncio.sleep(0.05)
    made = await blocked
    assert first.slug == "shard-a-redis-cache-without-downtime"
    assert made.slug == f"{first.slug}-{made.short_id.lower()}"
