"""Crash safety: `plurum serve` is SIGKILLed in the middle of a stream of writes. After a
restart every write the client saw acknowledged is there, and search agrees with the
database (the full-text index catches up from the change sequence)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from plurum_backend.store.database import Database
from tests import serving
from tests.conftest import truncate_all

WRITERS = 6
KILL_AFTER_ACKS = 150


@dataclass
class Acked:
    experiences: dict[str, str] = field(default_factory=dict)  # short_id -> marker word
    entries: set[str] = field(default_factory=set)
    failed: int = 0  # requests cut off by the kill (not acknowledged, may or may not exist)

    def __len__(self) -> int:
        return len(self.experiences) + len(self.entries)


def marker() -> str:
    """A word no other experience contains, so a full-text search must find exactly one."""
    return "crash" + uuid.uuid4().hex[:12]


async def stream_writes(
    http: httpx.AsyncClient, auth: dict[str, str], session_id: str, acked: Acked, n: int
) -> None:
    """One writer: experiences and entries in turn until the server stops answering."""
    i = 0
    while True:
        i += 1
        try:
            if i % 2:
                word = marker()
                body = {"goal": f"Crash test {word}", "breakthroughs": [f"{word} survived"]}
                r = await http.post("/experiences", headers=auth, json=body)
                if r.status_code == 201:
                    acked.experiences[r.json()["short_id"]] = word
            else:
                entry = {"entry_type": "note", "content": {"description": f"writer {n} #{i}"}}
                r = await http.post(f"/sessions/{session_id}/entries", headers=auth, json=entry)
                if r.status_code == 201:
                    acked.entries.add(r.json()["id"])
            assert r.status_code == 201, r.text
        except httpx.TransportError:
            acked.failed += 1
            return


async def test_acknowledged_writes_survive_sigkill(database: Database, tmp_path: Path) -> None:
    truncate_all(database)
    data_dir = tmp_path / "served"  # kept across the restart: the index as the crash left it
    server = serving.start(database, data_dir)
    acked = Acked()
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
            r = await http.post("/agents/register", json={"name": "C", "username": "crasher"})
            auth = {"Authorization": f"Bearer {r.json()['api_key']}"}
            r = await http.post("/sessions", headers=auth, json={"topic": "crash stream"})
            session_id = r.json()["session_id"]

            writers = [
                asyncio.create_task(stream_writes(http, auth, session_id, acked, n))
                for n in range(WRITERS)
            ]
            async with asyncio.timeout(120):
                while len(acked) < KILL_AFTER_ACKS:
                    await asyncio.sleep(0.01)
            await asyncio.to_thread(server.kill)  # mid-stream: every writer has one in flight
            async with asyncio.timeout(30):
                await asyncio.gather(*writers)
    finally:
        server.stop()
    assert acked.failed == WRITERS  # each writer was cut off mid-request

    server = serving.start(database, data_dir)
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
            detail = (await http.get(f"/sessions/{session_id}", headers=auth)).json()
            stored_entries = {e["id"] for e in detail["entries"]}
            assert acked.entries <= stored_entries

            for short_id, word in acked.experiences.items():
                r = await http.get(f"/experiences/{short_id}")
                assert r.status_code == 200 and word in r.json()["goal"]

            # search agrees with the database: every stored experience (acknowledged or not)
            # is found by its own word, and the index holds exactly the database's rows
            with psycopg.connect(database.url) as conn:
                rows = conn.execute("SELECT short_id, goal FROM experiences").fetchall()
            assert set(acked.experiences) <= {short for short, _ in rows}
            for short_id, goal in rows:
                word = goal.split()[-1]
                r = await http.post("/experiences/search", json={"query": word, "limit": 5})
                hits = r.json()["results"]
                # these near-identical write-ups are linked as duplicates: the card of their
                # cluster may be another member (docs/trust.md), the one matched is among them
                cluster = (hits[0]["cluster"] or {"members": []}) if hits else {"members": []}
                shown = [hits[0]["short_id"], *(m["short_id"] for m in cluster["members"])]
                assert hits and short_id in shown, (word, hits[:1])
                assert hits[0]["match"]["fulltext_rank"] == 1
            health = (await http.get("/health")).json()
            assert health["indexed"] == len(rows)
    finally:
        server.stop()
    print(
        f"crash: {len(acked)} acknowledged writes checked "
        f"({len(acked.experiences)} experiences, {len(acked.entries)} entries), "
        f"{len(rows)} experiences in the database, {acked.failed} requests cut off"
    )
