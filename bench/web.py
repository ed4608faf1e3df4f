"""Web pages: server time per page and page weight, at a given number of experiences.

    .venv/bin/python -m bench.web [--experiences 10000] [--requests 60] [--keep DIR] [--json]

Loads synthetic experiences (bench/synthetic.py: realistic text, vectors from real MiniLM
phrase embeddings) into a fresh embedded PostgreSQL, adds a little activity (agents, open
sessions, outcomes, acquisitions), then requests every page through the ASGI app in this
process, so the time is the server's own (routing, services, SQL, Tantivy, the query
embedding, templates), without a network in the way. Each request is timed alone.

- ``/search`` uses a different query each time (``cold``: the query embedding is computed)
  and then repeats them (``cached``: the embedder's LRU answers, as for a re-run search).
- ``/experiences/{id}`` picks a different public experience each time.
- Weight is the page's HTML plus every stylesheet and script it links (the targets:
  p50 <= 30 ms for /, /search, /experiences/{id} at 10,000; each page <= 100 KB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import select

from bench.cache import CachedEmbedder
from bench.instance import fresh_plurum
from bench.latency import load
from bench.synthetic import PHRASES, SyntheticCorpus
from plurum_backend.app import create_app
from plurum_backend.runtime import Plurum
from plurum_backend.search.embedder import shared_embedder
from plurum_backend.store.models import Experience

TARGET_MS = 30.0
TARGET_BYTES = 100 * 1024
API = "/api/v1"


@dataclass
class PageFigures:
    page: str
    requests: int
    p50_ms: float
    p95_ms: float
    cpu_p50_ms: float  # this process's CPU per request, every thread (the embedder's too)
    db_cpu_ms: float | None  # PostgreSQL's CPU per request (mean; embedded server only)
    html_bytes: int
    total_bytes: int  # HTML + linked CSS + JS


class ServerCpu:
    """CPU time of the embedded PostgreSQL's processes (the postmaster's children), read
    from /proc: with the app's own CPU, a figure the machine's load barely moves, unlike
    wall time (a request waits on the database for the scheduler as much as for work)."""

    def __init__(self, pg_dir: Path | None) -> None:
        self.postmaster: int | None = None
        pid_file = pg_dir / "postmaster.pid" if pg_dir else None
        if pid_file is not None and pid_file.exists() and Path("/proc/self/stat").exists():
            self.postmaster = int(pid_file.read_text().split()[0])
        self.tick_ms = 1000 / os.sysconf("SC_CLK_TCK")

    def total_ms(self) -> float | None:
        if self.postmaster is None:
            return None
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # the command may hold spaces and parentheses: split after the last ')'
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # the process ended meanwhile
            pid = int(stat.parent.name)
            if pid == self.postmaster or int(fields[1]) == self.postmaster:
                ticks += int(fields[11]) + int(fields[12])  # utime + stime
        return ticks * self.tick_ms


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def activity(http: httpx.AsyncClient, shorts: list[str]) -> str:
    """A few agents, open sessions with entries, outcomes and acquisitions; the first
    agent's username (a kept database gets new agents on each run)."""
    keys = []
    run = uuid.uuid4().hex[:8]
    for i in range(5):
        r = await http.post(
            API + "/agents/register", json={"name": f"Bench {i}", "username": f"b{run}{i}"}
        )
        keys.append({"Authorization": f"Bearer {r.json()['api_key']}"})
    for i, headers in enumerate(keys):
        r = await http.post(
            API + "/sessions", headers=headers, json={"topic": f"Bench session {i} on Django"}
        )
        sid = r.json()["session_id"]
        for n in range(5):
            await http.post(
                f"{API}/sessions/{sid}/entries",
                headers=headers,
                json={"entry_type": "note", "content": {"description": f"step {n}"}},
            )
        for short in shorts[i * 10 : i * 10 + 10]:
            await http.post(
                f"{API}/experiences/{short}/outcome", headers=headers, json={"success": i % 2 == 0}
            )
            await http.post(
                f"{API}/experiences/{short}/acquire", headers=headers, json={"mode": "summary"}
            )
    return f"b{run}0"


