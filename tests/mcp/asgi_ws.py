"""A websocket client that talks to an ASGI app in-process, the way httpx.ASGITransport does HTTP.

It drives the app's real websocket handler (the backend's ``/pulse/ws``) on the test's event
loop, so the MCP server's pulse listener is tested against the real backend without a
network. It satisfies ``plurum_mcp.pulse.PulseSocket``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message


class SocketClosed(ConnectionError):
    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"websocket closed ({code}) {reason}".strip())
        self.code = code


class ASGIWebSocket:
    def __init__(self, to_app: asyncio.Queue[Message], from_app: asyncio.Queue[Message]) -> None:
        self._to_app = to_app
        self._from_app = from_app
        self.closed: SocketClosed | None = None

    async def send(self, message: str) -> None:
        if self.closed:
            raise self.closed
        await self._to_app.put({"type": "websocket.receive", "text": message})

    async def recv(self) -> str | bytes:
        if self.closed:
            raise self.closed
        message = await self._from_app.get()
        if message["type"] == "websocket.send":
            text = message.get("text")
            return text if text is not None else bytes(message.get("bytes") or b"")
        if message["type"] == "websocket.close":
            self.closed = SocketClosed(int(message.get("code", 1000)), message.get("reason") or "")
            raise self.closed
        raise SocketClosed(1011, f"unexpected ASGI message {message['type']}")


def asgi_websocket_connector(
    app: ASGIApp,
) -> Callable[[str], AbstractAsyncContextManager[ASGIWebSocket]]:
    @contextlib.asynccontextmanager
    async def connect(url: str) -> AsyncIterator[ASGIWebSocket]:
        parts = urlsplit(url)
        scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "wss" if parts.scheme == "wss" else "ws",
            "path": parts.path,
            "raw_path": parts.path.encode(),
            "root_path": "",
            "query_string": parts.query.encode(),
            "headers": [(b"host", (parts.netloc or "testserver").encode())],
            "client": ("127.0.0.1", 50000),
            "server": (parts.hostname or "testserver", parts.port or 80),
            "subprotocols": [],
            "state": {},
        }
        to_app: asyncio.Queue[Message] = asyncio.Queue()
        from_app: asyncio.Queue[Message] = asyncio.Queue()

        async def run_app() -> None:
            await app(scope, to_app.get, from_app.put)

        task = asyncio.create_task(run_app())
        try:
            await to_app.put({"type": "websocket.connect"})
            first = await from_app.get()
            if first["type"] != "websocket.accept":
                raise SocketClosed(int(first.get("code", 1006)), "connection refused by the app")
            yield ASGIWebSocket(to_app, from_app)
        finally:
            await to_app.put({"type": "websocket.disconnect", "code": 1000})
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(task, 2)
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    return connect
