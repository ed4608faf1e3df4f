"""Two source trees' `plurum serve` on one kept corpus, timed in alternation.

    python -m bench.http_ab --keep bench/.cache/latency-100k --old /tmp/base --new . [--queries 300]

On a shared machine a whole benchmark run swings by 2-3x from one minute to the next, so two
runs made one after the other compare the minutes, not the code. Here both servers run at once
on the same database (each with its own Tantivy index, rebuilt at start) and every pair of
fresh queries goes to both, in alternating order, so both arms share every minute. ``--old``
and ``--new`` are directories holding a ``plurum_backend`` package (e.g. ``git archive``
of a commit, unpacked), put first on each server's PYTHONPATH. The corpus is one that
``bench.latency --keep`` built. Prints p50 / p99 of HTTP search with the query embedding
computed (queries never seen by that server), as bench.latency's "HTTP + embed".
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
from pathlib import Path

import uvloop

from bench.cache import CachedEmbedder
from bench.httpserver import Server
from bench.instance import fresh_plurum
from bench.synthetic import PHRASES, SyntheticCorpus
from plurum_backend.search.embedder import shared_embedder


async def run(args: argparse.Namespace) -> dict[str, list[float]]:
    cache = CachedEmbedder(shared_embedder())
    corpus = SyntheticCorpus(cache.embed(PHRASES, progress=False))
    cache.close()
    times: dict[str, list[float]] = {"old": [], "new": []}
    async with fresh_plurum(keep=args.keep, shared_buffers=args.shared_buffers) as plurum:
        servers: dict[str, Server] = {}
        before = os.environ.get("PYTHONPATH")
        try:
            for arm, tree in (("old", args.old), ("new", args.new)):
                os.environ["PYTHONPATH"] = str(tree.resolve())
                servers[arm] = Server(plurum.database)
                await servers[arm].start()
            for server in servers.values():
                await server.wait_level(plurum)
            print("both servers ready; warming up", flush=True)
            for server in servers.values():  # as bench.latency: other queries first
                await server.times(corpus.queries(args.queries, seed=424242))
            fresh = corpus.queries(2 * args.queries, seed=random.randrange(10**6, 10**7))
            for i in range(0, len(fresh), 2):
                first, second = ("old", "new") if (i // 2) % 2 == 0 else ("new", "old")
                times[first] += await servers[first].times([fresh[i]])
                times[second] += await servers[second].times([fresh[i + 1]])
        finally:
            if before is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = before
            for server in servers.values():
                server.stop()
    return times


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(prog="python -m bench.http_ab", description=__doc__.split("\n")[0])
    p.add_argument("--keep", type=Path, required=True, help="a corpus bench.latency kept")
    p.add_argument("--old", type=Path, required=True, help="the tree to compare against")
    p.add_argument("--new", type=Path, required=True, help="the tree under test")
    p.add_argument("--queries", type=int, default=300, help="fresh queries per arm")
    p.add_argument("--shared-buffers", default="1GB")
    args = p.parse_args()
    for tree in (args.old, args.new):
        if not (tree / "plurum_backend").is_dir():
            raise SystemExit(f"{tree} holds no plurum_backend package.")
    times = uvloop.run(run(args))
    print("HTTP + embed, milliseconds p50 / p99")
    for arm, seconds in times.items():
        ms = sorted(x * 1000 for x in seconds)
        p99 = ms[round(0.99 * (len(ms) - 1))]
        print(f"{arm}: {statistics.median(ms):6.1f} / {p99:6.1f}  ({len(ms)} queries)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
