"""Relevance, similarity and the floor, through the API (docs/search.md, "Relevance")."""

from __future__ import annotations

import json

import httpx

from plurum_backend.importer import import_lines
from plurum_backend.runtime import Plurum
from plurum_backend.services.search import DEFAULT_MIN_RELEVANCE, assessed, candidates
from tests.conftest import Register

DOCKER = {
    "goal": "Shrink a Python Docker image with a multi-stage build",
    "tags": ["docker", "python"],
    "context": "The image was 1.2 GB because build tools and the pip cache shipped with it.",
    "breakthroughs": ["Build wheels in a builder stage and copy only them into python:slim"],
}


async def test_off_topic_query_is_rated_low_and_a_floor_empties_it(
    client: httpx.AsyncClient, register: Register
) -> None:
    agent = await register()
    r = await client.post("/experiences", headers=agent.headers, json=DOCKER)
    assert r.status_code == 201
    query = "how to bake sourdough bread"
    r = await client.post("/experiences/search", json={"query": query, "min_relevance": 0})
    body = r.json()
    hits = body["results"]
    assert len(hits) == 1 and body["empty_reason"] is None and body["min_relevance"] == 0
    assert 0 <= hits[0]["relevance"] < 0.1 and -1 <= hits[0]["similarity"] < 0.4
    r = await client.post("/experiences/search", json={"query": query, "min_relevance": 0.5})
    body = r.json()
    assert body["results"] == [] and body["min_relevance"] == 0.5
    assert (
        "Nothing relevant" in body["empty_reason"]
        and "below min_relevance 0.5" in (body["empty_reason"])
    )
    r = await client.post("/experiences/search", json={"query": query})
    body = r.json()
    # the server's own floor abstains on this off-domain query (issue 10's example)
    assert body["min_relevance"] == DEFAULT_MIN_RELEVANCE and body["results"] == []
    assert body["total_found"] == 0 and "Nothing relevant" in body["empty_reason"]


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


async def test_session_open_says_why_nothing_is_relevant(
    client: httpx.AsyncClient, register: Register
) -> None:
    author, other = await register(), await register()
    r = await client.post("/sessions", headers=other.headers, json={"topic": "Bake bread"})
    body = r.json()
    assert body["relevant_experiences"] == []
    assert "nothing in the collective yet" in body["relevant_empty_reason"]
    await client.post("/experiences", headers=author.headers, json=DOCKER)
    r = await client.post(
        "/sessions",
        headers=other.headers,
        json={"topic": "Make a Python Docker image smaller", "tools_used": ["docker"]},
    )
    body = r.json()
    assert len(body["relevant_experiences"]) == 1 and body["relevant_empty_reason"] is None
    assert body["relevant_experiences"][0]["relevance"] >= DEFAULT_MIN_RELEVANCE


async def test_item_vectors_score_the_vector_side_and_set_similarity(
    client: httpx.AsyncClient, register: Register, plurum: Plurum
) -> None:
    """An experience made by POST /experiences gets a vector per dead end and breakthrough;
    search reads their cosines, and `similarity` is that of the closest vector."""
    agent = await register()
    long_one = {
        "goal": "Speed up a slow CI pipeline for a monorepo",
        "context": "Builds took 40 minutes; several caching attempts changed nothing.",
        "dead_ends": [{"description": "Bigger runners", "reason": "the time went elsewhere"}],
        "breakthroughs": [
            {"description": "The lockfile hash in the cache key changed on every commit"}
        ],
    }
    r = await client.post("/experiences", headers=agent.headers, json=long_one)
    assert r.status_code == 201
    exp_id = r.json()["id"]
    query = "cache key keeps changing because the lockfile hash differs on each commit"
    found = await candidates(plurum, query=query, viewer=None, tags=[], min_quality=None, depth=10)
    hit_id = next(h.id for h in found.vector if str(h.id) == exp_id)
    items = found.items[hit_id]
    assert len(items) == 2 and all(-1 <= c <= 1 for c in items)
    ranked = assessed(query, found)
    hit = next(f for f in ranked if f.id == hit_id)
    assert hit.similarity == max(found.similarity[hit_id], *items)
    assert max(items) > found.similarity[hit_id]  # the breakthrough says it best
    r = await client.post("/experiences/search", json={"query": query})
    body = r.json()
    assert body["results"][0]["id"] == exp_id
    assert body["results"][0]["similarity"] == round(hit.similarity, 4)


async def test_imported_experiences_get_item_vectors_that_search_reads(plurum: Plurum) -> None:
    record = {
        "id": "imported-items-1",
        "goal": "Keep a Celery worker from running out of memory",
        "dead_ends": [{"description": "Raised the container memory limit"}],
        "gotchas": [{"description": "Prefork children never return memory to the OS"}],
        "breakthroughs": [{"description": "Set worker_max_memory_per_child to recycle them"}],
    }
    report = await import_lines(plurum, [json.dumps(record)], progress=False)
    assert report.imported == 1
    query = "recycle prefork children that never give memory back"
    found = await candidates(plurum, query=query, viewer=None, tags=[], min_quality=None, depth=10)
    (hit,) = found.vector
    assert len(found.items[hit.id]) == 3  # one cosine per dead end, gotcha, breakthrough
