"""Relevance, similarity and the floor, through the API (docs/search.md, "Relevance")."""

from __future__ import annotations

import httpx

from plurum_backend.runtime import Plurum
from plurum_backend.services.search import assessed, candidates
from tests.conftest import Register

DOCKER = {
    "goal": "Shrink a Python Docker image with a multi-stage build",
    "tags": ["docker", "python"],
    "context": "The image was 1.2 GB because build tools and the pip cache shipped with it.",
    "breakthroughs": ["Build wheels in a builder stage and copy only them into python:slim"],
}


async def test_off_topic_query_returns_nothing_and_says_why(
    client: httpx.AsyncClient, register: Register
) -> None:
    agent = await register()
    r = await client.post("/experiences", headers=agent.headers, json=DOCKER)
    assert r.status_code == 201
    r = await client.post("/experiences/search", json={"query": "how to bake sourdough bread"})
    body = r.json()
    assert r.status_code == 200 and body["results"] == []
    assert "Nothing relevant" in body["empty_reason"] and body["min_relevance"] > 0
    # min_relevance 0 shows every candidate, each with a calibrated relevance and a cosine
    r = await client.post(
        "/experiences/search", json={"query": "how to bake sourdough bread", "min_relevance": 0}
    )
    hits = r.json()["results"]
    assert len(hits) == 1 and r.json()["empty_reason"] is None
    assert 0 <= hits[0]["relevance"] < r.json()["min_relevance"] + 0.3
    assert -1 <= hits[0]["similarity"] < 0.4


async def test_matching_query_passes_the_floor_with_similarity(
    client: httpx.AsyncClient, register: Register
) -> None:
    agent = await register()
    await client.post("/experiences", headers=agent.headers, json=DOCKER)
    r = await client.post(
        "/experiences/search", json={"query": "make my python docker image smaller"}
    )
    body = r.json()
    assert body["empty_reason"] is None and len(body["results"]) == 1
    hit = body["results"][0]
    assert hit["relevance"] >= body["min_relevance"] and hit["similarity"] > 0.4
    assert 0 <= hit["relevance"] <= 1 and hit["match"]["vector_rank"] == 1


async def test_a_bm25_only_hit_carries_its_cosine(
    client: httpx.AsyncClient, register: Register, plurum: Plurum
) -> None:
    agent = await register()
    for goal in ("Bake sourdough bread with a starter", "Rotate TLS certificates on nginx"):
        await client.post("/experiences", headers=agent.headers, json={"goal": goal})
    # One candidate per side: only the bread one holds a query word ("sourdough"), while the
    # meaning is nearest the nginx one; so the bread one is found by BM25 alone.
    query = "cert renewal for a web server proxy sourdough"
    found = await candidates(
        plurum,
        query=query,
        viewer=None,
        tags=[],
        min_quality=None,
        depth=1,
    )
    (bm25_only,) = {h.id for h in found.fulltext} - {h.id for h in found.vector}
    ranked = assessed(query, found)
    hit = next(f for f in ranked if f.id == bm25_only)
    assert hit.vector_rank is None and hit.fulltext_rank == 1
    assert 0.0 < hit.similarity == found.similarity[bm25_only]


async def test_invalid_min_relevance_is_a_clear_400(client: httpx.AsyncClient) -> None:
    for value in (-0.1, 1.5, "high"):
        r = await client.post("/experiences/search", json={"query": "x", "min_relevance": value})
        assert r.status_code == 422 and "detail" in r.json()


async def test_session_open_uses_the_same_floor(
    client: httpx.AsyncClient, register: Register
) -> None:
    author, other = await register(), await register()
    await client.post("/experiences", headers=author.headers, json=DOCKER)
    r = await client.post(
        "/sessions", headers=other.headers, json={"topic": "Bake sourdough bread at home"}
    )
    body = r.json()
    assert (
        body["relevant_experiences"] == [] and "Nothing relevant" in body["relevant_empty_reason"]
    )
    r = await client.post(
        "/sessions",
        headers=other.headers,
        json={"topic": "Make a Python Docker image smaller", "tools_used": ["docker"]},
    )
    body = r.json()
    assert len(body["relevant_experiences"]) == 1 and body["relevant_empty_reason"] is None
