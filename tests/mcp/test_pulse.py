"""A pulse event published in the backend reaches the MCP client: as notifications, as a
resource update, as a Claude Code channel message, in other tools' hints, and via ``pulse``.

The event is real: Bob contributes to Alice's open session through the REST API, the backend
records it for Alice, and Alice's MCP server hears it on its websocket (or its inbox poll).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import httpx
import pytest
from mcp.client.extension import ClientExtension, NotificationBinding
from mcp.shared.subscriptions import ResourceUpdated
from mcp.types import LoggingMessageNotificationParams, ResourceUpdatedNotification
from pydantic import BaseModel
from starlette.applications import Starlette

from plurum_mcp.pulse import CHANNEL_CAPABILITY, PULSE_URI, PulseSocket
from plurum_mcp.pulse.listener import ListenerState
from plurum_mcp.server import PlurumMCP
from tests.conftest import Agent, Register
from tests.mcp.asgi_ws import asgi_websocket_connector
from tests.mcp.conftest import MakeMCP, backend_has, connect
from tests.mcp.test_tools import call, text_of


@pytest.fixture(autouse=True)
def _needs_backend_pulse(backend_app: Starlette) -> None:
    if not backend_has(backend_app, "/api/v1/pulse/inbox"):
        pytest.skip("the backend has no pulse yet (GET /api/v1/pulse/inbox)")


class ChannelParams(BaseModel):
    content: str
    meta: dict[str, str] = {}


class ChannelListener(ClientExtension):
    """What Claude Code does with channel notifications, reduced to recording them."""

    identifier = "test.plurum/channel-listener"

    def __init__(self, received: list[ChannelParams], arrived: anyio.Event) -> None:
        self.received, self.arrived = received, arrived

    def notifications(self) -> Sequence[NotificationBinding[Any]]:
        async def handle(params: ChannelParams) -> None:
            self.received.append(params)
            self.arrived.set()

        return [
            NotificationBinding(
                method="notifications/claude/channel", params_type=ChannelParams, handler=handle
            )
        ]


async def listening(app: PlurumMCP, state: ListenerState = "connected") -> None:
    with anyio.fail_after(5):
        await app.hub.listener.wait_for_state(state)


async def contribute(client: httpx.AsyncClient, sender: Agent, session_id: str) -> None:
    r = await client.post(
        f"/sessions/{session_id}/contribute",
        headers=sender.headers,
        json={"contribution_type": "warning", "content": {"reasoning": "Pin the base image"}},
    )
    assert r.status_code == 201, r.text


async def test_a_backend_event_reaches_a_2025_client_every_way(
    make_mcp: MakeMCP, register: Register, client: httpx.AsyncClient
) -> None:
    alice, bob = await register("alice"), await register("bob")
    app = await make_mcp(alice, channels=True)
    logs: list[LoggingMessageNotificationParams] = []
    channel: list[ChannelParams] = []
    got_log, got_update, got_channel = anyio.Event(), anyio.Event(), anyio.Event()

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        if params.logger == "plurum.pulse":
            logs.append(params)
            got_log.set()

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification) and message.params.uri == PULSE_URI:
            got_update.set()

    async with connect(
        app,
        "legacy",
        logging_callback=on_log,
        message_handler=on_message,
        extensions=[ChannelListener(channel, got_channel)],
    ) as a:
        capabilities = a.session.server_capabilities
        assert capabilities is not None and capabilities.experimental == {CHANNEL_CAPABILITY: {}}
        assert capabilities.resources is not None and capabilities.resources.subscribe is True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await a.subscribe_resource(PULSE_URI)
        sid = (await call(a, "open_session", topic="Containerize a Django app"))["session_id"]
        await listening(app)

        await contribute(client, bob, sid)
        with anyio.fail_after(5):
            await got_log.wait()
            await got_update.wait()
            await got_channel.wait()
        event = logs[0].data
        assert logs[0].level == "info" and event["type"] == "contribution_received"
        assert channel[0].meta["event_type"] == "contribution_received"
        assert "untrusted" in channel[0].content

        # Hosts rarely show notifications to the model: other tools carry a hint.
        hinted = await a.call_tool("list_sessions", {})
        assert "1 new event waiting (contribution_received x1)" in text_of(hinted)

        read = await call(a, "pulse")
        assert [e["type"] for e in read["events"]] == ["contribution_received"]
        assert read["listener"] == "connected" and read["trust"]["third_party"] is True
        assert "pulse" not in text_of(await a.call_tool("list_sessions", {})).lower()
        assert (await call(a, "pulse"))["events"] == []

        resource = await a.read_resource(PULSE_URI)
        assert '"contribution_received"' in resource.contents[0].text  # type: ignore[union-attr]


async def test_a_2026_client_hears_it_on_subscriptions_listen(
    make_mcp: MakeMCP, register: Register, client: httpx.AsyncClient
) -> None:
    alice, bob = await register("alice"), await register("bob")
    app = await make_mcp(alice)
    async with connect(app, "2026-07-28") as a:
        sid = (await call(a, "open_session", topic="Containerize a Django app"))["session_id"]
        await listening(app)
        async with a.listen(resource_subscriptions=[PULSE_URI]) as subscription:
            await contribute(client, bob, sid)
            with anyio.fail_after(5):
                event = await subscription.__aiter__().__anext__()
        assert event == ResourceUpdated(uri=PULSE_URI)
        read = await call(a, "pulse")
        assert [e["type"] for e in read["events"]] == ["contribution_received"]


async def test_without_a_websocket_the_inbox_is_polled(
    make_mcp: MakeMCP, register: Register, client: httpx.AsyncClient
) -> None:
    alice, bob = await register("alice"), await register("bob")
    app: PlurumMCP = await make_mcp(alice, websocket=False)
    got = anyio.Event()

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        got.set()

    async with connect(app, "legacy", logging_callback=on_log) as a:
        sid = (await call(a, "open_session", topic="Containerize a Django app"))["session_id"]
        await listening(app, "polling")
        await contribute(client, bob, sid)
        with anyio.fail_after(5):
            await got.wait()
        assert app.hub.pending == 1


async def test_events_from_before_the_server_started_are_waiting(
    make_mcp: MakeMCP, register: Register, client: httpx.AsyncClient
) -> None:
    alice, bob = await register("alice"), await register("bob")
    r = await client.post("/sessions", headers=alice.headers, json={"topic": "Tune Postgres"})
    sid = r.json()["session_id"]
    await contribute(client, bob, sid)
    app = await make_mcp(alice)
    async with connect(app) as a:
        await listening(app)
        hint = text_of(await a.call_tool("list_sessions", {}))
        assert "1 new event waiting (1 from before this session)" in hint
        read = await call(a, "pulse")
        assert [e["type"] for e in read["events"]] == ["contribution_received"]
        assert "@bob sent a warning" in text_of(await a.call_tool("pulse", {"since": 0}))
        assert "pulse" not in text_of(await a.call_tool("list_sessions", {})).lower()


class FlakyConnector:
    """The backend's real websocket, except the first connection drops right after auth and
    reconnecting is refused until the test allows it (events sent meanwhile must not be lost)."""

    def __init__(self, app: Starlette) -> None:
        self.inner = asgi_websocket_connector(app)
        self.connections = 0
        self.reconnect = anyio.Event()

    @contextlib.asynccontextmanager
    async def __call__(self, url: str) -> AsyncIterator[PulseSocket]:
        self.connections += 1
        if self.connections == 1:
            async with self.inner(url) as socket:
                yield DropAfterAuth(socket)
            return
        if not self.reconnect.is_set():
            raise ConnectionRefusedError("the test keeps the websocket down")
        async with self.inner(url) as socket:
            yield socket


class DropAfterAuth:
    def __init__(self, socket: PulseSocket) -> None:
        self.socket, self.frames = socket, 0

    async def send(self, message: str) -> None:
        await self.socket.send(message)

    async def recv(self) -> str | bytes:
        self.frames += 1
        if self.frames > 1:
            raise ConnectionResetError("dropped")
        return await self.socket.recv()


async def test_a_dropped_websocket_reconnects_and_loses_nothing(
    make_mcp: MakeMCP, register: Register, client: httpx.AsyncClient, backend_app: Starlette
) -> None:
    alice, bob = await register("alice"), await register("bob")
    app = await make_mcp(alice)
    flaky = FlakyConnector(backend_app)
    app.hub.listener.connector = flaky
    logs: list[LoggingMessageNotificationParams] = []
    first, second = anyio.Event(), anyio.Event()

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        logs.append(params)
        (second if first.is_set() else first).set()

    async with connect(app, "legacy", logging_callback=on_log) as a:
        sid = (await call(a, "open_session", topic="Containerize a Django app"))["session_id"]
        await listening(app, "polling")
        await contribute(client, bob, sid)  # while the socket is down: the inbox poll finds it
        with anyio.fail_after(5):
            await first.wait()
        flaky.reconnect.set()
        await listening(app, "connected")
        await contribute(client, bob, sid)  # on the new socket
        with anyio.fail_after(5):
            await second.wait()
        read = await call(a, "pulse")
    assert flaky.connections >= 3
    assert len(logs) == 2 and len({log.data["id"] for log in logs}) == 2
    assert len(read["events"]) == 2


async def test_log_level_filters_pulse_messages_but_not_resource_updates(
    make_mcp: MakeMCP, register: Register, client: httpx.AsyncClient
) -> None:
    alice, bob = await register("alice"), await register("bob")
    app = await make_mcp(alice)
    logs: list[LoggingMessageNotificationParams] = []
    updated = anyio.Event()

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        logs.append(params)

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updated.set()

    async with connect(app, "legacy", logging_callback=on_log, message_handler=on_message) as a:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await a.set_logging_level("warning")
            await a.subscribe_resource(PULSE_URI)
        sid = (await call(a, "open_session", topic="Containerize a Django app"))["session_id"]
        await listening(app)
        await contribute(client, bob, sid)
        with anyio.fail_after(5):
            await updated.wait()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await a.unsubscribe_resource(PULSE_URI)
    assert logs == []
