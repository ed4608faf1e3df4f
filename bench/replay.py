"""Search replays: each query's candidates with every signal, collected once, scored offline.

    python -m bench.replay --dataset ../shared/data/agentdev

Loads a dataset like bench.quality and stores, per query, what ``services.search`` sees:
each side's top 300 with scores, the cosine of every candidate (and of each of its item
vectors), the query's analysed terms with their document frequencies and, per candidate,
which of those terms it contains.
bench.fit reads these files (bench/.cache/replay-<name>.pkl) to compare fusions and fit the
relevance model without running search again.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from bench.cache import CACHE_DIR
from bench.datasets import load
from bench.quality import loaded
from bench.tune import all_experiences
from plurum_backend.search.documents import index_doc
from plurum_backend.search.fulltext import analyzer, query_terms
from plurum_backend.services.search import candidates

DEPTH = 300


@dataclass
class QueryReplay:
    id: str
    text: str
    kind: str
    scope: str
    grades: dict[str, int]  # dataset id -> grade
    fulltext: list[tuple[str, float]]  # dataset id, BM25 score, best first
    vector: list[tuple[str, float]]  # dataset id, cosine, best first
    similarity: dict[str, float]  # cosine of every candidate of either side
    terms: dict[str, int]  # analysed query term -> document frequency
    matched: dict[str, frozenset[str]] = field(default_factory=dict)  # candidate -> its terms
    # candidate -> the cosine of each of its item vectors (dead ends, gotchas, breakthroughs)
    items: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class Replay:
    name: str
    documents: int
    queries: list[QueryReplay]


def path_of(name: str) -> Path:
    return CACHE_DIR / f"replay-{name}.pkl"


async def collect(root: Path) -> Replay:
    dataset = load(root)
    tokens = analyzer()
    async with loaded(dataset) as run:
        exps = await all_experiences(run)
        doc_terms = {run.ids[e.id]: frozenset(tokens.analyze(index_doc(e).text())) for e in exps}
        out: list[QueryReplay] = []
        searcher = run.plurum.index._index.searcher()
        for q in tqdm(dataset.queries, desc="Replaying", unit="q", file=sys.stderr):
            found = await candidates(
                run.plurum, query=q.text, viewer=None, tags=[], min_quality=None, depth=DEPTH
            )
            terms = {
                t: int(searcher.doc_freq("text", t))
                for t in dict.fromkeys(tokens.analyze(query_terms(q.text)))
            }
            ids = {h.id: run.ids[h.id] for h in (*found.fulltext, *found.vector)}
            sims: dict[uuid.UUID, float] = found.similarity
            out.append(
                QueryReplay(
                    id=q.id,
                    text=q.text,
                    kind=q.kind,
                    scope=q.scope,
                    grades=dataset.qrels.get(q.id, {}),
                    fulltext=[(ids[h.id], h.score) for h in found.fulltext],
                    vector=[(ids[h.id], h.score) for h in found.vector],
                    similarity={ids[d]: v for d, v in sims.items() if d in ids},
                    terms=terms,
                    matched={d: doc_terms[d] & terms.keys() for d in ids.values()},
                    items={ids[d]: v for d, v in found.items.items() if d in ids},
                )
            )
    return Replay(dataset.name, len(dataset.lines), out)


class _Unpickler(pickle.Unpickler):
    """Replays written by ``python -m bench.replay`` name their classes ``__main__``."""

    def find_class(self, module: str, name: str) -> object:
        if module == "__main__" and name in ("Replay", "QueryReplay"):
            return {"Replay": Replay, "QueryReplay": QueryReplay}[name]
        return super().find_class(module, name)


def read(name: str) -> Replay:
    with path_of(name).open("rb") as f:
        replay: Replay = _Unpickler(f).load()
    return replay


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", type=Path, required=True)
    args = p.parse_args()
    replay = asyncio.run(collect(args.dataset))
    path_of(replay.name).parent.mkdir(parents=True, exist_ok=True)
    with path_of(replay.name).open("wb") as f:
        pickle.dump(replay, f)
    print(f"{replay.name}: {len(replay.queries)} queries -> {path_of(replay.name)}")


if __name__ == "__main__":
    main()
