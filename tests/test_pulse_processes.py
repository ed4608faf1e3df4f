"""The pulse across two backend *processes* on one database: `plurum serve` (a subprocess)
and this process's app. Events written by one reach sockets held by the other through
PostgreSQL LISTEN/NOTIFY, and a key rotated on one closes the sockets the other holds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from plurum_backend.runtime import Plurum
from plurum_backend.store.database import Database
from tests import serving
from tests.test_pulse import RELATED, TOPIC


async def register(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await http.post("/agents/register", json={"name": username, "username": username})
    assert r.status_code == 201, r.text
    key = r.json()["api_key"]
    return {"key": key, "auth": f"Bearer {key}"}


async def frame_of_type(ws: websockets.ClientConnection, kind: str) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(10):
            while True:
                message: dict[str, Any] = json.loads(await ws.recv())
                if message["type"] == kind:
                    return message
                seen.append(message)
    except TimeoutError:
        raise AssertionError(f"no {kind!r} frame; got {seen}") from None


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/pulse/ws"


async def authed(base: str, key: str) -> websockets.ClientConnection:
    ws = await websockets.connect(ws_url(base))
    await ws.send(json.dumps({"type": "auth", "api_key": key}))
    assert json.loads(await ws.recv())["type"] == "auth_ok"
    return ws


@pytest.fixture
async def served(plurum: Plurum, database: Database, tmp_path: Path) -> AsyncIterator[str]:
    """`plurum serve` started after this test's database reset (its event cursor is current)."""
    server = await asyncio.to_thread(serving.start, database, tmp_path / "subprocess")
    yield server.base
    await asyncio.to_thread(server.stop)


async def test_events_and_rotation_cross_processes(served: str, plurum: Plurum) -> None:
    async with (
        serving.in_process(plurum) as local,
        httpx.AsyncClient(base_url=served) as remote_http,
        httpx.AsyncClient(base_url=local) as local_http,
    ):
        author = await register(remote_http, "xprocauthor")
        watcher = await register(local_http, "xprocwatcher")
        r = await local_http.post(
            "/sessions", headers={"Authorization": watcher["auth"]}, json={"topic": RELATED}
        )
        assert r.status_code == 201, r.text

        author_ws = await authed(served, author["key"])  # held by the subprocess
        watcher_ws = await authed(local, watcher["key"])  # held by this process
        try:
            # written by the subprocess, delivered by this process
            r = await remote_http.post(
                "/sessions", headers={"Authorization": author["auth"]}, json={"topic": TOPIC}
            )
            assert r.status_code == 201, r.text
            sid = r.json()["session_id"]
            opened = await frame_of_type(watcher_ws, "session_opened")
            assert opened["session"]["session_id"] == sid

            # written by this process, delivered by the subprocess
            await watcher_ws.send(
                json.dumps({"type": "contribute", "session_id": sid, "reasoning": "use awsvpc"})
            )
            await frame_of_type(watcher_ws, "contributed")
            received = await frame_of_type(author_ws, "contribution_received")
            assert received["contribution"]["content"] == {"reasoning": "use awsvpc"}

            # a rotation answered by this process closes the socket the subprocess holds
            r = await local_http.post(
                "/agents/me/rotate-key", headers={"Authorization": author["auth"]}
            )
            assert r.status_code == 200, r.text
            async with asyncio.timeout(10):
                await author_ws.wait_closed()
            assert author_ws.close_code == 4401
        finally:
            await author_ws.close()
            await watcher_ws.close()
