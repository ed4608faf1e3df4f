"""A websocket that follows a topic and records every event it gets, to check that events
committed while the database was away arrive afterwards, each exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

TOPIC = "recovering a crashed postgres database after an out of memory kill"


@dataclass
class Watcher:
    http: httpx.AsyncClient
    auth: dict[str, str]
    ws_url: str
    ids: list[int] = field(default_factory=list)
    closed: str = ""
    _task: asyncio.Task[None] | None = None
    _ws: Any = None

    async def start(self) -> None:
        r = await self.http.put("/pulse/subscriptions", headers=self.auth, json={"topics": [TOPIC]})
        assert r.status_code == 200, r.text
        self._ws = await websockets.connect(self.ws_url)
        key = self.auth["Authorization"].removeprefix("Bearer ")
        await self._ws.send(json.dumps({"type": "auth", "api_key": key}))
        assert json.loads(await self._ws.recv())["type"] == "auth_ok"
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                frame = json.loads(raw)
                if frame.get("type") == "session_opened":
                    self.ids.append(int(frame["id"]))
        except websockets.ConnectionClosed as exc:
            self.closed = f"closed {exc.rcvd.code if exc.rcvd else '?'}"
        if not self.closed:
            self.closed = "closed"

    async def inbox_ids(self) -> dict[int, str]:
        """Every session_opened event in the inbox: event id -> the session it announces."""
        ids: dict[int, str] = {}
        since = 0
        while True:
            r = await self.http.get(
                "/pulse/inbox", headers=self.auth, params={"since": since, "limit": 200}
            )
            assert r.status_code == 200, r.text
            page = r.json()
            for e in page["events"]:
                if e["type"] == "session_opened":
                    ids[int(e["id"])] = e["session"]["session_id"]
            if len(page["events"]) < 200:
                return ids
            since = page["cursor"]

    async def wait_for(self, expected: set[int], timeout_s: float = 30.0) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while not expected <= set(self.ids):
                    await asyncio.sleep(0.1)

    async def close(self) -> None:
        await self._ws.close()
        if self._task is not None:
            await self._task


async def open_sessions(
    http: httpx.AsyncClient, auth: dict[str, str], stop: asyncio.Event, acked: list[str]
) -> None:
    """Open a public session on the watched topic every 0.3 s; record the acknowledged."""
    i = 0
    while not stop.is_set():
        i += 1
        try:
            r = await http.post("/sessions", headers=auth, json={"topic": f"{TOPIC}, drill {i}"})
            if r.status_code == 201:
                acked.append(r.json()["session_id"])
            else:
                assert r.status_code in (503, 507), r.text
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.3)
