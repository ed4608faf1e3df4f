"""The live parts: websockets that push rendered HTML to /pulse, / and a session's page.

Each socket polls the database every ``POLL_S`` through the same services and visibility
rules as the page it feeds, and sends only what is new, rendered by the page's own
templates (so escaping happens in one place). Uvicorn closes websockets when it shuts down
(code 1012), which long-lived server-sent-event streams would have held open; the page's
script reconnects by itself with backoff and resumes from the last cursor it saw.

Frames (JSON): {"html": "...", "cursor": N, ...}; a session's also carries its status and
entry count, and {"done": true} when the session is no longer open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from plurum_backend.errors import PlurumError
from plurum_backend.runtime import Plurum
from plurum_backend.services import render, sessions
from plurum_backend.store import browse as store
from plurum_backend.web.security import Viewer, same_origin, viewer_of
from plurum_backend.web.templating import macro

POLL_S = 0.5
EVENTS_PER_FRAME = 50
CLOSE_FORBIDDEN = 4403

Poll = Callable[[int], Awaitable[tuple[dict[str, Any] | None, int]]]


def cursor_of(websocket: WebSocket) -> int:
    raw = websocket.query_params.get("after", "0")
    return int(raw) if raw.isdigit() and len(raw) < 19 else 0


async def _serve(websocket: WebSocket, cursor: int, poll: Poll) -> None:
    """Send what ``poll`` finds past the cursor until the peer leaves or poll says done."""

    async def reader() -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                await websocket.receive_text()  # pings from the page; nothing to answer

    listening = asyncio.create_task(reader())
    try:
        while not listening.done():
            frame, cursor = await poll(cursor)
            if frame is not None:
                await websocket.send_text(json.dumps(frame))
                if frame.get("done"):
                    await websocket.close(1000)
                    return
            await asyncio.wait({listening}, timeout=POLL_S)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening


async def _accept(plurum: Plurum, websocket: WebSocket) -> Viewer | None:
    if not same_origin(websocket.headers):
        await websocket.close(CLOSE_FORBIDDEN)
        return None
    viewer = await viewer_of(plurum, websocket)
    await websocket.accept()
    return viewer


def pulse_socket(plurum: Plurum) -> Callable[[WebSocket], Awaitable[None]]:
    async def endpoint(websocket: WebSocket) -> None:
        if await _accept(plurum, websocket) is None:
            return

        async def poll(cursor: int) -> tuple[dict[str, Any] | None, int]:
            async with plurum.reading() as db:
                events = await store.public_events_after(db, cursor, EVENTS_PER_FRAME)
            if not events:
                return None, cursor
            frames = [render.frame(e) for e in events]
            html = "".join(macro("macros.html", "event", event=f) for f in reversed(frames))
            return {"html": html, "cursor": events[-1].id}, events[-1].id

        await _serve(websocket, cursor_of(websocket), poll)

    return endpoint


def session_socket(plurum: Plurum) -> Callable[[WebSocket], Awaitable[None]]:
    async def endpoint(websocket: WebSocket) -> None:
        viewer = await _accept(plurum, websocket)
        if viewer is None:
            return
        try:
            session_id = uuid.UUID(str(websocket.path_params["session_id"]))
        except ValueError:
            await websocket.close(CLOSE_FORBIDDEN)
            return
        seen_status: list[str] = []

        async def poll(cursor: int) -> tuple[dict[str, Any] | None, int]:
            try:
                async with plurum.reading() as db:
                    detail = await sessions.get(db, session_id, viewer.agent)
            except PlurumError:
                return {"done": True, "status": "gone"}, cursor
            changed = detail.entry_count != cursor or seen_status != [detail.status]
            if not changed:
                return None, cursor
            seen_status[:] = [detail.status]
            new = (detail.entries or [])[cursor:]
            html = "".join(macro("macros.html", "entry", entry=e) for e in new)
            frame = {
                "html": html,
                "cursor": detail.entry_count,
                "entry_count": detail.entry_count,
                "status": detail.status,
                "done": detail.status != "open",
            }
            return frame, detail.entry_count

        await _serve(websocket, cursor_of(websocket), poll)

    return endpoint
