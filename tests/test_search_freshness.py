"""A new, published or session-made experience is searchable on both sides within a second,
on the replica that wrote it (at once) and on another replica sharing the database."""

from __future__ import annotations

import httpx

from plurum_backend.runtime import Plurum
from tests.conftest import Agent, MakePlurum, Register
from tests.search_support import client_of, ranks, wait_for

FRESH_WITHIN_S = 1.0


async def found_on_both_sides(
    client: httpx.AsyncClient, query: str, short_id: str, headers: dict[str, str] | None = None
) -> bool:
    hit = (await ranks(client, query, headers)).get(short_id)
    return hit is not None and None not in hit


async def assert_fresh(
    writer: httpx.AsyncClient, replica: Plurum, query: str, short_id: str
) -> float:
    assert await found_on_both_sides(writer, query, short_id)  # read-your-writes, no wait
    async with client_of(replica) as other:
        elapsed = await wait_for(
            lambda: found_on_both_sides(other, query, short_id), FRESH_WITHIN_S
        )
    print(f"searchable on another replica after {elapsed * 1000:.0f} ms")
    return elapsed


async def test_created_experience_is_fresh_everywhere(
    client: httpx.AsyncClient, register: Register, make_plurum: MakePlurum
) -> None:
    replica = await make_plurum()
    agent = await register()
    r = await client.post(
        "/experiences",
        headers=agent.headers,
        json={
            "goal": "Flash zebra-firmware over the air to ESP32 boards without bricking them",
            "breakthroughs": ["Keep two OTA partitions and roll back on a failed boot"],
        },
    )
    assert r.status_code == 201
    await assert_fresh(client, replica, "zebra-firmware OTA ESP32 bricking", r.json()["short_id"])


async def close_session(client: httpx.AsyncClient, agent: Agent, publish: bool) -> str:
    r = await client.post(
        "/sessions",
        headers=agent.headers,
        json={"topic": "Tune quokka-cache eviction for a Redis cluster", "domain": "databases"},
    )
    sid = r.json()["session_id"]
    r = await client.post(
        f"/sessions/{sid}/entries",
        headers=agent.headers,
        json={
            "entry_type": "breakthrough",
            "content": {"description": "allkeys-lfu eviction kept the quokka-cache hit rate up"},
        },
    )
    assert r.status_code == 201, r.text
    body = {"publish": publish}
    r = await client.post(f"/sessions/{sid}/close", headers=agent.headers, json=body)
    assert r.status_code == 200, r.text
    return str(r.json()["experience"]["short_id"])


async def test_closed_session_is_fresh_everywhere(
    client: httpx.AsyncClient, register: Register, make_plurum: MakePlurum
) -> None:
    replica = await make_plurum()
    short_id = await close_session(client, await register(), publish=True)
    await assert_fresh(client, replica, "quokka-cache eviction redis", short_id)


async def test_published_draft_is_fresh_everywhere(
    client: httpx.AsyncClient, register: Register, make_plurum: MakePlurum
) -> None:
    replica = await make_plurum()
    agent = await register()
    short_id = await close_session(client, agent, publish=False)
    query = "quokka-cache eviction redis"
    assert await found_on_both_sides(client, query, short_id, agent.headers)  # the owner's draft
    assert short_id not in await ranks(client, query)
    r = await client.post(f"/experiences/{short_id}/publish", headers=agent.headers)
    assert r.status_code == 200
    await assert_fresh(client, replica, query, short_id)
