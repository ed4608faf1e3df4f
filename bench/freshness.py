"""How soon a new experience is searchable on both sides, on the writing replica and another.

    python -m bench.freshness [--writes 30]

Two runtimes share one database, each with its own index, as two replicas would. Each write
goes through replica A's API; the clock starts when the 201 arrives and stops when replica B's
search reports the experience with both a full-text and a vector rank. Replica A is checked
at once (it indexes its own writes before answering).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.instance import fresh_plurum
from plurum_backend.app import create_app
from plurum_backend.runtime import Plurum
from plurum_backend.store.database import Database

BASE = "http://bench/api/v1"


def client_of(plurum: Plurum) -> httpx.AsyncClient:
    app = create_app(plurum, manage_lifespan=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


async def both_sides(client: httpx.AsyncClient, query: str, short_id: str) -> bool:
    r = await client.post("/experiences/search", json={"query": query, "limit": 5})
    for hit in r.json()["results"]:
        if hit["short_id"] == short_id:
            return None not in (hit["match"]["fulltext_rank"], hit["match"]["vector_rank"])
    return False


async def measure(a: Plurum, b: Plurum, writes: int) -> dict[str, float]:
    delays: list[float] = []
    async with client_of(a) as writer, client_of(b) as reader:
        r = await writer.post("/agents/register", json={"name": "Bench", "username": "freshbench"})
        headers = {"Authorization": f"Bearer {r.json()['api_key']}"}
        for i in range(writes):
            word = f"zq{uuid.uuid4().hex[:10]}"
            body = {"goal": f"Calibrate the {word} sensor array, run {i}", "breakthroughs": [word]}
            r = await writer.post("/experiences", json=body, headers=headers)
            start = time.perf_counter()
            short_id = r.json()["short_id"]
            assert await both_sides(writer, word, short_id), "the writer must read its write"
            while not await both_sides(reader, word, short_id):  # noqa: ASYNC110 - polling B
                await asyncio.sleep(0.01)
            delays.append(time.perf_counter() - start)
            await asyncio.sleep(0.137 * (i % 4))  # writes land at varied points of the tail cycle
    ms = sorted(d * 1000 for d in delays)
    return {
        "writes": writes,
        "p50_ms": round(statistics.median(ms), 1),
        "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 1),
        "max_ms": round(ms[-1], 1),
    }


async def run(writes: int, database: Database | None = None) -> dict[str, float]:
    async with fresh_plurum(database) as a:
        with tempfile.TemporaryDirectory(prefix="plurum-bench-b-") as other:
            settings = dataclasses.replace(a.settings, data_dir=Path(other))
            b = Plurum.start(settings, a.database)
            await b.startup()
            try:
                return await measure(a, b, writes)
            finally:
                await b.shutdown()


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(prog="python -m bench.freshness")
    p.add_argument("--writes", type=int, default=30)
    print(json.dumps(asyncio.run(run(p.parse_args().writes))))


if __name__ == "__main__":
    main()
