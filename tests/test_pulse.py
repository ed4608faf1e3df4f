"""The pulse over real websockets: uvicorn on a loopback port, the real database and model."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from websockets.asyncio.client import ClientConnection

from plurum_backend.app import create_app, server_config
from plurum_backend.hub import SEND_QUEUE
from plurum_backend.runtime import Plurum
from tests.conftest import MakePlurum

TOPIC = "Deploy a FastAPI service to AWS ECS Fargate with Docker"
RELATED = "Deploying FastAPI containers on ECS Fargate using Docker images"
UNRELATED = "Bake sourdough bread with a rye starter"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    plurum: Plurum
    http: httpx.AsyncClient
    ws_url: str

    async def agent(self, name: str) -> dict[str, str]:
        r = await self.http.post("/agents/register", json={"name": name, "username": name})
        assert r.status_code == 201, r.text
        body = r.json()
        return {"id": body["id"], "key": body["api_key"]}

    async def post(self, path: str, key: str, body: Any = None) -> httpx.Response:
        return await self.http.post(path, json=body, headers={"Authorization": f"Bearer {key}"})

    @asynccontextmanager
    async def socket(self, key: str | None = None) -> AsyncIterator[ClientConnection]:
        async with websockets.connect(self.ws_url, max_size=None) as ws:
            if key is not None:
                await ws.send(json.dumps({"type": "auth", "api_key": key}))
                assert (await recv(ws))["type"] == "auth_ok"
            yield ws


Serve = Callable[[Plurum], Awaitable[Served]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[tuple[uvicorn.Server, asyncio.Task[None], httpx.AsyncClient]] = []

    async def start(plurum: Plurum) -> Served:
        port = free_port()
        app = create_app(plurum, manage_lifespan=False)
        config = server_config(app, "127.0.0.1", port, "warning")
        config.lifespan = "off"
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.02)
        await asyncio.wait_for(plurum.hub.listening.wait(), 10)
        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30)
        servers.append((server, task, http))
        return Served(plurum, http, f"ws://127.0.0.1:{port}/api/v1/pulse/ws")

    yield start
    for server, task, http in servers:
        await http.aclose()
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@pytest.fixture
async def served(plurum: Plurum, serve: Serve) -> Served:
    return await serve(plurum)


async def recv(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return message


async def recv_type(ws: ClientConnection, kind: str, timeout: float = 5) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            message = await recv(ws, timeout)
            if message["type"] == kind:
                return message


async def nothing_arrives(ws: ClientConnection, wait: float = 1.0) -> None:
    with pytest.raises(TimeoutError):
        got = await asyncio.wait_for(ws.recv(), wait)
        pytest.fail(f"unexpected frame: {got!r}")


async def closed_with(ws: ClientConnection, timeout: float = 5) -> int:
    async with asyncio.timeout(timeout):
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await ws.recv()
    assert ws.close_code is not None
    return ws.close_code


# -- auth ---------------------------------------------------------------------------------


async def test_auth_by_first_frame_and_by_query(served: Served) -> None:
    alice = await served.agent("alice")
    async with websockets.connect(served.ws_url) as ws:
        await ws.send(json.dumps({"type": "auth", "api_key": alice["key"]}))
        assert await recv(ws) == {"type": "auth_ok", "agent_id": alice["id"]}
        await ws.send(json.dumps({"type": "ping"}))
        assert await recv(ws) == {"type": "pong"}
    async with websockets.connect(f"{served.ws_url}?api_key={alice['key']}") as ws:
        assert (await recv(ws))["type"] == "auth_ok"


@pytest.mark.parametrize(
    "first",
    [
        {"type": "auth", "api_key": "plrm_live_" + "x" * 32},
        {"type": "auth", "api_key": 42},
        {"type": "auth"},
        {"type": "ping"},
        "not json",
    ],
)
async def test_bad_auth_closes_4401(served: Served, first: Any) -> None:
    async with websockets.connect(served.ws_url) as ws:
        await ws.send(first if isinstance(first, str) else json.dumps(first))
        error = await recv(ws)
        assert error["type"] == "error" and error["detail"]
        assert await closed_with(ws) == 4401


async def test_bad_query_key_and_silence_close_4401(
    make_plurum: MakePlurum, plurum: Plurum, serve: Serve
) -> None:
    quick = await serve(await make_plurum(pulse_auth_timeout_s=0.3))
    async with websockets.connect(quick.ws_url + "?api_key=plrm_live_nope") as ws:
        assert (await recv(ws))["type"] == "error"
        assert await closed_with(ws) == 4401
    async with websockets.connect(quick.ws_url) as ws:
        assert "seconds" in (await recv(ws))["detail"]
        assert await closed_with(ws) == 4401


# -- who hears what -----------------------------------------------------------------------


async def test_session_opened_reaches_related_agents_only(served: Served) -> None:
    author, related, unrelated, follower = [
        await served.agent(n) for n in ("author1", "related1", "unrelated1", "follower1")
    ]
    await served.post("/sessions", related["key"], {"topic": RELATED})
    await served.post("/sessions", unrelated["key"], {"topic": UNRELATED})
    r = await served.post("/pulse/subscriptions", follower["key"], {"topics": ["AWS ECS deploys"]})
    assert r.status_code == 405  # PUT, not POST
    r = await served.http.put(
        "/pulse/subscriptions",
        json={"topics": ["FastAPI on AWS ECS"]},
        headers={"Authorization": f"Bearer {follower['key']}"},
    )
    assert r.status_code == 200 and r.json() == {"topics": ["FastAPI on AWS ECS"], "redactions": {}}
    async with (
        served.socket(author["key"]) as author_ws,
        served.socket(related["key"]) as related_ws,
        served.socket(unrelated["key"]) as unrelated_ws,
        served.socket(follower["key"]) as follower_ws,
    ):
        opened = await served.post("/sessions", author["key"], {"topic": TOPIC})
        sid = opened.json()["session_id"]
        for ws in (related_ws, follower_ws):
            event = await recv_type(ws, "session_opened")
            assert event["session"]["session_id"] == sid
            assert event["session"]["agent"]["username"] == "author1"
            assert isinstance(event["id"], int) and event["at"]
        await nothing_arrives(author_ws)
        await nothing_arrives(unrelated_ws, 0.3)
        # a private session is announced to no one
        await served.post("/sessions", author["key"], {"topic": TOPIC, "visibility": "private"})
        await nothing_arrives(related_ws)


async def test_session_closed_and_contributions(served: Served) -> None:
    owner, helper = await served.agent("owner2"), await served.agent("helper2")
    await served.post("/sessions", helper["key"], {"topic": RELATED})
    async with served.socket(owner["key"]) as owner_ws, served.socket(helper["key"]) as helper_ws:
        sid = (await served.post("/sessions", owner["key"], {"topic": TOPIC})).json()["session_id"]
        await recv_type(helper_ws, "session_opened")
        # by REST
        r = await served.post(
            f"/sessions/{sid}/contribute",
            helper["key"],
            {"content": {"reasoning": "use awsvpc"}, "contribution_type": "warning"},
        )
        assert r.status_code == 201
        event = await recv_type(owner_ws, "contribution_received")
        assert event["contribution"]["content"] == {"reasoning": "use awsvpc"}
        assert event["from"]["username"] == "helper2" and event["session_id"] == sid
        # by websocket
        await helper_ws.send(
            json.dumps(
                {
                    "type": "contribute",
                    "session_id": sid,
                    "reasoning": "set the ALB target type to ip",
                }
            )
        )
        made = await recv_type(helper_ws, "contributed")
        assert made["contribution"]["contribution_type"] == "suggestion"
        event = await recv_type(owner_ws, "contribution_received")
        assert event["contribution"]["content"]["reasoning"] == "set the ALB target type to ip"
        await helper_ws.send(
            json.dumps({"type": "contribute", "session_id": "nope", "reasoning": "x"})
        )
        assert (await recv_type(helper_ws, "error"))["detail"]
        await served.post(
            f"/sessions/{sid}/entries",
            owner["key"],
            {"entry_type": "breakthrough", "content": {"description": "awsvpc"}},
        )
        closed = (await served.post(f"/sessions/{sid}/close", owner["key"])).json()
        event = await recv_type(helper_ws, "session_closed")
        exp = closed["experience"]
        assert event["experience"] == {
            "short_id": exp["short_id"],
            "slug": exp["slug"],
            "goal": exp["goal"],
        }
        await nothing_arrives(owner_ws, 0.5)


async def test_inbox_catch_up_after_disconnect(served: Served) -> None:
    watcher, author = await served.agent("watcher3"), await served.agent("author3")
    await served.post("/sessions", watcher["key"], {"topic": RELATED})
    auth = {"Authorization": f"Bearer {watcher['key']}"}
    async with served.socket(watcher["key"]) as ws:
        await served.post("/sessions", author["key"], {"topic": TOPIC})
        seen = await recv_type(ws, "session_opened")
    # while disconnected
    for _ in range(3):
        await served.post("/sessions", author["key"], {"topic": TOPIC})
    inbox = (await served.http.get(f"/pulse/inbox?since={seen['id']}", headers=auth)).json()
    assert [e["type"] for e in inbox["events"]] == ["session_opened"] * 3
    ids = [e["id"] for e in inbox["events"]]
    assert ids == sorted(ids) and ids[0] > seen["id"] and inbox["cursor"] == ids[-1]
    assert inbox["unread_count"] == 4
    again = (await served.http.get(f"/pulse/inbox?since={inbox['cursor']}", headers=auth)).json()
    assert again["events"] == [] and again["cursor"] == inbox["cursor"]
    r = await served.http.post("/pulse/inbox/mark-read", json={"event_ids": ids[:2]}, headers=auth)
    assert r.json() == {"marked": 2, "unread_count": 2}
    r = await served.http.post("/pulse/inbox/mark-read", json={"mark_all": True}, headers=auth)
    assert r.json() == {"marked": 2, "unread_count": 0}
    bad = await served.http.post("/pulse/inbox/mark-read", json={}, headers=auth)
    assert bad.status_code == 422
    assert (await served.http.get("/pulse/inbox")).status_code == 401
    assert (await served.http.get("/pulse/inbox?since=-1", headers=auth)).status_code == 400
    # the author's own inbox holds nothing about its own sessions
    own = await served.http.get(
        "/pulse/inbox", headers={"Authorization": f"Bearer {author['key']}"}
    )
    assert own.json()["events"] == []


async def test_status(served: Served) -> None:
    a = await served.agent("status4")
    async with served.socket(a["key"]):
        await served.post("/sessions", a["key"], {"topic": TOPIC})
        await served.post("/sessions", a["key"], {"topic": "hidden", "visibility": "private"})
        status = (await served.http.get("/pulse/status")).json()
    assert status["connected_agents"] == 1
    assert status["active_sessions"]["count"] == 1
    assert [s["topic"] for s in status["active_sessions"]["sessions"]] == [TOPIC]
    assert [e["type"] for e in status["recent_activity"]] == ["session_opened"]


# -- robustness ---------------------------------------------------------------------------


async def test_frame_over_64_kib_closes_1009(served: Served) -> None:
    a = await served.agent("big5")
    async with served.socket(a["key"]) as ws:
        await ws.send(json.dumps({"type": "ping", "pad": "x" * 70_000}))
        assert await closed_with(ws) == 1009


async def test_flood_is_rate_limited_then_closed(served: Served) -> None:
    a = await served.agent("flood6")
    async with served.socket(a["key"]) as ws:
        for _ in range(200):
            await ws.send(json.dumps({"type": "ping"}))
        kinds = []
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(10):
                while True:
                    kinds.append((await recv(ws))["type"])
        assert ws.close_code == 1008
        assert "pong" in kinds and "error" in kinds


class RawSocket:
    """A websocket client with no buffering of its own: it reads only when told to."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, ws_url: str) -> RawSocket:
        host, _, rest = ws_url.removeprefix("ws://").partition("/")
        hostname, _, port = host.partition(":")
        reader, writer = await asyncio.open_connection(hostname, int(port), limit=2**20)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /{rest} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        await reader.readuntil(b"\r\n\r\n")
        return cls(reader, writer)

    def send(self, text: str) -> None:
        payload, mask = text.encode(), os.urandom(4)
        assert len(payload) < 126
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(bytes([0x81, 0x80 | len(payload)]) + mask + masked)

    async def read_slowly(self, chunk: int = 65536, pause: float = 0.005) -> tuple[int, int | None]:
        """Read like a slow consumer until the close frame: (data frames, close code or None)."""
        buffer, frames = bytearray(), 0
        while True:
            data = await self.reader.read(chunk)
            if not data:
                return frames, None
            buffer += data
            while len(buffer) >= 2:
                length, start = buffer[1] & 0x7F, 2
                if length == 126:
                    length, start = struct.unpack("!H", buffer[2:4])[0], 4
                elif length == 127:
                    length, start = struct.unpack("!Q", buffer[2:10])[0], 10
                if len(buffer) < start + length:
                    break
                opcode, payload = buffer[0] & 0x0F, bytes(buffer[start : start + length])
                del buffer[: start + length]
                if opcode == 0x8:
                    return frames, int(struct.unpack("!H", payload[:2])[0])
                frames += 1
            await asyncio.sleep(pause)


