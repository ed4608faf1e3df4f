"""Pseudo-relevance feedback on the vector side, tried once (docs/search.md, "Pseudo-relevance
feedback"): Rocchio, ``q' = q + beta * mean(top-k document vectors)``, re-scoring every
candidate of the stored replay by its cosine to ``q'``, then the shipped fusion.

    python -m bench.prf --data ../shared/data   # the replays of bench.replay; agentdev and
                                                # scifact read from --data

Document and query vectors come from the embedding cache (bench/.cache), as
``bench.embeddings`` makes them (``documents.embedding_text`` of each imported line). The
candidates are the replay's (each side's top 300), not a second HNSW query with ``q'``: the
figures are what PRF can do for the ranking, at the cost of a second vector query (not paid
here).
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.cache import CachedEmbedder
from bench.datasets import load
from bench.fit import kinds_of, load_all
from bench.metrics import mean, ndcg_at
from bench.replay import QueryReplay, Replay
from plurum_backend.importer import _parse, experience_of
from plurum_backend.search.documents import embedding_text
from plurum_backend.search.embedder import shared_embedder
from plurum_backend.search.fulltext import QueryTerms
from plurum_backend.search.fusion import Hit, Tuning
from plurum_backend.services.scrub import Scrub
from plurum_backend.services.search import Candidates, assessed

ROOTS = {"experiences": Path("bench/data/experiences")}  # the others: under --data
DEPTH = 100


def vectors(root: Path, queries: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    dataset = load(root)
    scrub = Scrub()
    ids, texts = [], []
    for number, line in enumerate(dataset.lines, start=1):
        record, exp_id = _parse(number, line)
        ids.append(str(json.loads(line)["id"]))
        texts.append(embedding_text(experience_of(record, exp_id, number, scrub)))
    cache = CachedEmbedder(shared_embedder())
    try:
        docs = cache.embed(texts, progress=True)
        asked = cache.embed(queries, progress=True)
    finally:
        cache.close()
    return dict(zip(ids, docs, strict=True)), asked


def _uid(doc: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, doc)


def ranking(
    q: QueryReplay, replay: Replay, similarity: dict[str, float], tuning: Tuning
) -> list[str]:
    back = {_uid(d): d for d in similarity}
    back.update({_uid(d): d for d, _ in q.fulltext})
    vector = sorted(((d, similarity[d]) for d, _ in q.vector), key=lambda p: -p[1])[:DEPTH]
    found = Candidates(
        fulltext=[Hit(_uid(d), s) for d, s in q.fulltext[:DEPTH]],
        vector=[Hit(_uid(d), s) for d, s in vector],
        similarity={_uid(d): v for d, v in similarity.items()},
        items={_uid(d): v for d, v in q.items.items()},
        terms=QueryTerms(replay.documents, dict(q.terms)),
    )
    return [back[f.id] for f in assessed(q.text, found, tuning)]


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(prog="python -m bench.prf", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = p.parse_args()
    replays = load_all()
    roots = {name: ROOTS.get(name, args.data / name) for name in replays}
    variants = [(0.0, 0)] + [(b, k) for b in (0.25, 0.5, 1.0) for k in (3, 5)]
    print(
        "| variant | "
        + " | ".join(f"{n} {k}" for n, r in replays.items() for k in kinds_of(r))
        + " |"
    )
    rows: dict[str, list[str]] = {}
    for name, replay in replays.items():
        docs, asked = vectors(roots[name], [q.text for q in replay.queries])
        for pooling in ("none", "max"):
            tuning = replace(Tuning(), pooling=pooling)
            for beta, k in variants:
                label = (
                    f"Rocchio beta {beta}, top {k} (vector side)" if beta else "no feedback"
                ) + (", items pooled" if pooling == "max" else ", whole text only")
                ranked: dict[str, list[str]] = {}
                for q, qv in zip(replay.queries, asked, strict=True):
                    sims = dict(q.similarity)
                    if beta:
                        top = [d for d, _ in q.vector[:k]]
                        moved = qv + beta * np.mean([docs[d] for d in top], axis=0)
                        moved /= np.linalg.norm(moved)
                        sims = {d: float(moved @ docs[d]) for d in sims}
                    ranked[q.id] = ranking(q, replay, sims, tuning)
                cells = [
                    f"{mean([ndcg_at(ranked[q.id], q.grades) for q in qs]):.3f}"
                    for qs in kinds_of(replay).values()
                ]
                rows.setdefault(label, []).extend(cells)
    for label, cells in rows.items():
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
