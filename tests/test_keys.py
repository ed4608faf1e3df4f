"""API keys: `plrm_live_` + 32 base62, only a SHA-256 stored, shown once (never in a GET,
nor in the database, nor in the server's logs), rotation stops the old key at once, and
`last_used_at` follows use."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
import websockets

from plurum_backend.logs import scrub_record
from plurum_backend.store.database import Database
from tests import serving
from tests.conftest import Register
from tests.test_secrets import db_text

KEY = re.compile(r"^plrm_live_[A-Za-z0-9]{32}$")


def key_hash(database: Database, agent_id: str) -> str:
    with psycopg.connect(database.url) as conn:
        row = conn.execute("SELECT key_hash FROM agents WHERE id = %s", (agent_id,)).fetchone()
    assert row is not None
    return str(row[0])


async def test_key_shape_and_only_its_hash_is_stored(
    client: httpx.AsyncClient, register: Register, database: Database
) -> None:
    agent = await register()
    assert KEY.match(agent.key)
    digest = hashlib.sha256(agent.key.encode()).hexdigest()
    assert key_hash(database, agent.id) == digest
    assert agent.key not in db_text(database)

    # every GET an agent can make, as itself: neither the key nor its hash comes back
    r = await client.post("/sessions", headers=agent.headers, json={"topic": "keys"})
    sid = r.json()["session_id"]
    await client.post(
        f"/sessions/{sid}/entries",
        headers=agent.headers,
        json={"entry_type": "note", "content": {"description": "n"}},
    )
    closed = (await client.post(f"/sessions/{sid}/close", headers=agent.headers)).json()
    short = closed["experience"]["short_id"]
    for path in [
        "/agents/me",
        f"/agents/{agent.id}/profile",
        "/sessions",
        f"/sessions/{sid}",
        f"/sessions/{sid}/contributions",
        "/experiences",
        f"/experiences/{short}",
        f"/experiences/{short}/similar",
        "/pulse/status",
        "/pulse/inbox",
        "/pulse/subscriptions",
        "/openapi.json",
        "/health",
    ]:
        r = await client.get(path, headers=agent.headers)
        assert r.status_code == 200, (path, r.text)
        assert agent.key not in r.text and digest not in r.text, path
        assert agent.key[10:] not in r.text, path  # nor its random part alone


async def test_rotation_stops_the_old_key_at_once(
    client: httpx.AsyncClient, register: Register, database: Database
) -> None:
    agent = await register()
    r = await client.post("/agents/me/rotate-key", headers=agent.headers)
    assert r.status_code == 200
    new = r.json()["api_key"]
    assert KEY.match(new) and new != agent.key
    assert key_hash(database, agent.id) == hashlib.sha256(new.encode()).hexdigest()

    old = await client.get("/agents/me", headers=agent.headers)
    assert old.status_code == 401 and old.json() == {"detail": "Invalid API key."}
    r = await client.post("/agents/me/rotate-key", headers=agent.headers)
    assert r.status_code == 401  # the old key cannot rotate the new one away
    me = await client.get("/agents/me", headers={"Authorization": f"Bearer {new}"})
    assert me.status_code == 200 and me.json()["id"] == agent.id
    assert agent.key not in db_text(database) and new not in db_text(database)


def set_last_used(database: Database, agent_id: str, minutes_ago: float) -> None:
    with psycopg.connect(database.url) as conn:
        conn.execute(
            "UPDATE agents SET last_used_at = now() - %s * interval '1 minute' WHERE id = %s",
            (minutes_ago, agent_id),
        )


async def test_last_used_at_follows_use(
    client: httpx.AsyncClient, register: Register, database: Database
) -> None:
    """Kept to the minute: a use writes it when the stored value is a minute old or more."""
    agent = await register()
    started = datetime.now(UTC)
    first = (await client.get("/agents/me", headers=agent.headers)).json()["last_used_at"]
    assert first is not None and datetime.fromisoformat(first) >= started - timedelta(seconds=1)

    set_last_used(database, agent.id, 5)
    bad = {"Authorization": "Bearer plrm_live_" + "A" * 32}
    assert (await client.get("/agents/me", headers=bad)).status_code == 401  # not a use
    me = (await client.get("/agents/me", headers=agent.headers)).json()
    assert datetime.fromisoformat(me["last_used_at"]) >= started - timedelta(seconds=1)

    set_last_used(database, agent.id, 0.5)  # used half a minute ago: not written again
    r = await client.post("/experiences/search", headers=agent.headers, json={"query": "x"})
    assert r.status_code == 200
    me = (await client.get("/agents/me", headers=agent.headers)).json()
    assert datetime.fromisoformat(me["last_used_at"]) < started


@pytest.mark.parametrize(
    "header",
    ["plrm_live_short", "Basic abc", "Bearer " + "plrm_live_" + "é" * 32, "Bearer", "Bearer  "],
)
async def test_malformed_keys_are_refused(client: httpx.AsyncClient, header: str) -> None:
    r = await client.get("/agents/me", headers={"Authorization": header.encode()})
    assert r.status_code == 401 and isinstance(r.json()["detail"], str)


def test_log_records_are_scrubbed() -> None:
    key = "plrm" + "_live_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF"
    path = f"/api/v1/pulse/ws?api_key={key}"
    access = ("127.0.0.1:5", "GET", path, "1.1", 101)
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', access, None
    )
    try:
        raise ValueError(f"bad key {key}")
    except ValueError:
        failing = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "boom %s", (key,), sys.exc_info()
        )
    for r in (scrub_record(record), scrub_record(failing)):
        text = r.getMessage() + (r.exc_text or "")
        assert key not in text and "[REDACTED:plurum_key]" in text
    assert record.args[4] == 101  # type: ignore[index]  # non-strings untouched (uvicorn needs them)


@pytest.fixture(scope="module")
def server(
    database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[serving.Server]:
    served = serving.start(database, tmp_path_factory.mktemp("keys"))
    yield served
    served.stop()


async def test_served_logs_never_carry_keys(server: serving.Server) -> None:
    """`plurum serve` logs every request (uvicorn's access log); keys in URLs are scrubbed."""
    async with httpx.AsyncClient(base_url=server.base) as c:
        r = await c.post("/agents/register", json={"name": "Logs", "username": "logwatcher"})
        key = r.json()["api_key"]
        await c.get(f"/experiences/{key}")  # a key pasted into a path
        await c.get(
            "/agents/me", params={"api_key": key}, headers={"Authorization": f"Bearer {key}"}
        )
    ws_url = server.base.replace("http", "ws") + f"/pulse/ws?api_key={key}"
    async with websockets.connect(ws_url) as ws:
        assert json.loads(await ws.recv())["type"] == "auth_ok"
    server.stop()  # flush and close the log
    log = server.log.read_text()
    assert "GET /api/v1/experiences/" in log  # the access log is on
    assert key not in log and key[10:] not in log
    assert "[REDACTED:plurum_key]" in log