async def weight(http: httpx.AsyncClient, html: str) -> int:
    total = len(html.encode())
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js)[^"]*)"', html):
        total += len((await http.get(asset)).content)
    return total


async def timed(http: httpx.AsyncClient, paths: list[str]) -> tuple[list[float], list[float], str]:
    times, cpu = [], []
    html = ""
    for path in paths:
        t0, c0 = time.perf_counter(), time.process_time()
        r = await http.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{path} answered {r.status_code}: {r.text[:200]}")
        html = r.text
    return times, cpu, html


async def measure(plurum: Plurum, corpus: SyntheticCorpus, requests: int) -> list[PageFigures]:
    server = ServerCpu(plurum.database.pg_dir)
    app = create_app(plurum, manage_lifespan=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        async with plurum.reading() as db:
            shorts = list(
                await db.scalars(
                    select(Experience.short_id)
                    .where(Experience.visibility == "public")
                    .order_by(Experience.short_id)
                    .limit(2000)
                )
            )
        username = await activity(http, shorts)
        rng = random.Random(5)
        queries = corpus.queries(requests, seed=17)
        plans = {
            "/": ["/"] * requests,
            "/search (cold)": [f"/search?q={quote(q)}" for q in queries],
            "/search (cached)": [f"/search?q={quote(q)}" for q in queries],
            "/experiences/{id}": [f"/experiences/{rng.choice(shorts)}" for _ in range(requests)],
            "/sessions": ["/sessions"] * requests,
            "/pulse": ["/pulse"] * requests,
            "/agents/{username}": [f"/agents/{username}"] * requests,
            "/insights": ["/insights"] * max(requests // 4, 5),
        }
        for path in ("/", "/experiences/" + shorts[0], "/sessions", "/pulse", "/insights"):
            await http.get(path)  # warm: template compilation, connection pools
        await http.get("/search?q=warm+up")
        figures = []
        for name, paths in plans.items():
            db_before = server.total_ms()
            times, cpu, html = await timed(http, paths)
            db_after = server.total_ms()
            db_cpu = (
                None
                if db_before is None or db_after is None
                else round((db_after - db_before) / len(paths), 2)
            )
            figures.append(
                PageFigures(
                    page=name,
                    requests=len(times),
                    p50_ms=round(statistics.median(times), 2),
                    p95_ms=round(percentile(times, 0.95), 2),
                    cpu_p50_ms=round(statistics.median(cpu), 2),
                    db_cpu_ms=db_cpu,
                    html_bytes=len(html.encode()),
                    total_bytes=await weight(http, html),
                )
            )
            print(f"  measured {name}", file=sys.stderr, flush=True)
        return figures


async def run(args: argparse.Namespace) -> list[PageFigures]:
    cache = CachedEmbedder(shared_embedder())
    corpus = SyntheticCorpus(cache.embed(PHRASES, progress=not args.json))
    cache.close()
    async with fresh_plurum(keep=args.keep) as plurum:
        async with plurum.reading() as db:
            have = len(list(await db.scalars(select(Experience.id).limit(args.experiences))))
        if have < args.experiences:
            print(f"Loading {args.experiences - have} experiences…", file=sys.stderr)
            await load(plurum, corpus, have, args.experiences, quiet=args.json)
        # what autovacuum does soon after a bulk import: statistics and the visibility map
        # (the front page's count is an index-only scan)
        async with plurum.engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).exec_driver_sql(
                "VACUUM ANALYZE experiences"
            )
        await plurum.hub.start()
        try:
            return await measure(plurum, corpus, args.requests)
        finally:
            await plurum.hub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiences", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--keep", type=Path, help="keep the database and index here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    if args.json:
        print(json.dumps([asdict(f) for f in figures], indent=2))
        return
    print(f"\nWeb pages at {args.experiences} experiences (server time, in-process ASGI)")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end)")
    print(
        f"{'page':<20} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8} {'DB CPU':>7} "
        f"{'HTML KB':>8} {'+CSS+JS KB':>11}"
    )
    for f in figures:
        db = "–" if f.db_cpu_ms is None else f"{f.db_cpu_ms:.1f}"
        print(
            f"{f.page:<20} {f.requests:>4} {f.p50_ms:>8.1f} {f.p95_ms:>8.1f} {f.cpu_p50_ms:>8.1f} "
            f"{db:>7} {f.html_bytes / 1024:>8.1f} {f.total_bytes / 1024:>11.1f}"
        )
    print(
        "CPU p50: this process, every thread (the query embedding too); DB CPU: PostgreSQL's "
        "processes, mean per request. Wall times grow with the machine's load; CPU barely does."
    )
    targets = [f for f in figures if f.page in ("/", "/search (cold)", "/experiences/{id}")]
    time_ok = all(f.p50_ms <= TARGET_MS for f in targets)
    size_ok = all(f.total_bytes <= TARGET_BYTES for f in figures)
    print(
        f"p50 <= {TARGET_MS:.0f} ms for /, /search, /experiences/{{id}}: "
        f"{'yes' if time_ok else 'NO'}; every page <= 100 KB: {'yes' if size_ok else 'NO'}"
    )


if __name__ == "__main__":
    main()
