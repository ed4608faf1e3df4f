"""/pulse: the websocket, the inbox, subscriptions and the public status.

Websocket protocol (JSON text frames):
  in:  auth {api_key} (first frame, within 10 s; or ?api_key= on the URL, which leaks into
       logs and proxies, so prefer the frame), contribute {session_id, reasoning},
       subscribe {topics}, ping
  out: auth_ok {agent_id}, session_opened, session_closed, contribution_received,
       contributed, subscribed, pong, error {detail}
Close codes: 4401 bad or missing key (or key rotated), 1009 frame over 64 KiB, 1008 flood,
1013 too slow to keep up (or the database was unavailable during auth: reconnect later),
1001 server shutting down. An authenticated socket stays open while the database restarts
(frames that need it answer an error frame); events committed meanwhile arrive once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

from pydantic import Field, ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from plurum_backend import schemas as s
from plurum_backend.api.endpoint import Call, Endpoint
from plurum_backend.api.queries import Query
from plurum_backend.errors import InsufficientStorage, PlurumError, Unavailable
from plurum_backend.hub import CLOSE_AUTH, Connection
from plurum_backend.runtime import Plurum
from plurum_backend.services import agents, pulse, sessions
from plurum_backend.store.models import Agent

MAX_FRAME_BYTES = 64 * 1024
RATE_PER_S = 10.0
RATE_BURST = 30.0
MAX_DROPPED = 100
CLOSE_TOO_BIG = 1009
CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN = 1013  # the database is away: the socket closes, reconnecting later works


class InboxQuery(Query):
    since: int = Field(default=0, ge=0, le=2**63 - 1)  # event ids are PostgreSQL bigints
    limit: int = Field(default=50, ge=1, le=200)


async def inbox(call: Call) -> s.InboxResponse:
    return await pulse.inbox(call.tx.db, call.me, call.query.since, call.query.limit)


async def mark_read(call: Call) -> s.MarkReadResponse:
    return await pulse.mark_read(call.tx, call.me, call.body)


async def put_subscriptions(call: Call) -> s.SubscriptionsResponse:
    return await pulse.subscribe(call.plurum, call.tx, call.me, call.body.topics)


async def get_subscriptions(call: Call) -> s.SubscriptionsResponse:
    return await pulse.subscriptions(call.tx.db, call.me)


async def status(call: Call) -> s.PulseStatus:
    return await pulse.status(call.tx.db, call.plurum.hub.connected_agents)


ENDPOINTS = [
    Endpoint(
        "GET", "/pulse/status", status, "Connected agents, active sessions, activity", s.PulseStatus
    ),
    Endpoint(
        "GET",
        "/pulse/inbox",
        inbox,
        "Your pulse events since a cursor",
        s.InboxResponse,
        auth="required",
        query=InboxQuery,
    ),
    Endpoint(
        "POST",
        "/pulse/inbox/mark-read",
        mark_read,
        "Mark inbox events read",
        s.MarkReadResponse,
        auth="required",
        body=s.MarkReadRequest,
        limit="writes",
    ),
    Endpoint(
        "GET",
        "/pulse/subscriptions",
        get_subscriptions,
        "Your followed topics",
        s.SubscriptionsResponse,
        auth="required",
    ),
    Endpoint(
        "PUT",
        "/pulse/subscriptions",
        put_subscriptions,
        "Follow topics without an open session (replaces the list)",
        s.SubscriptionsResponse,
        auth="required",
        body=s.SubscriptionsRequest,
        limit="writes",
    ),
]


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens = rate, burst, burst
        self.last = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


async def _authenticate(plurum: Plurum, websocket: WebSocket) -> Agent | None:
    key = websocket.query_params.get("api_key")
    if key is None:
        try:
            timeout = plurum.settings.pulse_auth_timeout_s
            first = await asyncio.wait_for(websocket.receive_text(), timeout)
            message = json.loads(first)
        except TimeoutError:
            await _refuse(websocket, f"No auth frame within {timeout:g} seconds.")
            return None
        except (ValueError, KeyError):
            await _refuse(websocket, 'The first frame must be {"type": "auth", "api_key": ...}.')
            return None
        if not isinstance(message, dict) or message.get("type") != "auth":
            await _refuse(websocket, 'The first frame must be {"type": "auth", "api_key": ...}.')
            return None
        key = message.get("api_key")
    if not isinstance(key, str):
        await _refuse(websocket, "api_key must be a string.")
        return None
    try:
        async with plurum.transaction() as tx:
            return await agents.authenticate(tx, key)
    except (Unavailable, InsufficientStorage) as exc:  # not the key's fault: come back soon
        await _refuse(websocket, exc.message, CLOSE_TRY_AGAIN, "try again later", exc.retry_after)
        return None
    except PlurumError as exc:
        await _refuse(websocket, exc.message)
        return None


async def _refuse(
    websocket: WebSocket,
    detail: str,
    code: int = CLOSE_AUTH,
    reason: str = "unauthorized",
    retry_after: int | None = None,
) -> None:
    frame: dict[str, Any] = {"type": "error", "detail": detail}
    if retry_after is not None:  # not a refusal: the client should reconnect after this
        frame["retry_after"] = retry_after
    with contextlib.suppress(Exception):
        await websocket.send_text(json.dumps(frame))
        await websocket.close(code, reason)


async def _handle(plurum: Plurum, agent: Agent, message: Any) -> dict[str, Any]:
    """One incoming frame (already authenticated) -> the reply frame."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return {"type": "error", "detail": "Each frame must be a JSON object with a type."}
    kind = message["type"]
    if kind == "ping":
        return {"type": "pong"}
    if kind == "auth":
        return {"type": "error", "detail": "Already authenticated."}
    try:
        if kind == "contribute":
            reasoning = message.get("reasoning")
            try:
                session_id = uuid.UUID(str(message.get("session_id")))
            except ValueError:
                return {"type": "error", "detail": "session_id must be a UUID."}
            if not isinstance(reasoning, str) or not reasoning.strip():
                return {"type": "error", "detail": "reasoning must be a non-empty string."}
            body = s.ContributionRequest(
                content={"reasoning": reasoning}, contribution_type="suggestion"
            )
            async with plurum.transaction() as tx:
                made = await sessions.contribute(tx, session_id, agent, body)
            return {"type": "contributed", "contribution": made.model_dump(mode="json")}
        if kind == "subscribe":
            request = s.SubscriptionsRequest.model_validate({"topics": message.get("topics")})
            async with plurum.transaction() as tx:
                topics = await pulse.subscribe(plurum, tx, agent, request.topics)
            return {"type": "subscribed", **topics.model_dump(mode="json")}
    except PlurumError as exc:
        return {"type": "error", "detail": exc.message}
    except ValidationError as exc:
        return {"type": "error", "detail": f"Invalid frame: {exc.errors()[0]['msg']}."}
    return {"type": "error", "detail": f"Unknown frame type {kind!r}."}


