"""Search quality: nDCG@10 and recall@100 for full-text only, vector only and hybrid.

    python -m bench.quality --dataset ../shared/data/scifact
    python -m bench.quality --dataset bench/data/experiences --json

Every document is imported as an experience (SciFact: goal = title, context = text) into a
fresh embedded database through ``plurum_backend.importer``; every query runs through
``services.search.rank``, the ranking behind ``POST /experiences/search``. Document embeddings
are cached under bench/.cache, so only the first run pays for the model.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tqdm import tqdm

from bench.cache import CachedEmbedder
from bench.datasets import Dataset, load
from bench.instance import fresh_plurum
from bench.metrics import mean, ndcg_at, recall_at, reciprocal_rank
from plurum_backend.importer import import_lines, record_id
from plurum_backend.runtime import Plurum
from plurum_backend.services.search import TUNING, Mode, Tuning, rank
from plurum_backend.store.database import Database

MODES: tuple[Mode, ...] = ("fulltext", "vector", "hybrid")


@dataclass
class Loaded:
    plurum: Plurum
    dataset: Dataset
    ids: dict[uuid.UUID, str]  # stored id -> dataset id
    import_seconds: float


@dataclass(frozen=True)
class Score:
    ndcg10: float
    recall100: float
    mrr: float
    queries: int


@contextlib.asynccontextmanager
async def loaded(
    dataset: Dataset, progress: bool = True, database: Database | None = None
) -> AsyncIterator[Loaded]:
    async with fresh_plurum(database) as plurum:
        cache = CachedEmbedder(plurum.embedder)
        report = await import_lines(
            plurum, dataset.lines, total=len(dataset.lines), embed=cache.embed, progress=progress
        )
        if report.invalid:
            raise SystemExit(f"{dataset.name}: {report.summary()}")
        ids = {
            record_id(json.loads(line)["id"], line): str(json.loads(line)["id"])
            for line in dataset.lines
        }
        texts = [q.text for q in dataset.queries]
        for text, vector in zip(texts, cache.embed(texts, progress=progress), strict=True):
            plurum.embedder.remember(text, vector)
        cache.close()
        yield Loaded(plurum, dataset, ids, report.seconds)


async def rankings(
    run: Loaded, mode: Mode, tuning: Tuning, progress: bool = True
) -> dict[str, list[str]]:
    """Each query's ranked dataset ids, through the same ranking as the search endpoint."""
    result: dict[str, list[str]] = {}
    bar = tqdm(
        run.dataset.queries,
        desc=f"Querying ({mode})",
        unit="q",
        file=sys.stderr,
        disable=not progress,
        leave=False,
    )
    for query in bar:
        ranked = await rank(run.plurum, query=query.text, viewer=None, mode=mode, tuning=tuning)
        result[query.id] = [run.ids[f.id] for f in ranked[:100]]
    return result


def scores(dataset: Dataset, ranked: dict[str, list[str]]) -> dict[str, Score]:
    """Scores over all queries and per query kind."""
    answerable = [q for q in dataset.queries if q.answerable]
    kinds: dict[str, list[str]] = {"all": [q.id for q in answerable]}
    for q in answerable:
        kinds.setdefault(q.kind, []).append(q.id)
    if len(kinds) == 2:  # one kind only: "all" says it
        kinds = {"all": kinds["all"]}
    return {
        kind: Score(
            ndcg10=mean([ndcg_at(ranked[q], dataset.qrels[q]) for q in ids]),
            recall100=mean([recall_at(ranked[q], dataset.qrels[q]) for q in ids]),
            mrr=mean([reciprocal_rank(ranked[q], dataset.qrels[q]) for q in ids]),
            queries=len(ids),
        )
        for kind, ids in kinds.items()
    }


async def evaluate(
    run: Loaded, tuning: Tuning, modes: Sequence[Mode] = MODES, progress: bool = True
) -> dict[str, dict[str, Score]]:
    return {
        mode: scores(run.dataset, await rankings(run, mode, tuning, progress)) for mode in modes
    }


def table(name: str, results: dict[str, dict[str, Score]]) -> str:
    kinds = list(next(iter(results.values())))
    head = f"{name:<12}" + "".join(f"{'nDCG@10 ' + k:>20}" for k in kinds) + f"{'recall@100':>12}"
    lines = [head, "-" * len(head)]
    for mode, by_kind in results.items():
        cells = "".join(f"{by_kind[k].ndcg10:>20.3f}" for k in kinds)
        lines.append(f"{mode:<12}{cells}{by_kind['all'].recall100:>12.3f}")
    counts = ", ".join(f"{k} {s.queries}" for k, s in next(iter(results.values())).items())
    lines.append(f"queries: {counts}")
    return "\n".join(lines)


def tuning_from(args: argparse.Namespace) -> Tuning:
    changes = {
        name: value
        for name, value in (
            ("depth", args.depth),
            ("fusion", args.fusion),
            ("rrf_k", args.rrf_k),
            ("fulltext_share", args.share),
            ("error_fulltext_share", args.error_share),
        )
        if value is not None
    }
    return replace(TUNING, **changes)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", type=Path, required=True, help="a BEIR or Plurum dataset dir")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--depth", type=int, help="candidates from each side")
    p.add_argument("--fusion", choices=["rrf", "convex"])
    p.add_argument("--rrf-k", type=int)
    p.add_argument("--share", type=float, help="full-text share of the fusion")
    p.add_argument("--error-share", type=float, help="full-text share for error-shaped queries")
    return p


async def main_async(args: argparse.Namespace, database: Database | None = None) -> None:
    dataset = load(args.dataset)
    tuning = tuning_from(args)
    started = time.perf_counter()
    async with loaded(dataset, progress=not args.json, database=database) as run:
        results = await evaluate(run, tuning, progress=not args.json)
        elapsed = time.perf_counter() - started
    if args.json:
        out = {
            "dataset": dataset.name,
            "documents": len(dataset.lines),
            "tuning": asdict(tuning),
            "results": {m: {k: asdict(s) for k, s in r.items()} for m, r in results.items()},
        }
        print(json.dumps(out, indent=2))
        return
    print(table(dataset.name, results))
    print(
        f"{len(dataset.lines)} documents imported in {run.import_seconds:.1f}s; "
        f"{len(dataset.queries)} queries x {len(results)} modes; total {elapsed:.1f}s; "
        f"tuning {asdict(tuning)}"
    )


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    asyncio.run(main_async(parser().parse_args()))


if __name__ == "__main__":
    main()
