"""Load: many agents at once against a real `plurum serve`, over HTTP.

Each agent registers, opens a session, then until the time is up picks at random:
search (70%), log an entry to its session (20%), or close its session and open the next
(10%; a session without entries is abandoned instead). Prints throughput, p50/p99 latency
per kind, errors (any non-2xx, 429 included, or a failed connection) and the server's
resident memory before and after the run.

    python bench/load.py                      # 50 agents, 60 s, a fresh server of its own
    python bench/load.py --agents 5 --duration 5 --json
    python bench/load.py --url http://127.0.0.1:8000/api/v1 --pid 1234

Without --url it starts `plurum serve` on a fresh embedded PostgreSQL in a temp dir, with
the default rate limits (only registration is opened up, for the agents it registers). With
--url the server's registration limit must allow --agents + 1 registrations.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

KINDS = ("search", "entry", "open_close")
ROUTE_ID = re.compile(r"(?<=/)[0-9a-f]{8}-[0-9a-f-]{27}")
WEIGHTS = (0.7, 0.2, 0.1)
SEED_EXPERIENCES = 100
TOPICS = [
    "Deploy FastAPI to AWS ECS with Docker",
    "Speed up PostgreSQL full-text search with GIN indexes",
    "Fix flaky pytest tests that share a database",
    "Cut Docker image size with multi-stage builds",
    "Stream large CSV exports from Django without running out of memory",
    "Configure nginx as a reverse proxy for websockets",
    "Tune gunicorn workers for CPU-bound Flask apps",
    "Migrate a React app from webpack to Vite",
    "Debug memory leaks in long-running Node.js services",
    "Set up GitHub Actions caching for pip and npm",
    "Shard a Redis cache without downtime",
    "Rotate TLS certificates automatically with cert-manager",
    "Batch embeddings with sentence-transformers on CPU",
    "Paginate a REST API with keyset cursors",
    "Retry idempotent HTTP calls with exponential backoff",
    "Profile slow SQLAlchemy queries and fix N+1 loads",
]
QUERIES = [
    "docker image too big",
    "postgres search slow",
    "flaky tests database",
    "websocket proxy nginx",
    "memory leak node",
    "ci cache pip",
    "keyset pagination",
    "retry with backoff",
    "embedding batch cpu",
    "n+1 queries sqlalchemy",
    "certificate rotation kubernetes",
    "vite migration webpack",
]


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    samples: list[str] = field(default_factory=list)  # a few error descriptions
    routes: dict[str, list[float]] = field(default_factory=dict)  # each request, by route

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{kind}: {what}")


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def own_server() -> Iterator[tuple[str, int]]:
    """`plurum serve` on a fresh embedded PostgreSQL (or PLURUM_DATABASE_URL, if set)."""
    with tempfile.TemporaryDirectory(prefix="plurum-load-") as tmp:
        port = free_port()
        env = {
            **os.environ,
            "PLURUM_DATA_DIR": tmp,
            "PLURUM_PORT": str(port),
            "PLURUM_REGISTRATIONS_PER_HOUR": "0",
            "HF_HUB_OFFLINE": "1",
        }
        log = Path(tmp) / "serve.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "plurum_backend.cli", "serve", "--log-level", "warning"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            say("Starting plurum serve on a fresh database…")
            deadline = time.monotonic() + 180
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/health", timeout=1).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("plurum serve did not start:\n" + log.read_text())
                time.sleep(0.2)
            yield base, proc.pid
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            if "PLURUM_DATABASE_URL" not in os.environ:
                from plurum_backend.store.database import stop_embedded

                with contextlib.suppress(Exception):
                    stop_embedded(Path(tmp) / "pgdata")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def register(http: httpx.AsyncClient, prefix: str, i: int) -> dict[str, str]:
    username = f"{prefix}{i}"
    r = await http.post("/agents/register", json={"name": f"Load {i}", "username": username})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['api_key']}"}


async def seed(http: httpx.AsyncClient, auth: dict[str, str], count: int) -> None:
    for i in range(count):
        topic = TOPICS[i % len(TOPICS)]
        body = {
            "goal": f"{topic} (#{i})",
            "context": f"Notes from run {i}.",
            "dead_ends": [{"description": "the obvious fix", "reason": "it hid the real cause"}],
            "breakthroughs": [f"measure first, then change one thing ({i})"],
            "tags": ["load", topic.split()[0].lower()],
        }
        r = await http.post("/experiences", headers=auth, json=body)
        r.raise_for_status()


class LoadAgent:
    def __init__(self, http: httpx.AsyncClient, auth: dict[str, str], rng: random.Random) -> None:
        self.http, self.auth, self.rng = http, auth, rng
        self.session = ""
        self.entries = 0

    async def open(self) -> httpx.Response:
        body = {"topic": self.rng.choice(TOPICS), "tools_used": ["docker"]}
        r = await self.http.post("/sessions", headers=self.auth, json=body)
        if r.status_code == 201:
            self.session, self.entries = r.json()["session_id"], 0
        return r

    async def step(self, kind: str) -> list[httpx.Response]:
        if kind == "search":
            query = {"query": self.rng.choice(QUERIES), "limit": 5}
            return [await self.http.post("/experiences/search", headers=self.auth, json=query)]
        if kind == "entry":
            content = {"description": f"step {self.entries}: {self.rng.choice(QUERIES)}"}
            body = {
                "entry_type": self.rng.choice(["update", "dead_end", "note"]),
                "content": content,
            }
            r = await self.http.post(
                f"/sessions/{self.session}/entries", headers=self.auth, json=body
            )
            self.entries += r.status_code == 201
            return [r]
        action = "close" if self.entries else "abandon"
        ended = await self.http.post(f"/sessions/{self.session}/{action}", headers=self.auth)
        return [ended, await self.open()]


async def run_agent(agent: LoadAgent, stats: Stats, deadline: float) -> None:
    while time.monotonic() < deadline:
        kind = agent.rng.choices(KINDS, WEIGHTS)[0]
        started = time.perf_counter()
        try:
            answers = await agent.step(kind)
        except httpx.HTTPError as exc:
            where = f"{exc.request.method} {exc.request.url.path}" if exc.request else "?"
            stats.error(
                kind,
                f"{type(exc).__name__} on {where} after "
                f"{time.perf_counter() - started:.1f}s: {exc}",
            )
            continue
        stats.latencies[kind].append(time.perf_counter() - started)
        for r in answers:
            route = f"{r.request.method} {ROUTE_ID.sub('{id}', r.request.url.path)}"
            stats.routes.setdefault(route, []).append(r.elapsed.total_seconds())
            if not r.is_success:
                stats.error(
                    kind, f"{r.request.method} {r.request.url.path} {r.status_code} {r.text[:100]}"
                )


async def sample_rss(pid: int, into: list[float]) -> None:
    while True:
        await asyncio.sleep(10)
        value = rss_mib(pid)
        if value is not None:
            into.append(value)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def load(
    base: str, pid: int | None, agents: int, duration: float, seed_count: int
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=agents + 10, max_keepalive_connections=agents + 10)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        prefix = "load" + uuid.uuid4().hex[:8]
        say(f"Registering {agents} agents and seeding {seed_count} experiences…")
        seeder = await register(http, prefix, agents)
        await seed(http, seeder, seed_count)
        rng = random.Random(7)
        crowd = [
            LoadAgent(http, await register(http, prefix, i), random.Random(rng.random()))
            for i in range(agents)
        ]
        for agent in crowd:
            (await agent.open()).raise_for_status()
        rss_start = rss_mib(pid) if pid else None
        rss_samples: list[float] = []
        say(f"Running {agents} agents for {duration:g} s…")
        stats = Stats()
        started = time.monotonic()
        sampler = asyncio.create_task(sample_rss(pid, rss_samples)) if pid else None
        await asyncio.gather(*(run_agent(a, stats, started + duration) for a in crowd))
        elapsed = time.monotonic() - started
        if sampler is not None:
            sampler.cancel()
        rss_end = rss_mib(pid) if pid else None
    ops = sum(len(v) for v in stats.latencies.values())
    return {
        "agents": agents,
        "duration_s": round(elapsed, 1),
        "operations": ops,
        "throughput_ops_s": round(ops / elapsed, 1),
        "kinds": {
            kind: {
                "count": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p99_ms": round(percentile(values, 99) * 1000, 1),
                "errors": stats.errors[kind],
            }
            for kind, values in stats.latencies.items()
        },
        "routes": {
            route: {
                "count": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p99_ms": round(percentile(values, 99) * 1000, 1),
            }
            for route, values in sorted(stats.routes.items())
        },
        "errors": sum(stats.errors.values()),
        "error_samples": stats.samples,
        "rss_mib": {
            "start": None if rss_start is None else round(rss_start, 1),
            "end": None if rss_end is None else round(rss_end, 1),
            "every_10s": [round(v) for v in rss_samples],
        },
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['agents']} agents, {result['duration_s']} s: {result['operations']} operations, "
        f"{result['throughput_ops_s']} ops/s, {result['errors']} errors",
    ]
    for kind, k in result["kinds"].items():
        lines.append(
            f"  {kind:<11} {k['count']:>7} ops  p50 {k['p50_ms']:>7.1f} ms  "
            f"p99 {k['p99_ms']:>7.1f} ms  errors {k['errors']}"
        )
    lines.append("  by request:")
    for route, k in result["routes"].items():
        lines.append(
            f"    {route:<34} {k['count']:>6}  "
            f"p50 {k['p50_ms']:>7.1f} ms  p99 {k['p99_ms']:>7.1f} ms"
        )
    rss = result["rss_mib"]
    if rss["start"] is not None:
        lines.append(f"  server RSS  {rss['start']:.0f} MiB at start, {rss['end']:.0f} MiB at end")
        lines.append(f"  server RSS every 10 s: {rss['every_10s']}")
    lines += [f"  error: {s}" for s in result["error_samples"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--seed-experiences", type=int, default=SEED_EXPERIENCES)
    parser.add_argument("--url", help="a running server's API base (default: start one)")
    parser.add_argument("--pid", type=int, help="the server's pid, to read its memory")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    def run(base: str, pid: int | None) -> dict[str, Any]:
        return asyncio.run(load(base, pid, args.agents, args.duration, args.seed_experiences))

    if args.url:
        result = run(args.url.rstrip("/"), args.pid)
    else:
        with own_server() as (base, pid):
            result = run(base, pid)
    print(json.dumps(result, indent=2) if args.json else report(result))
    sys.exit(1 if result["errors"] else 0)


if __name__ == "__main__":
    main()
