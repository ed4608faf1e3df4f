"""The cost of multi-vector documents on the search p50, side by side in one run.

    python -m bench.latency --experiences 100000 --stages 100000 --no-http --keep DIR
    python -m bench.search_ab --keep DIR

Opens the corpus ``bench.latency`` kept in DIR and times the search service (the code behind
POST /experiences/search, one session per call, as bench.latency's "service cached") with
the shipped tuning and with item vectors off (``pooling="none"``: no item statement, the
whole-text cosine alone), alternating blocks of queries so that both arms see the same
machine load. Query embeddings are cached first in both arms.
"""

from __future__ import annotations

import argparse
import gc
import os
from dataclasses import replace
from pathlib import Path

import uvloop

from bench.cache import CachedEmbedder
from bench.instance import fresh_plurum
from bench.latency import Percentiles, service_search, timed
from bench.synthetic import PHRASES, SyntheticCorpus
from plurum_backend.search.embedder import shared_embedder
from plurum_backend.services import search

ARMS = {
    "shipped (items pooled)": search.TUNING,
    "items off": replace(search.TUNING, pooling="none"),
}


async def run(keep: Path, queries: int, blocks: int) -> dict[str, Percentiles]:
    cache = CachedEmbedder(shared_embedder())
    corpus = SyntheticCorpus(cache.embed(PHRASES))
    cache.close()
    times: dict[str, list[float]] = {arm: [] for arm in ARMS}
    async with fresh_plurum(keep=keep, shared_buffers="1GB") as plurum:
        asked = corpus.queries(queries, seed=1)
        warm = corpus.queries(queries, seed=7)
        for q in (*asked, *warm):
            plurum.embedder.embed_query(q)
        for tuning in ARMS.values():
            search.TUNING = tuning
            await timed([service_search(plurum, q) for q in warm])
        gc.collect()
        gc.freeze()
        size = max(1, len(asked) // blocks)
        for start in range(0, len(asked), size):
            chunk = asked[start : start + size]
            for arm, tuning in ARMS.items():
                search.TUNING = tuning
                times[arm] += await timed([service_search(plurum, q) for q in chunk])
        search.TUNING = ARMS["shipped (items pooled)"]
    return {arm: Percentiles.of(t) for arm, t in times.items()}


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(
        prog="python -m bench.search_ab", description=__doc__.split("\n")[0]
    )
    p.add_argument("--keep", type=Path, required=True, help="a directory bench.latency kept")
    p.add_argument("--queries", type=int, default=400)
    p.add_argument("--blocks", type=int, default=20)
    args = p.parse_args()
    result = uvloop.run(run(args.keep, args.queries, args.blocks))
    load = os.getloadavg()
    for arm, pct in result.items():
        print(f"{arm:<24} service cached p50 / p99 {pct} ms (mean {pct.mean:.1f})")
    base, shipped = result["items off"], result["shipped (items pooled)"]
    print(
        f"difference p50 {shipped.p50 - base.p50:+.2f} ms "
        f"(ratio {shipped.p50 / base.p50:.3f}); load average {load[0]:.1f} / {load[1]:.1f}"
    )


if __name__ == "__main__":
    main()
