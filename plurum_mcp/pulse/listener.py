"""Hold the agent's pulse websocket and hand every new event over exactly once.

The backend sends pulse events on ``WS /pulse/ws`` (auth by first frame) and keeps the same
events in ``GET /pulse/inbox?since=cursor``. The listener reads the inbox once at start (the
backlog), then holds the websocket; after every (re)connection it catches up from the inbox,
so nothing sent while it was away is lost. While the websocket is down it polls the inbox and
retries the socket with exponential backoff. Duplicates (inbox and socket overlap) are
dropped by event id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

import anyio

from plurum_mcp.backend import PlurumAPI
from plurum_mcp.errors import BackendError, BackendRefusedError

log = logging.getLogger(__name__)

Event = dict[str, Any]
ListenerState = Literal[
    "starting", "connected", "polling", "unavailable", "no-key", "key-refused", "stopped"
]
AUTH_TIMEOUT_S = 10.0
INBOX_PAGE = 200
SEEN_IDS_KEPT = 2000


class PulseSocket(Protocol):
    async def send(self, message: str) -> None: ...

    async def recv(self) -> str | bytes: ...


WebSocketConnector = Callable[[str], AbstractAsyncContextManager[PulseSocket]]
Deliver = Callable[[Event, bool], Awaitable[None]]
"""``deliver(event, live)``: ``live`` is False for the backlog found at start."""


class AuthRefusedError(Exception):
    pass


def websockets_connector(url: str) -> AbstractAsyncContextManager[PulseSocket]:
    from websockets.asyncio.client import connect

    return connect(url, open_timeout=10, max_size=1 << 20, user_agent_header="plurum-mcp/0.1")


def pulse_ws_url(api_url: str) -> str:
    base = api_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    return base + "/pulse/ws"


class Backoff:
    def __init__(self, initial_s: float = 1.0, max_s: float = 60.0) -> None:
        self.initial_s = initial_s
        self.max_s = max_s
        self._next = initial_s

    def reset(self) -> None:
        self._next = self.initial_s

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.max_s)
        return delay * random.uniform(0.8, 1.2)


class PulseListener:
    def __init__(
        self,
        api: PlurumAPI,
        deliver: Deliver,
        *,
        connector: WebSocketConnector | None = websockets_connector,
        poll_interval_s: float = 15.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.api = api
        self.deliver = deliver
        self.connector = connector
        self.poll_interval_s = poll_interval_s
        self.backoff = backoff or Backoff()
        self._state: ListenerState = "starting"
        self._state_changed = asyncio.Event()
        self.cursor: int | str | None = None
        self.start_cursor: int | str | None = None
        self.unread_at_start = 0
        self._primed = False
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._last_note = ""

    @property
    def state(self) -> ListenerState:
        return self._state

    @state.setter
    def state(self, value: ListenerState) -> None:
        self._state = value
        self._state_changed.set()
        self._state_changed = asyncio.Event()

    async def wait_for_state(self, *states: ListenerState) -> None:
        while self._state not in states:
            await self._state_changed.wait()

    async def run(self) -> None:
        if not self.api.has_key:
            self.state = "no-key"
            log.info("pulse: no API key configured, not listening")
            return
        try:
            while True:
                try:
                    if not self._primed:
                        await self.catch_up()
                    if self.connector is not None:
                        await self._hold_socket()
                except BackendRefusedError as exc:
                    if exc.transient:  # the backend is up, its database away: retry soon
                        self._note(logging.INFO, f"pulse: {exc.message}")
                    else:
                        await self._refused(exc)
                        continue
                except AuthRefusedError as exc:
                    await self._refused(exc)
                    continue
                except BackendError as exc:
                    self._note(logging.INFO, f"pulse: {exc.message}")
                except Exception as exc:  # a dropped socket of any kind: back off, poll, retry
                    self._note(logging.INFO, f"pulse: websocket closed ({type(exc).__name__})")
                self.state = "polling"
                await self._poll_for(self.backoff.next_delay())
        finally:
            self.state = "stopped"

    async def _refused(self, exc: AuthRefusedError | BackendRefusedError) -> None:
        """The backend answered and said no (a refused key, or no pulse on this backend):
        asking again soon will not change that."""
        refused_key = isinstance(exc, AuthRefusedError) or exc.status == 401
        self.state = "key-refused" if refused_key else "unavailable"
        self._note(logging.WARNING, f"pulse: {exc}")
        await anyio.sleep(self.backoff.max_s)

    def _note(self, level: int, message: str) -> None:
        """Log a problem once, not on every retry."""
        if message != self._last_note:
            self._last_note = message
            log.log(level, message)

    async def catch_up(self) -> None:
        """Read the inbox from the cursor on; the first read at start is the backlog."""
        live = self._primed
        while True:
            page = await self.api.get(
                "pulse/inbox", params={"since": self.cursor, "limit": INBOX_PAGE}
            )
            events = [e for e in (page or {}).get("events", []) if isinstance(e, dict)]
            for event in sorted(events, key=_order_key):
                await self._accept(event, live=live)
            cursor = (page or {}).get("cursor")
            if cursor is not None:
                self.cursor = _max_cursor(self.cursor, cursor)
            if len(events) < INBOX_PAGE:
                break
        if not self._primed:
            self._primed = True
            self.start_cursor = self.cursor
            unread = (page or {}).get("unread_count")
            self.unread_at_start = unread if isinstance(unread, int) else 0

    async def _hold_socket(self) -> None:
        assert self.connector is not None and self.api.api_key
        async with self.connector(pulse_ws_url(self.api.api_url)) as socket:
            await socket.send(json.dumps({"type": "auth", "api_key": self.api.api_key}))
            with anyio.fail_after(AUTH_TIMEOUT_S):
                reply = _frame(await socket.recv())
            if reply.get("type") == "error" and reply.get("retry_after") is not None:
                # the key could not be checked (the backend's database is away): retry soon
                raise ConnectionError(str(reply.get("detail", "try again later")))
            if reply.get("type") == "error":
                raise AuthRefusedError(str(reply.get("detail", "authentication failed")))
            if reply.get("type") != "auth_ok":
                raise ConnectionError(f"expected auth_ok, got {reply.get('type')!r}")
            self.state = "connected"
            self.backoff.reset()
            self._last_note = ""
            log.info("pulse: connected")
            await self.catch_up()
            while True:
                frame = _frame(await socket.recv())
                kind = frame.get("type")
                if kind == "error":
                    log.info("pulse: backend said %s", frame.get("detail"))
                elif kind not in ("pong", "auth_ok") and "id" in frame:
                    await self._accept(frame, live=True)

    async def _poll_for(self, seconds: float) -> None:
        with anyio.move_on_after(seconds):
            while True:
                await anyio.sleep(min(self.poll_interval_s, seconds))
                try:
                    await self.catch_up()
                except BackendError as exc:
                    log.debug("pulse: inbox poll failed: %s", exc.message)

    async def _accept(self, event: Event, *, live: bool) -> None:
        key = str(event.get("id"))
        if key in self._seen:
            return
        self._seen[key] = None
        if len(self._seen) > SEEN_IDS_KEPT:
            self._seen.popitem(last=False)
        if event.get("id") is not None:
            self.cursor = _max_cursor(self.cursor, event["id"])
        await self.deliver(event, live)


def _frame(raw: str | bytes) -> Event:
    try:
        data = json.loads(raw)
    except ValueError:
        return {"type": "error", "detail": "a frame that is not JSON"}
    return data if isinstance(data, dict) else {"type": "error", "detail": "a frame not an object"}


def _order_key(event: Event) -> tuple[int, str]:
    ident = event.get("id")
    if isinstance(ident, int):
        return (ident, "")
    text = str(ident)
    return (int(text), "") if text.isdigit() else (0, text)


def _max_cursor(current: int | str | None, new: Any) -> int | str:
    if current is None:
        return new if isinstance(new, int) else str(new)
    a, b = _order_key({"id": current}), _order_key({"id": new})
    return current if a >= b else (new if isinstance(new, int) else str(new))
