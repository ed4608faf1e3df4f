"""Bounded waits: a table held by a long ACCESS EXCLUSIVE lock, and an exhausted pool.

Every request that needs the locked table answers 503 (with Retry-After and a detail that
names the limit) within the limit + 1 s, instead of piling up; what does not need the
database keeps answering; once the lock is released the same requests succeed. With more
concurrent requests than pooled connections, the extra ones get a 503 when no connection
frees up within the limit. The MCP client turns such a 503 into a short "retry later" error.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import psycopg
import pytest

from bench.faultload import register
from plurum_mcp.backend import PlurumAPI
from plurum_mcp.errors import BackendRefusedError
from tests.faults.conftest import Instance, MakeInstance

LIMIT_S = 3.0  # short for a quick test; long enough for a write's embedding here


async def timed(
    http: httpx.AsyncClient, method: str, path: str, **kw: object
) -> tuple[float, httpx.Response]:
    start = time.monotonic()
    r = await http.request(method, path, **kw)  # type: ignore[arg-type]
    return time.monotonic() - start, r


async def seed(http: httpx.AsyncClient) -> tuple[dict[str, str], list[str]]:
    auth = await register(http)
    ids = []
    for n in range(3):
        body = {"goal": f"Bounded wait drill {n}", "breakthroughs": ["locks time out"]}
        for _ in range(5):  # the model's first inference can outlast the short test limit
            r = await http.post("/experiences", headers=auth, json=body)
            if r.status_code != 503:
                break
        assert r.status_code == 201, r.text
        ids.append(r.json()["short_id"])
    return auth, ids


def mixed(auth: dict[str, str], ids: list[str], n: int) -> list[tuple[str, str, dict[str, object]]]:
    calls: list[tuple[str, str, dict[str, object]]] = []
    for k in range(n):
        if k % 3 == 0:
            calls.append(("POST", "/experiences/search", {"json": {"query": "drill"}}))
        elif k % 3 == 1:
            calls.append(("GET", f"/experiences/{ids[k % len(ids)]}", {}))
        else:
            body = {"goal": f"Written under a lock {k}", "breakthroughs": ["wait"]}
            calls.append(("POST", "/experiences", {"json": body, "headers": auth}))
    return calls


async def hold_lock(i: Instance, locked: asyncio.Event, release: asyncio.Event) -> None:
    async with await psycopg.AsyncConnection.connect(i.database.url) as conn:
        await conn.execute("LOCK TABLE experiences IN ACCESS EXCLUSIVE MODE")
        locked.set()
        await release.wait()
        await conn.rollback()


async def test_held_lock_answers_within_the_limit(instance: MakeInstance) -> None:
    async with (
        instance(db_timeout_s=LIMIT_S) as i,
        httpx.AsyncClient(base_url=i.base, timeout=30) as http,
    ):
        auth, ids = await seed(http)
        locked, release = asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(hold_lock(i, locked, release))
        await locked.wait()
        answers = await asyncio.gather(
            *(timed(http, m, p, **kw) for m, p, kw in mixed(auth, ids, 12))
        )
        health = await http.get("/health")
        api = PlurumAPI(i.base, auth["Authorization"].removeprefix("Bearer "))
        with pytest.raises(BackendRefusedError) as refused:
            await api.get(f"experiences/{ids[0]}", auth="none")
        await api.aclose()
        release.set()
        await holder
        after = await asyncio.gather(*(timed(http, m, p, **kw) for m, p, kw in mixed(auth, ids, 6)))

    slowest = max(t for t, _ in answers)
    statuses = Counter(r.status_code for _, r in answers)
    print(
        f"\nheld ACCESS EXCLUSIVE lock, limit {LIMIT_S:g}s: statuses {dict(statuses)}, "
        f"slowest answer {slowest:.2f}s; after release {Counter(r.status_code for _, r in after)}"
    )
    assert health.status_code == 200
    assert statuses == {503: 12}
    assert slowest <= LIMIT_S + 1.0
    for _, r in answers:
        assert r.headers["retry-after"].isdigit()
        assert f"within {LIMIT_S:g} s" in r.json()["detail"]
    assert all(r.is_success for _, r in after), [r.text for _, r in after]
    assert refused.value.status == 503
    assert refused.value.message.startswith("Plurum is temporarily unavailable (503)")
    assert f"Retry in about {LIMIT_S:g} s." in refused.value.message
    print(f"MCP tool error: {refused.value.message}")


async def test_exhausted_pool_answers_503(instance: MakeInstance) -> None:
    async with (
        instance(db_timeout_s=LIMIT_S, db_pool_size=2) as i,  # 2 + 2 overflow connections
        httpx.AsyncClient(base_url=i.base, timeout=30) as http,
    ):
        _, ids = await seed(http)
        locked, release = asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(hold_lock(i, locked, release))
        await locked.wait()
        reads = [("GET", f"/experiences/{ids[k % 3]}", {}) for k in range(16)]
        answers = await asyncio.gather(*(timed(http, m, p, **kw) for m, p, kw in reads))
        release.set()
        await holder
        after = await asyncio.gather(*(timed(http, m, p, **kw) for m, p, kw in reads[:6]))

    slowest = max(t for t, _ in answers)
    details = Counter(r.json()["detail"].split(";")[0] for _, r in answers)
    print(
        f"\nexhausted pool (4 connections, 16 requests, limit {LIMIT_S:g}s): "
        f"statuses {dict(Counter(r.status_code for _, r in answers))}, "
        f"slowest {slowest:.2f}s, details {dict(details)}"
    )
    assert {r.status_code for _, r in answers} == {503}
    assert any("connection" in d for d in details), details  # the pool's own 503
    # the request deadline bounds the wait for a connection plus the wait for the lock;
    # cancelling the statements of 16 requests at once costs up to a second more here
    assert slowest <= LIMIT_S + 2.0
    assert all(r.is_success for _, r in after)
