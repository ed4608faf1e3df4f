"""Filters apply inside both retrievals, before the top N is cut.

120 private experiences of one agent match the query better than the single public one, on
both sides; with 100 candidates per side, filtering after truncation would lose the public
match. Unrelated background documents keep the query words rare enough for BM25 to care.
"""

from __future__ import annotations

import httpx

from plurum_backend.runtime import Plurum
from plurum_backend.services.search import TUNING
from tests.conftest import Register
from tests.search_support import bulk, ranks

QUERY = "rotate the TLS certificate of the nginx ingress controller"
TARGET = "Target01"
DECOYS = TUNING.depth + 20


def background(i: int) -> dict[str, object]:
    return {"id": f"background-{i}", "goal": f"Water the tomato seedlings in greenhouse {i}"}


def decoy(i: int) -> dict[str, object]:
    return {
        "id": f"decoy-{i}",
        "goal": f"Rotate the TLS certificate of the nginx ingress controller in cluster {i}",
        "breakthroughs": ["Rotate the nginx ingress TLS certificate secret with cert-manager"],
        "tags": ["nginx", "tls"],
        "visibility": "private",
    }


async def test_filters_apply_before_truncation(
    client: httpx.AsyncClient, plurum: Plurum, register: Register
) -> None:
    owner, reporter = await register(), await register()
    target = {
        "id": "target",
        "short_id": TARGET,
        "goal": "Renew an expiring TLS certificate for nginx",
        "breakthroughs": ["certbot renew, then reload nginx"],
        "tags": ["nginx", "tls", "wanted"],
        "author": {"username": owner.username},
    }
    decoys = [{**decoy(i), "author": {"username": owner.username}} for i in range(DECOYS)]
    await bulk(plurum, [target, *decoys, *(background(i) for i in range(150))])

    mine = await ranks(client, QUERY, owner.headers, limit=50)
    assert TARGET not in mine  # the private decoys outrank it on both sides

    public = await ranks(client, QUERY, limit=50)
    assert next(iter(public.items())) == (TARGET, (1, 1))

    tagged = await ranks(client, QUERY, owner.headers, tags=["wanted"], limit=50)
    assert tagged == {TARGET: (1, 1)}
    assert await ranks(client, QUERY, owner.headers, tags=["wanted", "absent"]) == {}

    r = await client.post(
        f"/experiences/{TARGET}/outcome", json={"success": True}, headers=reporter.headers
    )
    assert r.status_code == 201, r.text
    # an outcome moves only the quality score: its answer does not wait for the full-text
    # index, whose quality pre-filter catches up from the change sequence (the tailer, every
    # half second; here at once). Until then only the vector side, which reads the database,
    # sees the new score; the outcome's change row is committed with it, so it is never lost.
    await plurum.sync.catch_up()
    good = await ranks(client, QUERY, owner.headers, min_quality_score=0.1, limit=50)
    assert good == {TARGET: (1, 1)}


async def test_match_gives_both_ranks(client: httpx.AsyncClient, register: Register) -> None:
    agent = await register()
    for goal, insight in (
        ("Fix ERR_OSSL_EVP_UNSUPPORTED when building webpack 4 on Node 17", "legacy provider"),
        ("Make slow PostgreSQL queries fast with the right index", "EXPLAIN ANALYZE first"),
    ):
        r = await client.post(
            "/experiences",
            json={"goal": goal, "breakthroughs": [insight]},
            headers=agent.headers,
        )
        assert r.status_code == 201
    r = await client.post(
        "/experiences/search", json={"query": "ERR_OSSL_EVP_UNSUPPORTED", "min_relevance": 0}
    )
    hits = r.json()["results"]
    assert hits[0]["match"] == {"fulltext_rank": 1, "vector_rank": 1, "signature": False}
    # the other one is only a vector neighbour: no shared words (and below the default floor)
    assert hits[1]["match"]["fulltext_rank"] is None
    assert hits[1]["match"]["vector_rank"] == 2
    assert 0 <= hits[1]["score"] < hits[0]["score"] <= 1
