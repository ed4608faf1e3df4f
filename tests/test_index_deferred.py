"""Outcomes and votes do not wait for the full-text index (docs/performance.md, "Load").

They change only an experience's quality score, which the index keeps for the
``min_quality_score`` pre-filter. Their change row is committed with them; the next write that
refreshes the index takes them into its commit, or the tailer (``catch_up``, every half
second in a server; called by hand here, where no tailer runs) applies them.
"""

from __future__ import annotations

import httpx

from plurum_backend.runtime import Plurum
from tests.conftest import Agent, Register

QUERY = "rotate the nginx ingress TLS certificate"


async def publish(client: httpx.AsyncClient, agent: Agent, goal: str) -> tuple[str, str]:
    body = {"goal": goal, "breakthroughs": ["cert-manager renews it; reload nginx after"]}
    r = await client.post("/experiences", json=body, headers=agent.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"]), str(r.json()["short_id"])


def indexed_above(plurum: Plurum, quality: float) -> set[str]:
    """Ids the full-text index itself returns for QUERY above ``quality`` (its own copy)."""
    found = plurum.index.search(QUERY, audience=["public"], tags=[], min_quality=quality, limit=50)
    return {doc_id for doc_id, _ in found}


async def test_an_outcome_answers_before_the_index_and_the_tailer_applies_it(
    client: httpx.AsyncClient, plurum: Plurum, register: Register
) -> None:
    author, reporter = await register(), await register()
    exp_id, short = await publish(client, author, "Rotate the nginx ingress TLS certificate")
    assert exp_id not in indexed_above(plurum, 0.1)

    r = await client.post(
        f"/experiences/{short}/outcome", json={"success": True}, headers=reporter.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["experience"]["quality_score"] > 0.1
    # answered without a Tantivy commit: the index still holds the old score ...
    assert exp_id not in indexed_above(plurum, 0.1)
    # ... but search re-reads the database's score, and the vector side filters on it there
    found = await client.post(
        "/experiences/search",
        json={"query": QUERY, "min_quality_score": 0.1, "min_relevance": 0},
    )
    assert [h["short_id"] for h in found.json()["results"]] == [short]

    # the change row was committed with the outcome: the tailer applies it
    assert await plurum.sync.catch_up() >= 1
    assert exp_id in indexed_above(plurum, 0.1)


async def test_a_vote_rides_along_with_the_next_refresh(
    client: httpx.AsyncClient, plurum: Plurum, register: Register
) -> None:
    author, voter = await register(), await register()
    exp_id, short = await publish(client, author, "Rotate the nginx ingress TLS certificate")
    r = await client.post(
        f"/experiences/{short}/vote", json={"vote_type": "up"}, headers=voter.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["votes"]["up"] == 1
    quality = (await client.get(f"/experiences/{short}")).json()["quality_score"]
    assert quality > 0
    assert exp_id not in indexed_above(plurum, quality / 2)

    # any write that refreshes the index at once (a new experience) commits the vote too,
    # and the tailer then skips it rather than commit it a second time
    await publish(client, voter, "Water the tomato seedlings in the greenhouse")
    assert exp_id in indexed_above(plurum, quality / 2)
    assert not plurum.sync._deferred
