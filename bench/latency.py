"""Search latency at scale: bulk load synthetic experiences, then time searches.

    python -m bench.latency --experiences 100000            # stages 10k, 30k, 100k
    python -m bench.latency --experiences 2000 --stages 500,2000 --queries 50 --no-http

At each stage: p50/p99 of the search service (the code behind POST /experiences/search, one
session per call as in a request) with the query embedding cached and with it computed, the
same through HTTP against a real ``plurum serve`` process, each retrieval alone, and HNSW
recall@10 against exact search. First, bulk import speed with the real model is set beside the
model's own speed on the same texts. How the synthetic vectors are made: bench/synthetic.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import uvloop
from sqlalchemy import select

from bench.cache import CachedEmbedder
from bench.httpserver import Server
from bench.instance import fresh_plurum
from bench.synthetic import PHRASES, SyntheticCorpus, transient
from plurum_backend import schemas as s
from plurum_backend.importer import import_lines
from plurum_backend.runtime import Plurum
from plurum_backend.search.documents import embedding_text
from plurum_backend.search.embedder import shared_embedder
from plurum_backend.services import hints, search
from plurum_backend.store import experiences as store
from plurum_backend.store.database import Database
from plurum_backend.store.models import Experience
from plurum_backend.store.visibility import audience_for, experience_visible_to


@dataclass
class Percentiles:
    p50: float
    p99: float
    mean: float

    @classmethod
    def of(cls, seconds: list[float]) -> Percentiles:
        ms = sorted(x * 1000 for x in seconds)
        p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
        return cls(round(statistics.median(ms), 2), round(p99, 2), round(statistics.mean(ms), 2))

    def __str__(self) -> str:
        return f"{self.p50:6.1f} / {self.p99:6.1f}"


@dataclass
class Stage:
    experiences: int
    load_per_s: float
    service_cached: Percentiles
    service_embedding: Percentiles
    fulltext_only: Percentiles
    vector_only: Percentiles
    recall_at_10: float
    recall_at_10_depth: float
    http_cached: Percentiles | None = None
    http_embedding: Percentiles | None = None
    httpx_cached: Percentiles | None = None  # HTTP cached again, through httpx
    load_average: float = 0.0  # of this shared machine while measuring (2 cores)


@dataclass
class Report:
    model_docs_per_s: float
    import_docs_per_s: float
    query_embed_ms: float = 0.0
    stages: list[Stage] = field(default_factory=list)


async def timed(calls: list[Callable[[], Awaitable[Any]]]) -> list[float]:
    out = []
    for call in calls:
        t0 = time.perf_counter()
        await call()
        out.append(time.perf_counter() - t0)
    return out


async def throughput(
    corpus: SyntheticCorpus, sample: int, rounds: int = 3, database: Database | None = None
) -> tuple[float, float]:
    """(model docs/s, import docs/s), both with the real model, on a fresh empty database.

    Each round times the model alone on the texts of ``sample`` generated experiences (each
    experience's text and its items' texts, as the import embeds them), then imports exactly
    those experiences; the medians over the rounds are reported, as either figure moves by 10-30 %
    from one minute to the next on a shared 2-core machine. The database is thrown away, so
    these real-model vectors never mix with the synthetic ones of the latency corpus.
    """
    model, imported = [], []
    async with fresh_plurum(database) as plurum:
        plurum.embedder.embed(["warm up"] * 16)
        for round_ in range(rounds):
            start = 10_000_000 + round_ * sample
            records = list(corpus.records(start, start + sample))
            # what the import embeds: each experience's text and its items' (entry hints)
            experiences = [transient(r) for r in records]
            texts = [embedding_text(e) for e in experiences]
            texts += [t for e in experiences for t in hints.ItemVectors(e, {}).missing]
            t0 = time.perf_counter()
            plurum.embedder.embed(texts)
            model.append(sample / (time.perf_counter() - t0))
            report = await import_lines(plurum, [json.dumps(r) for r in records], progress=False)
            imported.append(report.imported / report.seconds)
    return statistics.median(model), statistics.median(imported)


def service_search(plurum: Plurum, query: str) -> Callable[[], Awaitable[Any]]:
    body = s.SearchRequest(query=query, limit=10)

    async def call() -> None:
        async with plurum.transaction() as tx:  # what a request does
            await search.search(plurum, tx.db, None, body)

    return call


async def exact(plurum: Plurum, vector: list[float], limit: int) -> set[uuid.UUID]:
    """The true nearest public experiences: ``distance + 0`` cannot use the HNSW index."""
    distance = Experience.embedding.cosine_distance(vector)
    query = (
        select(Experience.id)
        .where(experience_visible_to(None), Experience.embedding.is_not(None))
        .order_by(distance + 0)
        .limit(limit)
    )
    async with plurum.reading() as db:
        return set(await db.scalars(query))


async def recall(plurum: Plurum, queries: list[str]) -> tuple[float, float]:
    """HNSW recall@10 against exact search: asking for 10, and as search asks (depth, top 10)."""
    at_10, at_depth = [], []
    for q in queries:
        vector = plurum.embedder.embed_query(q).tolist()
        async with plurum.vectors.connect() as vectors:
            hnsw10 = [i for i, _ in await store.nearest(vectors, vector, viewer=None, limit=10)]
            deep = await store.nearest(vectors, vector, viewer=None, limit=search.CANDIDATES)
        truth = await exact(plurum, vector, 10)
        at_10.append(len(truth.intersection(hnsw10)) / 10)
        at_depth.append(len(truth.intersection(i for i, _ in deep[:10])) / 10)
    return statistics.mean(at_10), statistics.mean(at_depth)


async def measure(
    plurum: Plurum, corpus: SyntheticCorpus, size: int, n: int, server: Server | None
) -> Stage:
    cached = corpus.queries(n, seed=1)
    for q in cached:
        plurum.embedder.embed_query(q)
    fresh = corpus.queries(n, seed=size)  # never asked before: the model runs in the call
    audience = audience_for(None)

    async def fulltext(q: str) -> None:
        await asyncio.to_thread(
            plurum.index.search, q, audience=audience, tags=[], min_quality=None, limit=100
        )

    async def vector(q: str) -> None:
        v = plurum.embedder.embed_query(q).tolist()
        async with plurum.vectors.connect() as vectors:
            await store.nearest(vectors, v, viewer=None, limit=search.CANDIDATES)

    # Warm PostgreSQL's buffers, the index's pages and the pools with other queries first:
    # the figures are for a server that has been serving, not for its first searches.
    warm = corpus.queries(n, seed=size + 3)
    for q in warm:
        plurum.embedder.embed_query(q)
    await timed([service_search(plurum, q) for q in warm])
    r10, r10_depth = await recall(plurum, cached[: min(n, 200)])
    stage = Stage(
        experiences=size,
        load_per_s=0.0,
        service_cached=Percentiles.of(await timed([service_search(plurum, q) for q in cached])),
        service_embedding=Percentiles.of(await timed([service_search(plurum, q) for q in fresh])),
        fulltext_only=Percentiles.of(await timed([partial(fulltext, q) for q in cached])),
        vector_only=Percentiles.of(await timed([partial(vector, q) for q in cached])),
        recall_at_10=round(r10, 4),
        recall_at_10_depth=round(r10_depth, 4),
    )
    if server is not None:
        await server.wait_level(plurum)
        http_fresh = corpus.queries(n, seed=size + 1)
        await server.times(corpus.queries(n, seed=size + 2))  # warm the server the same way
        await server.times(cached)  # the server's own query cache
        stage.http_cached = Percentiles.of(await server.times(cached))
        stage.http_embedding = Percentiles.of(await server.times(http_fresh))
        stage.httpx_cached = Percentiles.of(await server.httpx_times(cached))
    stage.load_average = round(os.getloadavg()[0], 1)
    return stage


def stages_for(args: argparse.Namespace) -> list[int]:
    if args.stages:
        return sorted(int(x) for x in args.stages.split(","))
    return sorted({min(10_000, args.experiences), min(30_000, args.experiences), args.experiences})


async def run(args: argparse.Namespace, database: Database | None = None) -> Report:
    cache = CachedEmbedder(shared_embedder())
    corpus = SyntheticCorpus(cache.embed(PHRASES, progress=not args.json))
    cache.close()
    model, imported = await throughput(corpus, args.sample, database=database)
    if args.import_only:
        return Report(model_docs_per_s=round(model, 2), import_docs_per_s=round(imported, 2))
    async with fresh_plurum(database, keep=args.keep, shared_buffers=args.shared_buffers) as plurum:
        progress = args.keep / "bench-progress.json" if args.keep else None
        state = json.loads(progress.read_text()) if progress and progress.exists() else {}
        loaded = int(state.get("loaded", 0))
        t0 = time.perf_counter()
        probes = corpus.queries(50, seed=99)
        for q in probes:
            plurum.embedder.embed([q])
        report = Report(
            model_docs_per_s=round(model, 2),
            import_docs_per_s=round(imported, 2),
            query_embed_ms=round((time.perf_counter() - t0) / len(probes) * 1000, 2),
        )
        server = Server(plurum.database) if args.http else None
        try:
            for size in stages_for(args):
                if size < loaded:
                    print(f"skipping {size}: the kept database already holds {loaded}", flush=True)
                    continue
                rate = 0.0
                if size > loaded:
                    if args.index_after:
                        with graphs_built_after(plurum.database, quiet=args.json):
                            rate = await load(plurum, corpus, loaded, size, quiet=args.json)
                    else:
                        rate = await load(plurum, corpus, loaded, size, quiet=args.json)
                    loaded = size
                    if progress:
                        progress.write_text(json.dumps({"loaded": loaded}))
                if server is not None and not server.started:
                    await server.start()
                # As `plurum serve` does after start-up: what loading built is not rescanned
                # by every full collection during the measurement.
                gc.collect()
                gc.freeze()
                stage = await measure(plurum, corpus, size, args.queries, server)
                stage.load_per_s = round(rate, 1)
                report.stages.append(stage)
                if not args.json:
                    print(stage_line(stage), flush=True)
        finally:
            if server is not None:
                server.stop()
            if progress:
                progress.write_text(json.dumps({"loaded": loaded}))
    return report


@contextlib.contextmanager
def graphs_built_after(database: Database, quiet: bool) -> Iterator[None]:
    """Load without the HNSW indexes (experiences' and items'), then build each at once.

    Inserting into an m = 32, ef_construction = 200 graph is most of a load's database time
    (each experience adds its own vector and its items'); building the graphs over the loaded
    rows takes a fraction of that, and gives the "built at once" graph of docs/search.md.
    """
    with psycopg.connect(database.url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE indexdef ILIKE '%USING hnsw%' "
            "AND tablename IN ('experiences', 'experience_items')"
        ).fetchall()
        for name, _ in rows:
            conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    try:
        yield
    finally:
        with psycopg.connect(database.url, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '2GB'")
            conn.execute("SET max_parallel_maintenance_workers = 2")
            for name, definition in rows:
                if not quiet:
                    print(f"building {name}…", flush=True)
                t0 = time.perf_counter()
                conn.execute(definition.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
                if not quiet:
                    print(f"built {name} in {time.perf_counter() - t0:.0f} s", flush=True)
            conn.execute("ANALYZE experiences")
            conn.execute("ANALYZE experience_items")


async def load(
    plurum: Plurum, corpus: SyntheticCorpus, start: int, stop: int, quiet: bool
) -> float:
    """Bulk import synthetic experiences [start, stop); returns experiences per second."""
    t0 = time.perf_counter()
    lines = (json.dumps(r) for r in corpus.records(start, stop))
    done = await import_lines(
        plurum, lines, total=stop - start, embed=corpus.embed, batch=500, progress=not quiet
    )
    return done.imported / (time.perf_counter() - t0)


HEADER = (
    f"{'experiences':>11}  {'load/s':>7}  {'service cached':>15}  {'service+embed':>15}  "
    f"{'BM25 only':>15}  {'vector only':>15}  {'HTTP cached':>15}  {'HTTP+embed':>15}  "
    f"{'httpx cached':>15}  "
    f"{'HNSW R@10':>9}  {'(depth)':>7}  {'load avg':>8}"
)


def stage_line(st: Stage) -> str:
    return (
        f"{st.experiences:>11}  {st.load_per_s:>7.0f}  {st.service_cached!s:>15}  "
        f"{st.service_embedding!s:>15}  {st.fulltext_only!s:>15}  {st.vector_only!s:>15}  "
        f"{st.http_cached or '-'!s:>15}  {st.http_embedding or '-'!s:>15}  "
        f"{st.httpx_cached or '-'!s:>15}  "
        f"{st.recall_at_10:>9.3f}  {st.recall_at_10_depth:>7.3f}  {st.load_average:>8.1f}"
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.split("\n")[0])
    p.add_argument("--experiences", type=int, default=100_000)
    p.add_argument("--stages", help="comma-separated sizes (default 10k, 30k and the total)")
    p.add_argument("--queries", type=int, default=200, help="queries per measurement")
    p.add_argument("--sample", type=int, default=1024, help="texts for the model vs import speed")
    p.add_argument("--no-http", dest="http", action="store_false", help="skip the HTTP server")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--import-only", action="store_true", help="only bulk import against the model alone"
    )
    p.add_argument("--keep", type=Path, help="keep database and index here; resume from it")
    p.add_argument(
        "--index-after",
        action="store_true",
        help="load without the HNSW indexes and build them after (a graph built at once; "
        "several times faster at 100k)",
    )
    p.add_argument(
        "--shared-buffers",
        default="1GB",
        help="PostgreSQL shared_buffers of the embedded server (default 1GB; its own is 128MB)",
    )
    return p


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = parser().parse_args()
    if not args.json and not args.import_only:
        print("milliseconds, p50 / p99", flush=True)
        print(HEADER, flush=True)
    # The event loop `plurum serve` runs on (uvicorn picks uvloop), so that "service" times
    # the same code under the same loop as a request, minus HTTP.
    report = uvloop.run(run(args))
    if args.json:
        print(json.dumps(asdict(report), indent=2))
        return
    print(
        f"bulk import with the real model: {report.import_docs_per_s:.1f} experiences/s; "
        f"the model alone on their texts (and their items'): {report.model_docs_per_s:.1f}/s "
        f"({report.import_docs_per_s / report.model_docs_per_s:.0%})"
        + ("" if args.import_only else f"; one query embedding: {report.query_embed_ms:.1f} ms")
    )


if __name__ == "__main__":
    main()