async def pulse_websocket(websocket: WebSocket) -> None:
    plurum: Plurum = websocket.app.state.plurum
    await websocket.accept()
    agent = await _authenticate(plurum, websocket)
    if agent is None:
        return
    conn = Connection(agent.id, agent.key_hash, websocket)
    plurum.hub.register(conn)
    conn.offer({"type": "auth_ok", "agent_id": str(agent.id)})
    bucket = TokenBucket(RATE_PER_S, RATE_BURST)
    dropped = 0
    try:
        while not conn.closing:
            text = await websocket.receive_text()
            if len(text.encode()) > MAX_FRAME_BYTES:
                last = {"type": "error", "detail": "Frames are limited to 64 KiB."}
                conn.close_soon(CLOSE_TOO_BIG, "frame over 64 KiB", last, flush=True)
                break
            if not bucket.take():
                dropped += 1
                if dropped > MAX_DROPPED:
                    last = {"type": "error", "detail": "Too many frames; closing."}
                    conn.close_soon(CLOSE_POLICY, "too many frames", last, flush=True)
                    break
                conn.offer({"type": "error", "detail": "Rate limited: at most 10 frames/s."})
                continue
            try:
                message = json.loads(text)
            except ValueError:
                conn.offer({"type": "error", "detail": "Frames must be JSON."})
                continue
            conn.offer(await _handle(plurum, agent, message))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        plurum.hub.unregister(conn)
        if not conn.closing:
            conn.close_soon(1000, "bye", flush=True)
        await conn.finish()
