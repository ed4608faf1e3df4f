"""The pulse hub: this process's websockets, fed from PostgreSQL LISTEN/NOTIFY.

Events are rows (store/pulse.py). A transaction that writes events NOTIFYs on commit; every
process LISTENs, reads the rows past its cursor and hands each to the sockets of its
recipient. Reading rows rather than trusting payloads keeps NOTIFY's 8 kB limit out of the
way, and a missed notification (a dropped listener connection) is repaired by the next read:
the hub also re-reads every ``POLL_S`` seconds.

Each event is serialized once and the same text is queued for every recipient's sockets.
Each socket has a bounded send queue. The hub only ever appends to it without waiting, so a
slow consumer never delays anyone else: when its queue is full it is disconnected with code
1013.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket

from plurum_backend.services.render import frame
from plurum_backend.store import agents as agent_store
from plurum_backend.store import pulse as store
from plurum_backend.store.database import Database
from plurum_backend.store.faults import is_fault, summary

log = logging.getLogger(__name__)

SEND_QUEUE = 256
EVENTS_PER_READ = 200
FINISH_S = 10.0
POLL_S = 2.0
PRUNE_EVERY_S = 600.0
RETENTION = timedelta(days=30)
RETENTION_PER_AGENT = 1000
CLOSE_SLOW = 1013
CLOSE_AUTH = 4401


@dataclass(eq=False)
class Connection:
    """One authenticated socket and its bounded send queue.

    A sender task exists only while there is something to send: it drains the queue and
    ends. An idle socket holds no waiting task or future, so what a fan-out to 1,000 sockets
    allocates dies young instead of lingering until the next event (long-lived objects are
    what the garbage collector's slow full collections rescan; see cli.py).
    """

    agent_id: uuid.UUID
    key_hash: str
    websocket: WebSocket
    pending: deque[str] = field(default_factory=deque)
    closing: bool = False
    close_with: tuple[int, str, dict[str, Any] | None] | None = None
    _sender: asyncio.Task[None] | None = None

    def offer(self, message: dict[str, Any] | str) -> bool:
        """Queue a frame (a dict, or JSON text already serialized) without waiting; False
        (and a 1013 close) when the peer is too slow."""
        if self.closing:
            return False
        if len(self.pending) >= SEND_QUEUE:
            self.close_soon(CLOSE_SLOW, "send queue full: consumer too slow")
            return False
        self.pending.append(message if isinstance(message, str) else json.dumps(message))
        self._kick()
        return True

    def close_soon(
        self, code: int, reason: str, last: dict[str, Any] | None = None, *, flush: bool = False
    ) -> None:
        """Have the sender close the socket (after ``last``, if any).

        What is queued is dropped, unless ``flush`` asks for it to be sent first: a slow
        consumer or a rotated key gets nothing more, a flooding client still gets the
        answers to the frames it sent before the limit.
        """
        if self.closing:
            return
        self.closing = True
        self.close_with = (code, reason, last)
        if not flush:
            self.pending.clear()
        self._kick()

    async def finish(self) -> None:
        """After ``close_soon``: wait up to ``FINISH_S`` for the queued frames and the close
        to be sent, then give up on a peer that does not read (the sender is cancelled)."""
        if self._sender is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sender, FINISH_S)

    def _kick(self) -> None:
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        """The only writer of this socket: queued frames, then the close when asked for."""
        try:
            while self.pending:
                await self.websocket.send_text(self.pending.popleft())
            if self.close_with is not None:
                code, reason, last = self.close_with
                if last is not None:
                    await self.websocket.send_text(json.dumps(last))
                await self.websocket.close(code, reason)
        except Exception:  # the peer is gone: nothing more can be sent
            self.closing = True
            self.pending.clear()


class Hub:
    def __init__(
        self,
        database: Database,
        sessions: async_sessionmaker[AsyncSession],
        connect_timeout_s: float = 5.0,
    ) -> None:
        self._database = database
        self._connect_timeout_s = connect_timeout_s
        self._sessions = sessions
        self._connections: defaultdict[uuid.UUID, set[Connection]] = defaultdict(set)
        self._cursor = 0
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = asyncio.Event()

    @property
    def connected_agents(self) -> int:
        return sum(1 for conns in self._connections.values() if conns)

    def connections_of(self, agent_id: uuid.UUID) -> list[Connection]:
        return list(self._connections.get(agent_id, ()))

    def register(self, conn: Connection) -> None:
        self._connections[conn.agent_id].add(conn)

    def unregister(self, conn: Connection) -> None:
        conns = self._connections.get(conn.agent_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._connections[conn.agent_id]

    async def start(self) -> None:
        async with self._sessions() as db:
            self._cursor = await store.last_event_id(db)
        self._tasks = [
            asyncio.create_task(self._listen_forever()),
            asyncio.create_task(self._prune_forever()),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for conns in list(self._connections.values()):
            for conn in list(conns):
                conn.close_soon(1001, "server shutting down", flush=True)

    # -- delivery -------------------------------------------------------------------------

    async def deliver_new(self) -> int:
        """Hand every event past the cursor to its recipients' sockets in this process."""
        delivered = 0
        async with self._lock:
            while True:
                async with self._sessions() as db:
                    events = await store.events_after(db, self._cursor, EVENTS_PER_READ)
                    if not events:
                        return delivered
                    pairs = await store.recipients_of(db, events[0].id, events[-1].id)
                recipients: defaultdict[int, list[uuid.UUID]] = defaultdict(list)
                for event_id, recipient in pairs:
                    if recipient in self._connections:
                        recipients[event_id].append(recipient)
                for event in events:
                    self._cursor = event.id
                    here = recipients.get(event.id)
                    if not here:
                        continue
                    text = json.dumps(frame(event))
                    for recipient in here:
                        for conn in list(self._connections.get(recipient, ())):
                            delivered += conn.offer(text)

    async def close_stale_keys(self, agent_id: uuid.UUID) -> None:
        """After a key rotation: close this agent's sockets opened with an older key."""
        if agent_id not in self._connections:
            return
        async with self._sessions() as db:
            agent = await agent_store.by_id(db, agent_id)
        for conn in list(self._connections.get(agent_id, ())):
            if agent is None or conn.key_hash != agent.key_hash:
                last = {"type": "error", "detail": "The API key was rotated."}
                conn.close_soon(CLOSE_AUTH, "API key rotated", last)

    async def _listen_forever(self) -> None:
        """Hold the LISTEN connection. When it drops (a database restart or failover), retry
        with backoff (0.5 s doubling to 10 s) and log once when it is lost and once when it
        is back. On every (re)connection, events past the cursor are read first: what was
        committed while the connection was down is delivered, each event once."""
        backoff = 0.5
        lost_at: float | None = None
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._database.url,
                    autocommit=True,
                    connect_timeout=max(2, math.ceil(self._connect_timeout_s)),
                ) as conn:
                    await conn.execute(f"LISTEN {store.CHANNEL}")
                    await conn.execute(f"LISTEN {store.KEYS_CHANNEL}")
                    await self.deliver_new()
                    self.listening.set()
                    backoff = 0.5
                    if lost_at is not None:
                        log.warning(
                            "pulse listener back after %.1fs (LISTEN re-established)",
                            time.monotonic() - lost_at,
                        )
                        lost_at = None
                    while True:
                        async for note in conn.notifies(timeout=POLL_S):
                            if note.channel == store.KEYS_CHANNEL:
                                await self.close_stale_keys(uuid.UUID(note.payload))
                            else:
                                await self.deliver_new()
                        await self.deliver_new()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.listening.clear()
                if lost_at is None:
                    lost_at = time.monotonic()
                    log.warning(
                        "pulse listener lost its connection (%s); reconnecting", summary(exc)
                    )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _prune_forever(self) -> None:
        while True:
            try:
                async with self._sessions() as db:
                    await store.prune(db, RETENTION, RETENTION_PER_AGENT)
                    await db.commit()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_fault(exc):
                    log.warning("pulse retention pruning skipped: the database is unavailable")
                else:
                    log.exception("pulse retention pruning failed")
            await asyncio.sleep(PRUNE_EVERY_S)
