"""Search quality: nDCG@10, recall@100 and the relevance floor's abstain rate and answer loss.

    python -m bench.quality --dataset ../shared/data/scifact
    python -m bench.quality --dataset ../shared/data/agentdev --min-relevance 0.05
    python -m bench.quality --dataset bench/data/experiences --json

nDCG@10 and recall@100 are for full-text only, vector only and hybrid, without a floor
(``min_relevance: 0``). The floor lines are for the hybrid ranking at the server's default
floor (or ``--min-relevance``), applied as the server does (nothing when the best hit's
relevance is below it): nDCG@10 with the floor applied; the *abstain rate*, the share
of ``none`` queries (nothing relevant exists; agentdev) that return no result, off- and
near-domain apart; and the *answer loss*, the share of answerable queries that have a best-
graded target in the top 10 without a floor but not with it.

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
from plurum_backend.services.search import DEFAULT_MIN_RELEVANCE, TUNING, Mode, Tuning, rank
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


Ranked = dict[str, list[tuple[str, float]]]  # query id -> (dataset id, relevance), best first


async def rankings(run: Loaded, mode: Mode, tuning: Tuning, progress: bool = True) -> Ranked:
    """Each query's ranked dataset ids with their relevance, through the search ranking."""
    result: Ranked = {}
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
        result[query.id] = [(run.ids[f.id], f.relevance) for f in ranked[:100]]
    return result


@dataclass(frozen=True)
class Floor:
    min_relevance: float
    ndcg10: float  # hybrid, with the floor applied (answerable queries)
    ndcg10_without: float
    answer_loss: float
    answerable: int  # answerable queries with a best-graded target in the top 10 unfloored
    abstain: dict[str, float]  # scope ("off", "near") -> share of none queries left empty
    none_queries: dict[str, int]


def floor_figures(dataset: Dataset, ranked: Ranked, floor: float) -> Floor:
    lost = answered = 0
    with_floor, without = [], []
    empty: dict[str, list[bool]] = {}
    for q in dataset.queries:
        # as the server applies it (services.search.answered): the whole ranking when the
        # best hit reaches the floor, else nothing
        best_hit = max((r for _, r in ranked[q.id]), default=0.0)
        kept = [d for d, _ in ranked[q.id]] if ranked[q.id] and best_hit >= floor else []
        if not q.answerable:
            empty.setdefault(q.scope or "none", []).append(not kept)
            continue
        grades = dataset.qrels[q.id]
        best = max(grades.values())
        targets = {d for d, g in grades.items() if g == best}
        unfloored = [d for d, _ in ranked[q.id]]
        if targets.intersection(unfloored[:10]):
            answered += 1
            lost += not targets.intersection(kept[:10])
        with_floor.append(ndcg_at(kept, grades))
        without.append(ndcg_at(unfloored, grades))
    return Floor(
        floor,
        mean(with_floor),
        mean(without),
        lost / answered if answered else 0.0,
        answered,
        {scope: sum(flags) / len(flags) for scope, flags in empty.items()},
        {scope: len(flags) for scope, flags in empty.items()},
    )


def scores(dataset: Dataset, ranked: Ranked | dict[str, list[str]]) -> dict[str, Score]:
    """Scores over all queries and per query kind."""
    answerable = [q for q in dataset.queries if q.answerable]
    kinds: dict[str, list[str]] = {"all": [q.id for q in answerable]}
    for q in answerable:
        kinds.setdefault(q.kind, []).append(q.id)
    if len(kinds) == 2:  # one kind only: "all" says it
        kinds = {"all": kinds["all"]}
    docs = {q: [d if isinstance(d, str) else d[0] for d in hits] for q, hits in ranked.items()}
    return {
        kind: Score(
            ndcg10=mean([ndcg_at(docs[q], dataset.qrels[q]) for q in ids]),
            recall100=mean([recall_at(docs[q], dataset.qrels[q]) for q in ids]),
            mrr=mean([reciprocal_rank(docs[q], dataset.qrels[q]) for q in ids]),
            queries=len(ids),
        )
        for kind, ids in kinds.items()
    }


async def evaluate(
    run: Loaded,
    tuning: Tuning,
    modes: Sequence[Mode] = MODES,
    progress: bool = True,
    floor: float = DEFAULT_MIN_RELEVANCE,
) -> tuple[dict[str, dict[str, Score]], Floor | None]:
    results: dict[str, dict[str, Score]] = {}
    figures = None
    for mode in modes:
        ranked = await rankings(run, mode, tuning, progress)
        results[mode] = scores(run.dataset, ranked)
        if mode == "hybrid":
            figures = floor_figures(run.dataset, ranked, floor)
    return results, figures


def floor_table(f: Floor) -> str:
    abstain = ", ".join(
        f"{scope}-domain {rate:.3f} ({f.none_queries[scope]} queries)"
        for scope, rate in sorted(f.abstain.items())
    )
    return (
        f"floor min_relevance {f.min_relevance:g} (hybrid): nDCG@10 {f.ndcg10:.3f} "
        f"(without floor {f.ndcg10_without:.3f}); answer loss {f.answer_loss:.3f} "
        f"of {f.answerable} answered; abstain " + (abstain or "- (no none queries in this set)")
    )


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
    p.add_argument(
        "--min-relevance",
        type=float,
        default=DEFAULT_MIN_RELEVANCE,
        help=f"the floor to report (default: the server's, {DEFAULT_MIN_RELEVANCE})",
    )
    return p


async def main_async(args: argparse.Namespace, database: Database | None = None) -> None:
    dataset = load(args.dataset)
    tuning = tuning_from(args)
    started = time.perf_counter()
    async with loaded(dataset, progress=not args.json, database=database) as run:
        results, floor = await evaluate(
            run, tuning, progress=not args.json, floor=args.min_relevance
        )
        elapsed = time.perf_counter() - started
    if args.json:
        out = {
            "dataset": dataset.name,
            "documents": len(dataset.lines),
            "tuning": asdict(tuning),
            "results": {m: {k: asdict(s) for k, s in r.items()} for m, r in results.items()},
            "floor": asdict(floor) if floor else None,
        }
        print(json.dumps(out, indent=2))
        return
    print(table(dataset.name, results))
    if floor is not None:
        print(floor_table(floor))
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
