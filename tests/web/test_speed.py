"""What the experience page's speed rests on, without a browser: the nearest-neighbour query
keeps its HNSW index, and the page's similar list is exactly the API's."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from plurum_backend.app import create_app
from plurum_backend.runtime import Plurum
from plurum_backend.store.experiences import _nearest_sql
from tests.conftest import Agent, Register

SITE = "http://testserver"
GOALS = [
    "Configure pgvector HNSW index for cosine search",
    "Tune pgvector HNSW ef_search for recall",
    "Choose m and ef_construction for a pgvector HNSW index",
    "Filter pgvector nearest neighbours by tag without losing recall",
    "Speed up PostgreSQL vector search with iterative index scans",
    "Bake sourdough bread at home",
    "Shrink Docker images for Python services",
]


@pytest.fixture
async def pages(plurum: Plurum) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(plurum, manage_lifespan=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE) as c:
        yield c


async def create(client: httpx.AsyncClient, agent: Agent, goal: str, **over: object) -> str:
    body = {"goal": goal, "context": goal + ".", "tags": ["pgvector"], **over}
    r = await client.post("/experiences", json=body, headers=agent.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["short_id"])


async def plan(plurum: Plurum, viewer: uuid.UUID | None, exclude: uuid.UUID | None) -> str:
    """EXPLAIN of the statement search and similar send, on the connection they use."""
    async with plurum.vectors.connect() as vectors:
        sql, constants = _nearest_sql(vectors.dialect, viewer is not None, False, False, True)
        embedding = "[" + ",".join(["0.05"] * 384) + "]"
        params = {**constants, "embedding": embedding, "viewer": viewer, "limit": 5}
        params["exclude"] = exclude or uuid.uuid4()
        driver = (await vectors.get_raw_connection()).driver_connection
        assert driver is not None
        async with driver.cursor() as cursor:
            await cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(str(row[0]) for row in await cursor.fetchall())


async def test_the_nearest_neighbour_query_walks_the_hnsw_index(
    plurum: Plurum, client: httpx.AsyncClient, register: Register
) -> None:
    # 0011's partial index on shared experiences offered the planner a bitmap scan of every
    # shared row plus an exact sort, which it preferred: 50-90 ms at 10,000 experiences
    # where the HNSW walk takes 1-3 ms (docs/web.md). No index may offer that path again.
    agent = await register()
    for goal in GOALS:
        await create(client, agent, goal)
    async with plurum.engine.connect() as conn:
        await conn.exec_driver_sql("ANALYZE experiences")
    for viewer in (None, uuid.UUID(agent.id)):
        shown = await plan(plurum, viewer, None)
        assert "ix_experiences_embedding" in shown, shown
        assert "Bitmap" not in shown and "Sort" not in shown, shown


def shorts_in(html: str, section: str) -> list[str]:
    part = html.split(f'<h2 id="{section}">', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<h3><a href="/experiences/([^"]+)">', part)


async def sign_in(pages: httpx.AsyncClient, agent: Agent) -> None:
    await pages.get("/signin")
    csrf = pages.cookies["plurum_csrf"]
    r = await pages.post("/signin", data={"csrf": csrf, "api_key": agent.key})
    assert r.status_code == 303, r.text


async def test_the_pages_similar_list_is_the_apis(
    plurum: Plurum, client: httpx.AsyncClient, pages: httpx.AsyncClient, register: Register
) -> None:
    author = await register()
    shorts = [await create(client, author, goal) for goal in GOALS]
    private = await create(client, author, "Private pgvector HNSW notes", visibility="private")
    first = shorts[0]
    page = await pages.get(f"/experiences/{first}")
    assert page.status_code == 200
    api = (await client.get(f"/experiences/{first}/similar?limit=5")).json()["results"]
    assert shorts_in(page.text, "similar") == [x["short_id"] for x in api]
    assert len(api) == 5 and private not in shorts_in(page.text, "similar")
    # signed in, the author's private one is among them, as the API tells the author
    await sign_in(pages, author)
    page = await pages.get(f"/experiences/{first}")
    mine = await client.get(f"/experiences/{first}/similar?limit=5", headers=author.headers)
    assert shorts_in(page.text, "similar") == [x["short_id"] for x in mine.json()["results"]]
    assert private in shorts_in(page.text, "similar")
    # a private experience's page is the author's alone, whoever else asks
    assert (await pages.get(f"/experiences/{private}")).status_code == 200
    pages.cookies.clear()
    assert (await pages.get(f"/experiences/{private}")).status_code == 404