async def test_slow_consumer_is_dropped_without_delaying_others(served: Served) -> None:
    slow, fast, author = [await served.agent(n) for n in ("slow7", "fast7", "author7")]
    await served.post("/sessions", fast["key"], {"topic": RELATED})
    async with served.socket(fast["key"]) as fast_ws:
        raw = await RawSocket.connect(served.ws_url)
        raw.send(json.dumps({"type": "auth", "api_key": slow["key"]}))
        async with asyncio.timeout(5):
            while not served.plurum.hub.connections_of(uuid.UUID(slow["id"])):
                await asyncio.sleep(0.02)
        (conn,) = served.plurum.hub.connections_of(uuid.UUID(slow["id"]))
        reader = asyncio.create_task(raw.read_slowly())  # at most ~13 MB/s
        big = {"type": "bulk", "pad": "x" * 100_000}
        offered = 0
        async with asyncio.timeout(30):
            while conn.offer(big):  # ~100 MB/s: the queue fills
                offered += 1
                await asyncio.sleep(0.001)
        assert offered >= SEND_QUEUE
        started = asyncio.get_running_loop().time()
        await served.post("/sessions", author["key"], {"topic": TOPIC})
        await recv_type(fast_ws, "session_opened")
        assert asyncio.get_running_loop().time() - started < 5
        assert conn.close_with is not None and conn.close_with[0] == 1013
        # the slow peer gets what was in flight, then the 1013 close, never the queued rest
        frames, code = await asyncio.wait_for(reader, 30)
        assert code == 1013
        assert frames < offered
        raw.writer.close()
        assert served.plurum.hub.connections_of(uuid.UUID(slow["id"])) == []


