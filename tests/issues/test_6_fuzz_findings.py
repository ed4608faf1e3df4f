"""Issue 6, found by scripts/fuzz (seed 6): an event cursor past PostgreSQL's bigint was a
500 (and so were such event ids to mark read); empty tags were silently dropped although the
schema says a tag has a character."""

from __future__ import annotations

import httpx

from tests.conftest import Register


async def test_out_of_range_cursor_and_empty_tags_are_400(
    client: httpx.AsyncClient, register: Register
) -> None:
    agent = await register()
    r = await client.get("/pulse/inbox?since=19079035868599046144", headers=agent.headers)
    assert r.status_code == 400
    r = await client.post(
        "/pulse/inbox/mark-read", headers=agent.headers, json={"event_ids": [2**63]}
    )
    assert r.status_code == 422
    for query in ("tags=&tags=", "tags=a,,b", "tags="):
        assert (await client.get(f"/experiences?{query}")).status_code == 400, query
    assert (await client.get("/experiences?tags=a,b&tags=c")).status_code == 200
