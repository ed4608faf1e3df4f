"""The pulse hub: this process's websockets, fed from PostgreSQL LISTEN/NOTIFY.

Events are rows (store/pulse.py). A transaction that writes events NOTIFYs on commit; every
process LISTENs, reads the rows past its cursor and hands each to the sockets of its
recipient. Reading rows rather than trusting payloads keeps NOTIFY's 8 kB limit out of the
way, and a missed notification (a dropped listener connection) is repaired by the next read:
the hub also re-reads every ``POLL_S`` seconds.

Each socket has a bounded send queue. The hub only ever ``put_nowait``s, so a slow consumer
never delays anyone else: when its queue is full it is disconnected with code 1013.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
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

log = logging.getLogger(__name__)

SEND_QUEUE = 256
POLL_S = 2.0
PRUNE_EVERY_S = 600.0
RETENTION = timedelta(days=30)
RETENTION_PER_AGENT = 1000
CLOSE_SLOW = 1013
CLOSE_AUTH = 4401


@dataclass(eq=False)
class Connection:
    agent_id: uuid.UUID
    key_hash: str
    websocket: WebSocket
    queue: asyncio.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(SEND_QUEUE)
    )
    closing: bool = False
    close_with: tuple[int, str, dict[str, Any] | None] | None = None

    def offer(self, message: dict[str, Any]) -> bool:
        """Queue a frame without waiting; False (and a 1013 close) when the peer is too slow."""
        if self.closing:
            return False
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.close_soon(CLOSE_SLOW, "send queue full: consumer too slow")
            return False
        return True

    def close_soon(
        self, code: int, reason: str, last: dict[str, Any] | None = None, *, flush: bool = False
    ) -> None:
        """Have the sender close the socket (after ``last``, if any).

        What is queued is dropped, unless ``flush`` asks for it to be sent first (and fits):
        a slow consumer or a rotated key gets nothing more, a flooding client still gets
        the answers to the frames it sent before the limit.
        """
        if self.closing:
            return
        self.closing = True
        self.close_with = (code, reason, last)
        if not flush or self.queue.full():
            while not self.queue.empty():
                self.queue.get_nowait()
        self.queue.put_nowait(None)

    async def send_forever(self) -> None:
        """The only writer of this socket: queued frames, then the close when asked for."""
        while (message := await self.queue.get()) is not None:
            await self.websocket.send_text(json.dumps(message))
        if self.close_with is not None:
            code, reason, last = self.close_with
            if last is not None:
                await self.websocket.send_text(json.dumps(last))
            await self.websocket.close(code, reason)


class Hub:
    def __init__(self, database: Database, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._database = database
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
        """Hand every event past the cursor to its recipient's sockets here."""
        delivered = 0
        async with self._lock:
            while True:
                async with self._sessions() as db:
                    events = await store.events_after(db, self._cursor, 1000)
                if not events:
                    return delivered
                for event in events:
                    self._cursor = event.id
                    if event.recipient_id is None:
                        continue
                    for conn in list(self._connections.get(event.recipient_id, ())):
                        delivered += conn.offer(frame(event))

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
        backoff = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._database.url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {store.CHANNEL}")
                    await conn.execute(f"LISTEN {store.KEYS_CHANNEL}")
                    self.listening.set()
                    backoff = 0.5
                    await self.deliver_new()
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
                log.warning("pulse listener lost its connection (%s); retrying", exc)
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
            except Exception:
                log.exception("pulse retention pruning failed")
            await asyncio.sleep(PRUNE_EVERY_S)