async def test_key_rotation_closes_old_sockets(served: Served) -> None:
    a = await served.agent("rotate8")
    async with served.socket(a["key"]) as ws:
        r = await served.post("/agents/me/rotate-key", a["key"])
        new_key = r.json()["api_key"]
        error = await recv_type(ws, "error")
        assert "rotated" in error["detail"]
        assert await closed_with(ws) == 4401
    async with served.socket(new_key) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv(ws))["type"] == "pong"


async def test_events_cross_replicas(make_plurum: MakePlurum, plurum: Plurum, serve: Serve) -> None:
    one = await serve(plurum)
    two = await serve(await make_plurum())
    author, watcher = await one.agent("author9"), await two.agent("watcher9")
    await two.post("/sessions", watcher["key"], {"topic": RELATED})
    async with two.socket(watcher["key"]) as ws:
        sid = (await one.post("/sessions", author["key"], {"topic": TOPIC})).json()["session_id"]
        event = await recv_type(ws, "session_opened")
        assert event["session"]["session_id"] == sid
        await ws.send(json.dumps({"type": "contribute", "session_id": sid, "reasoning": "hi"}))
        await recv_type(ws, "contributed")
    async with one.socket(author["key"]) as ws:
        inbox = await one.http.get(
            "/pulse/inbox", headers={"Authorization": f"Bearer {author['key']}"}
        )
        assert [e["type"] for e in inbox.json()["events"]] == ["contribution_received"]
        # and a rotation on replica one closes a socket held by replica two
    async with two.socket(author["key"]) as ws:
        await one.post("/agents/me/rotate-key", author["key"])
        assert await closed_with(ws) == 4401


