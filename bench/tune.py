"""Exploring search settings on a dev set (what docs/search.md reports as the tuning tables).

    python -m bench.tune --dataset ../shared/data/scifact --what fusion
    python -m bench.tune --dataset bench/data/experiences --what fulltext

Loads the dataset once like bench.quality, collects each side's candidates with their scores
through ``services.search.candidates``, then scores many fusions offline with the production
``fuse_hits``. ``--what fulltext`` builds side indexes with other analyzers and field layouts;
``--what embedding`` compares what text of an experience is embedded (exact cosine, numpy).
The chosen settings are then confirmed end to end with bench.quality.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import tantivy
from sqlalchemy import select
from tqdm import tqdm

from bench.cache import CachedEmbedder
from bench.datasets import load
from bench.quality import Loaded, Score, loaded, scores
from plurum_backend.search.documents import embedding_text, index_doc, item_text
from plurum_backend.search.fulltext import query_terms
from plurum_backend.search.fusion import Hit, Tuning, error_shaped, fuse_hits
from plurum_backend.services.search import TUNING, Candidates, candidates
from plurum_backend.store.models import Experience

Lists = dict[str, Candidates]
# The fusion search started from: equal-weight reciprocal rank fusion, k = 60.
STARTING = Tuning(fusion="rrf", rrf_k=60, fulltext_share=0.5, error_fulltext_share=0.5)


async def collect(run: Loaded, depth: int) -> Lists:
    out: Lists = {}
    for q in tqdm(run.dataset.queries, desc="Candidates", unit="q", file=sys.stderr):
        out[q.id] = await candidates(
            run.plurum, query=q.text, viewer=None, tags=[], min_quality=None, depth=depth
        )
    return out


Fuse = Callable[[str, list[Hit], list[Hit]], list[uuid.UUID]]


def production(tuning: Tuning) -> Fuse:
    return lambda q, ft, vec: [f.id for f in fuse_hits(q, ft, vec, tuning)]


def normalized_by(norm: str, share: float) -> Fuse:
    """Convex fusion with another normalisation (not shipped): z-score, or TM2C2 (cosine
    scaled from a theoretical minimum of 0 instead of the list's minimum)."""

    def scale(hits: list[Hit], low: float | None) -> dict[uuid.UUID, float]:
        if not hits:
            return {}
        values = [h.score for h in hits]
        if norm == "z":
            mu, sd = statistics.mean(values), statistics.pstdev(values) or 1.0
            return {h.id: (h.score - mu) / sd for h in hits}
        bottom = min(values) if low is None else low
        spread = max(values) - bottom
        return {h.id: (h.score - bottom) / spread if spread > 0 else 1.0 for h in hits}

    missing = -3.0 if norm == "z" else 0.0

    def fuse(query: str, ft: list[Hit], vec: list[Hit]) -> list[uuid.UUID]:
        a, b = scale(ft, None), scale(vec, 0.0 if norm == "tm2c2" else None)
        total = {d: share * a.get(d, missing) + (1 - share) * b.get(d, missing) for d in {*a, *b}}
        return sorted(total, key=lambda d: -total[d])

    return fuse


def score_fusion(
    run: Loaded, lists: Lists, tuning: Tuning, side: str = "hybrid", fuse: Fuse | None = None
) -> dict[str, Score]:
    fuse = fuse or production(tuning)
    ranked: dict[str, list[str]] = {}
    text = {q.id: q.text for q in run.dataset.queries}
    for qid, c in lists.items():
        ft = c.fulltext[: tuning.depth] if side != "vector" else []
        vec = c.vector[: tuning.depth] if side != "fulltext" else []
        ranked[qid] = [run.ids[d] for d in fuse(text[qid], ft, vec)[:100]]
    return scores(run.dataset, ranked)


def row(label: str, result: dict[str, Score]) -> str:
    cells = "  ".join(f"{k} {s.ndcg10:.3f}" for k, s in result.items())
    return f"{label:<44} nDCG@10 {cells}  R@100 {result['all'].recall100:.3f}"


def fusion_report(run: Loaded, lists: Lists) -> None:
    base = replace(TUNING, depth=100)
    print(row("fulltext only", score_fusion(run, lists, base, "fulltext")))
    print(row("vector only", score_fusion(run, lists, base, "vector")))
    errors = sum(error_shaped(q.text) for q in run.dataset.queries)
    print(f"error-shaped queries: {errors} of {len(run.dataset.queries)}")
    for k, share in itertools.product((5, 10, 20, 60, 100), (0.3, 0.4, 0.5, 0.6, 0.7)):
        t = replace(base, fusion="rrf", rrf_k=k, fulltext_share=share, error_fulltext_share=share)
        print(row(f"rrf k={k} share={share}", score_fusion(run, lists, t)))
    for share in (0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7):
        t = replace(base, fusion="convex", fulltext_share=share, error_fulltext_share=share)
        print(row(f"convex share={share}", score_fusion(run, lists, t)))
    for norm in ("z", "tm2c2"):
        fuse = normalized_by(norm, 0.5)
        print(
            row(
                f"convex share=0.5, {norm} normalisation", score_fusion(run, lists, base, fuse=fuse)
            )
        )
    for fusion, share, err in itertools.product(
        ("rrf", "convex"), (0.3, 0.4, 0.5), (0.5, 0.6, 0.7, 0.8)
    ):
        t = replace(base, fusion=fusion, rrf_k=60, fulltext_share=share, error_fulltext_share=err)  # type: ignore[arg-type]
        print(row(f"{fusion} share={share} error_share={err}", score_fusion(run, lists, t)))
    for depth in (10, 20, 50, 100, 200, 300):
        t = replace(TUNING, depth=depth, error_fulltext_share=TUNING.fulltext_share)
        print(row(f"convex 0.5, depth={depth}", score_fusion(run, lists, t)))


async def all_experiences(run: Loaded) -> list[Experience]:
    async with run.plurum.reading() as db:
        return list(await db.scalars(select(Experience)))


def analyzer(stem: bool, stop: bool) -> tantivy.TextAnalyzer:
    b = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    b = b.filter(tantivy.Filter.remove_long(40)).filter(tantivy.Filter.lowercase())
    if stop:
        b = b.filter(tantivy.Filter.stopword("english"))
    if stem:
        b = b.filter(tantivy.Filter.stemmer("english"))
    return b.build()


def side_index(
    exps: list[Experience], stem: bool, stop: bool, fields: dict[str, float], where: Path
) -> Callable[[str, int], list[Hit]]:
    schema_builder = tantivy.SchemaBuilder()
    schema_builder.add_text_field("id", stored=True, tokenizer_name="raw")
    for name in ("goal", "tags_text", "body", "all"):
        schema_builder.add_text_field(name, tokenizer_name="variant")
    schema = schema_builder.build()
    index = tantivy.Index(schema, path=str(where))
    index.register_tokenizer("variant", analyzer(stem, stop))
    writer = index.writer(heap_size=64_000_000, num_threads=1)
    for exp in exps:
        d = index_doc(exp)
        tags = " ".join(d.tags)
        writer.add_document(
            tantivy.Document(
                id=d.id,
                goal=d.goal,
                tags_text=tags,
                body=d.body,
                all="\n".join((d.goal, tags, d.body)),
            )
        )
    writer.commit()
    index.reload()

    def search(text: str, limit: int) -> list[Hit]:
        terms = query_terms(text)
        if not terms:
            return []
        query = index.parse_query(terms, default_field_names=list(fields), field_boosts=fields)
        searcher = index.searcher()
        hits = searcher.search(query, limit=limit).hits
        return [Hit(uuid.UUID(searcher.doc(a)["id"][0]), float(s)) for s, a in hits]

    return search


async def fulltext_report(run: Loaded, lists: Lists) -> None:
    exps = await all_experiences(run)
    variants = [
        (
            "en_stem goal2 tags1.5 body1 (current)",
            True,
            False,
            {"goal": 2.0, "tags_text": 1.5, "body": 1.0},
        ),
        ("en_stem one field", True, False, {"all": 1.0}),
        ("en_stem goal1 tags1 body1", True, False, {"goal": 1.0, "tags_text": 1.0, "body": 1.0}),
        ("en_stem goal1.5 tags1 body1", True, False, {"goal": 1.5, "tags_text": 1.0, "body": 1.0}),
        ("en_stem goal3 tags1.5 body1", True, False, {"goal": 3.0, "tags_text": 1.5, "body": 1.0}),
        (
            "en_stem+stop goal2 tags1.5 body1",
            True,
            True,
            {"goal": 2.0, "tags_text": 1.5, "body": 1.0},
        ),
        ("en_stem+stop one field", True, True, {"all": 1.0}),
        ("en_stem+stop goal1 + one field", True, True, {"goal": 1.0, "all": 1.0}),
        ("en_stem goal1 + one field", True, False, {"goal": 1.0, "all": 1.0}),
        ("no stem goal2 tags1.5 body1", False, False, {"goal": 2.0, "tags_text": 1.5, "body": 1.0}),
        ("no stem+stop one field", False, True, {"all": 1.0}),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for n, (label, stem, stop, fields) in enumerate(variants):
            where = Path(tmp) / str(n)
            where.mkdir()
            search = side_index(exps, stem, stop, fields, where)
            swapped = {
                q.id: Candidates(search(q.text, 300), lists[q.id].vector)
                for q in run.dataset.queries
            }
            print(row(label + " [bm25]", score_fusion(run, swapped, TUNING, "fulltext")))
            print(row(label + " [hybrid, starting RRF]", score_fusion(run, swapped, STARTING)))


def embedding_variants() -> dict[str, Callable[[Experience], list[str]]]:
    def items(exp: Experience, full: bool) -> list[str]:
        lists = (exp.breakthroughs, exp.gotchas, exp.dead_ends)
        if full:
            return [item_text(i) for lst in lists for i in lst]
        return [str(i.get("description", "")) for lst in lists for i in lst if i.get("description")]

    return {
        "current (goal, tags, descriptions, context)": lambda e: [embedding_text(e)],
        "goal, context, descriptions": lambda e: ["\n".join([e.goal, e.context, *items(e, False)])],
        "goal + full items + context": lambda e: ["\n".join([e.goal, *items(e, True), e.context])],
        "goal only": lambda e: [e.goal],
        "mean(goal, context, each item)": lambda e: [e.goal, e.context, *items(e, True)],
        "mean(current, goal)": lambda e: [embedding_text(e), e.goal],
        "mean(goal+tags, context, breakthroughs+gotchas)": lambda e: [
            e.goal + "\n" + " ".join(e.tags),
            e.context,
            "\n".join(item_text(i) for i in (*e.breakthroughs, *e.gotchas)),
        ],
    }


async def embedding_report(run: Loaded, lists: Lists) -> None:
    exps = await all_experiences(run)
    cache = CachedEmbedder(run.plurum.embedder)
    queries = run.dataset.queries
    qvec = cache.embed([q.text for q in queries])
    for label, texts_of in embedding_variants().items():
        parts = [[t for t in texts_of(e) if t.strip()] for e in exps]
        flat = [t for p in parts for t in p]
        vecs = cache.embed(flat, progress=True)
        docs, start = [], 0
        for p in parts:
            v = vecs[start : start + len(p)].mean(axis=0)
            docs.append(v / np.linalg.norm(v))
            start += len(p)
        matrix = np.stack(docs)
        sims = qvec @ matrix.T
        swapped = {}
        for qi, q in enumerate(queries):
            order = np.argsort(-sims[qi])[:300]
            vec = [Hit(exps[i].id, float(sims[qi, i])) for i in order]
            swapped[q.id] = Candidates(lists[q.id].fulltext, vec)
        print(row(label + " [vector]", score_fusion(run, swapped, TUNING, "vector")))
        print(row(label + " [hybrid]", score_fusion(run, swapped, TUNING)))
    cache.close()


async def main_async(args: argparse.Namespace) -> None:
    dataset = load(args.dataset)
    async with loaded(dataset) as run:
        lists = await collect(run, 300)
        if args.what == "fusion":
            fusion_report(run, lists)
        elif args.what == "fulltext":
            await fulltext_report(run, lists)
        else:
            await embedding_report(run, lists)


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(prog="python -m bench.tune")
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--what", choices=["fusion", "fulltext", "embedding"], default="fusion")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