async def test_backend_restart_loses_no_event(
    make_plurum: MakePlurum, plurum: Plurum, serve: Serve
) -> None:
    first = await serve(plurum)
    watcher, author = await first.agent("watcher10"), await first.agent("author10")
    await first.post("/sessions", watcher["key"], {"topic": RELATED})
    async with first.socket(watcher["key"]) as ws:
        await first.post("/sessions", author["key"], {"topic": TOPIC})
        cursor = (await recv_type(ws, "session_opened"))["id"]
        await plurum.hub.stop()  # the server goes away: the client is disconnected
        assert await closed_with(ws) == 1001
    # events keep happening on another replica while the client is away
    second = await serve(await make_plurum())
    await second.post("/sessions", author["key"], {"topic": TOPIC})
    async with second.socket(watcher["key"]) as ws:
        auth = {"Authorization": f"Bearer {watcher['key']}"}
        missed = (await second.http.get(f"/pulse/inbox?since={cursor}", headers=auth)).json()
        assert [e["type"] for e in missed["events"]] == ["session_opened"]
        new = await second.post("/sessions", author["key"], {"topic": TOPIC})
        # an event may arrive both live and in the inbox around a reconnect: dedupe by id
        async with asyncio.timeout(5):
            while (live := await recv_type(ws, "session_opened"))["id"] <= missed["cursor"]:
                pass
        assert live["session"]["session_id"] == new.json()["session_id"]
