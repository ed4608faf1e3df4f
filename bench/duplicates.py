"""Duplicates into consensus: which pairs does linking join, per threshold?

    python -m bench.duplicates /work/shared/data/agentdev
    python -m bench.duplicates /work/shared/data/agentdev --no-api   # the sweep only

Sets (see bench/data/duplicates/README.md for how the duplicates were made):
- the dataset's experiences (agentdev) and bench/data/experiences: independently written, so
  a link between two of them is false unless bench/data/duplicates/judged.tsv judges the pair
  ``same`` (or ``partial``: reported, neither true nor false). The distractor pairs of the
  agentdev README (same technology, different problem) are reported on their own: target 0.
- bench/data/duplicates/rewrites.jsonl: other words for 40 agentdev experiences' goal and fix
  (written for this benchmark: a claim, not a result). The link rate on them is the recall.

Part 1, the sweep: every pair's goal cosine, fix cosine (best pair among solution and
breakthroughs) and version check, computed with the functions linking uses, judged at each
threshold setting. It ignores candidate retrieval (linking compares only the
``duplicates.CANDIDATES`` nearest experiences), so it bounds what the API can link.
Part 2, the API: every experience is POSTed to a fresh instance by its own agent (agentdev,
then bench/data/experiences, then the rewrites), and the links the API answers are counted
with the same judgements, at the served thresholds; then every query of the dataset is
searched, in passes that read clusters alternating with passes that do not, for what one card
per cluster costs a search (a same-run ratio: timings on a shared machine are noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import json
import os
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.instance import fresh_plurum
from plurum_backend.app import create_app
from plurum_backend.search.embedder import shared_embedder
from plurum_backend.services import duplicates
from plurum_backend.services.duplicates import SERVED, Thresholds
from plurum_backend.services.hints import item_text
from plurum_backend.services.limits import Policy

BASE = "http://testserver/api/v1"
HERE = Path(__file__).parent / "data"
SWEEP = [
    Thresholds(goal=g, fix=f, strong_fix=sf, strong_fix_goal=sg)
    for g, f in (
        (0.60, 0.62),
        (0.62, 0.64),
        (0.65, 0.62),
        (0.65, 0.64),
        (0.65, 0.65),
        (0.65, 0.66),
        (0.65, 0.68),
        (0.70, 0.70),
    )
    for sf, sg in ((0.78, 0.50), (1.01, 1.01))
]
PAIR_KINDS = ("distractor", "different", "other", "partial", "same", "rewrite", "rewrite-other")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def distractor_pairs(readme: Path) -> set[tuple[str, str]]:
    """The agentdev README's "Distractor pairs" list (x001/x002, ...)."""
    text = readme.read_text(encoding="utf-8")
    if "**Distractor pairs**" not in text:
        return set()
    section = text.split("**Distractor pairs**")[1].split("\n* **")[0]
    return {key(a, b) for a, b in re.findall(r"\b(x\d{3})/(x\d{3})\b", section)}


def key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def read_judged(path: Path) -> dict[tuple[str, str], str]:
    with path.open(encoding="utf-8") as f:
        return {key(r["a"], r["b"]): r["label"] for r in csv.DictReader(f, delimiter="\t")}


@dataclass
class Corpus:
    records: list[dict[str, Any]]
    rewrites: list[dict[str, Any]]
    distractors: set[tuple[str, str]]
    judged: dict[tuple[str, str], str]

    def kind(self, a: str, b: str) -> str:
        source = {r["id"]: r["source"] for r in self.rewrites}
        if a in source or b in source:
            rewrite, other = (a, b) if a in source else (b, a)
            if source[rewrite] == other:
                return "rewrite"
            # a rewrite of x joined to something judged the same as x is a true link too
            return self.judged.get(key(source[rewrite], other), "rewrite-other")
        pair = key(a, b)
        if pair in self.distractors:
            return "distractor"
        return self.judged.get(pair, "other")


def fingerprints(records: list[dict[str, Any]]) -> tuple[np.ndarray, list[list[np.ndarray]]]:
    """Goal vectors and fix vectors, from the texts linking embeds (same model and code)."""
    embedder = shared_embedder()
    goals = embedder.embed([r["goal"] for r in records])
    fix_texts = []
    for r in records:
        texts = duplicates.texts(r["goal"], r.get("solution"))[1:]
        texts += [t for t in (item_text(b) for b in r.get("breakthroughs", [])) if t]
        fix_texts.append(texts)
    flat = embedder.embed([t for ts in fix_texts for t in ts])
    fixes, at = [], 0
    for ts in fix_texts:
        fixes.append([flat[i] for i in range(at, at + len(ts))])
        at += len(ts)
    return goals, fixes


@dataclass
class Tally:
    linked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PAIR_KINDS, 0))
    pairs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PAIR_KINDS, 0))
    examples: dict[str, list[str]] = field(default_factory=dict)
    missed: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, linked: bool, label: str) -> None:
        self.pairs[kind] += 1
        if linked:
            self.linked[kind] += 1
            self.examples.setdefault(kind, []).append(label)
        elif kind in ("same", "rewrite"):
            self.missed.setdefault(kind, []).append(label)


def sweep(corpus: Corpus) -> list[tuple[Thresholds, Tally]]:
    records = corpus.records + corpus.rewrites
    print(f"embedding {len(records)} goals and their fixes ...", file=sys.stderr, flush=True)
    goals, fixes = fingerprints(records)
    ids = [r["id"] for r in records]
    base = range(len(corpus.records))
    rewrites = range(len(corpus.records), len(records))
    pairs = list(itertools.combinations(base, 2))
    pairs += [(r, b) for r in rewrites for b in base]
    print(f"scoring {len(pairs)} pairs ...", file=sys.stderr, flush=True)
    goal_cos = goals @ goals.T
    scored = []
    for a, b in pairs:
        conflict = duplicates.versions_conflict(records[a]["goal"], records[b]["goal"])
        fix = duplicates.fix_similarity(fixes[a], fixes[b])
        scored.append((ids[a], ids[b], float(goal_cos[a, b]), fix, conflict))
    results = []
    for thresholds in [SERVED, *(t for t in SWEEP if t != SERVED)]:
        tally = Tally()
        for a, b, goal, fix, conflict in scored:
            linked = not conflict and duplicates.is_duplicate(goal, fix, thresholds)
            tally.add(corpus.kind(a, b), linked, f"{a}~{b} goal={goal:.3f} fix={fix:.3f}")
        results.append((thresholds, tally))
    return results


@dataclass
class ApiRun:
    tally: Tally
    create_seconds: list[float]
    link_seconds: list[float]
    search_seconds: list[float] = field(default_factory=list)
    cluster_seconds: list[float] = field(default_factory=list)  # per search, summed
    baseline_seconds: list[float] = field(default_factory=list)  # searches not reading them
    cards_with_confirmations: int = 0
    cards: int = 0


def timed(owner: Any, name: str, into: list[float]) -> None:
    """Time every call of ``owner.name`` (an async function) in this process."""
    original = getattr(owner, name)

    async def timing(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)

    setattr(owner, name, timing)


async def _search(client: httpx.AsyncClient, query: dict[str, Any]) -> list[dict[str, Any]]:
    r = await client.post("/experiences/search", json={"query": query["text"]})
    if r.status_code != 200:
        raise SystemExit(f"search {query['id']}: {r.status_code} {r.text}")
    hits: list[dict[str, Any]] = r.json()["results"]
    return hits


async def searches(client: httpx.AsyncClient, queries: list[dict[str, Any]], run: ApiRun) -> None:
    """Every query, anonymously: a warm-up pass, then passes that read clusters alternating
    with passes that do not (``duplicates.clusters_of`` answering "no cluster" at once), for the
    cost of clusters as a same-run ratio; and how long reading them takes inside search."""
    reads = duplicates.clusters_of

    async def no_clusters(*args: Any, **kwargs: Any) -> dict[Any, Any]:
        return {}

    for query in queries:
        hits = await _search(client, query)
        run.cards += len(hits)
        run.cards_with_confirmations += sum(1 for h in hits if h["confirmations"] > 1)
    spent: list[float] = []
    timed(duplicates, "clusters_of", spent)
    timed(duplicates, "seen", spent)
    timing = duplicates.clusters_of
    for round_ in range(4):
        reading = round_ % 2 == 0
        duplicates.clusters_of = timing if reading else no_clusters  # type: ignore[assignment]
        for query in queries:
            spent.clear()
            started = time.perf_counter()
            await _search(client, query)
            took = time.perf_counter() - started
            if reading:
                run.search_seconds.append(took)
                run.cluster_seconds.append(sum(spent))
            else:
                run.baseline_seconds.append(took)
    duplicates.clusters_of = reads  # type: ignore[assignment]


async def through_api(corpus: Corpus, queries: list[dict[str, Any]]) -> ApiRun:
    """POST every experience by its own agent; count the links the API answers; then search."""
    tally = Tally()
    seconds: list[float] = []
    link_seconds: list[float] = []
    timed(duplicates, "remember_and_link", link_seconds)
    async with fresh_plurum() as plurum:
        # a benchmark's searches are not an agent's: no per-minute quota (1,000 of them)
        plurum.limits.policies["searches"] = Policy("searches", 0, 60)
        app = create_app(plurum, manage_lifespan=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE, timeout=120) as client:
            dataset_of: dict[str, str] = {}  # short_id -> dataset id
            records = corpus.records + corpus.rewrites
            for n, record in enumerate(records, 1):
                r = await client.post(
                    "/agents/register", json={"name": "dup bench", "username": f"dup{n}"}
                )
                r.raise_for_status()
                headers = {"Authorization": f"Bearer {r.json()['api_key']}"}
                body = {
                    k: v
                    for k, v in record.items()
                    if k in ("goal", "solution", "context", "tags")
                    or k in ("dead_ends", "breakthroughs", "gotchas", "artifacts")
                }
                started = time.perf_counter()
                r = await client.post("/experiences", json=body, headers=headers)
                seconds.append(time.perf_counter() - started)
                if r.status_code != 201:
                    raise SystemExit(f"POST /experiences {record['id']}: {r.status_code} {r.text}")
                created = r.json()
                dataset_of[created["short_id"]] = record["id"]
                cluster = created["cluster"]
                linked = (
                    {dataset_of[m["short_id"]] for m in cluster["members"]} if cluster else set()
                )
                # a new experience is compared with every earlier one: each earlier one is a
                # pair, linked if the API put both in one cluster
                earlier = records[: n - 1]
                if record in corpus.rewrites:
                    earlier = corpus.records
                for other in earlier:
                    kind = corpus.kind(record["id"], other["id"])
                    tally.add(kind, other["id"] in linked, f"{record['id']}~{other['id']}")
                if n % 50 == 0 or n == len(records):
                    print(f"  posted {n}/{len(records)}", file=sys.stderr, flush=True)
            run = ApiRun(tally, seconds, link_seconds)
            print(f"  searching {len(queries)} queries ...", file=sys.stderr, flush=True)
            await searches(client, queries, run)
    return run


def line(name: str, tally: Tally) -> str:
    def share(kind: str) -> str:
        return f"{tally.linked[kind]}/{tally.pairs[kind]}"

    rate = tally.linked["rewrite"] / tally.pairs["rewrite"] if tally.pairs["rewrite"] else 0.0
    return (
        f"{name:<34} {share('distractor'):>8} {share('different'):>8} {share('other'):>10} "
        f"{share('rewrite-other'):>10} {share('rewrite'):>7} ({rate:.0%}) {share('same'):>6} "
        f"{share('partial'):>7}"
    )


HEADER = (
    f"{'thresholds (goal/fix, strong fix)':<34} {'distr.':>8} {'differ.':>8} {'other':>10} "
    f"{'rw-other':>10} {'rewrite':>7}        {'same':>6} {'partial':>7}"
)
LEGEND = """\
distr.    agentdev distractor pairs linked (same technology, different problem): target 0
differ.   pairs judged different (version twins, same error other cause, ...): target 0
other     every other pair of the two sets (independently written): false links, target 0
rw-other  a rewrite linked to an experience other than its source (not judged the same)
rewrite   rewrites linked to their source: the link rate on true duplicates
same      pairs of the two sets judged the same problem and fix (independent write-ups)
partial   pairs judged partly the same: reported, neither true nor false"""


def label(t: Thresholds) -> str:
    strong = "off" if t.strong_fix > 1 else f"{t.strong_fix:.2f}@{t.strong_fix_goal:.2f}"
    return f"{t.goal:.2f}/{t.fix:.2f}, {strong}" + (" (served)" if t == SERVED else "")


async def run(args: argparse.Namespace) -> None:
    corpus = Corpus(
        records=read_jsonl(args.dataset / "experiences.jsonl") + read_jsonl(args.experiences),
        rewrites=read_jsonl(args.rewrites),
        distractors=distractor_pairs(args.dataset / "README.md"),
        judged=read_judged(args.judged),
    )
    report: dict[str, Any] = {"load_average": os.getloadavg()}
    results = sweep(corpus)
    report["sweep"] = [{"thresholds": asdict(t), **asdict(tally)} for t, tally in results]
    queries = (
        read_jsonl(args.dataset / "queries.jsonl")
        if (args.dataset / "queries.jsonl").is_file()
        else []
    )
    api = None if args.no_api else await through_api(corpus, queries)
    if api is not None:
        report["api"] = {
            **asdict(api.tally),
            "create_p50_s": statistics.median(api.create_seconds),
            "linking_p50_s": statistics.median(api.link_seconds),
            "search_p50_s": statistics.median(api.search_seconds) if api.search_seconds else None,
            "clusters_p50_s": statistics.median(api.cluster_seconds)
            if api.cluster_seconds
            else None,
            "search_without_clusters_p50_s": (
                statistics.median(api.baseline_seconds) if api.baseline_seconds else None
            ),
            "cards": api.cards,
            "cards_with_confirmations": api.cards_with_confirmations,
        }
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(
        f"{len(corpus.records)} experiences, {len(corpus.rewrites)} rewrites, "
        f"{len(corpus.distractors)} distractor pairs, {len(corpus.judged)} judged pairs; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print("\nPart 1: every pair, per threshold (linked/pairs)")
    print(HEADER)
    for thresholds, tally in results:
        print(line(label(thresholds), tally))
    served = results[0][1]
    for kind in ("distractor", "different", "other", "rewrite-other", "partial"):
        for example in served.examples.get(kind, []):
            print(f"  served, linked {kind}: {example}")
    for kind in ("same", "rewrite"):
        for example in served.missed.get(kind, []):
            print(f"  served, missed {kind}: {example}")
    if api is not None:
        print("\nPart 2: through the API at the served thresholds (linked/pairs)")
        print(HEADER)
        print(line("served, nearest candidates only", api.tally))
        for kind in ("distractor", "different", "other", "rewrite-other", "partial"):
            for example in api.tally.examples.get(kind, []):
                print(f"  api, linked {kind}: {example}")
        for kind in ("same", "rewrite"):
            for example in api.tally.missed.get(kind, []):
                print(f"  api, missed {kind}: {example}")
        p50 = statistics.median(api.create_seconds)
        link = statistics.median(api.link_seconds)
        p99 = statistics.quantiles(api.link_seconds, n=100)[98]
        print(
            f"POST /experiences p50 {p50 * 1000:.0f} ms over {len(api.create_seconds)}; of it, "
            f"linking (store vectors, compare candidates, link) p50 {link * 1000:.0f} ms "
            f"({link / p50:.0%} of the POST p50), p99 {p99 * 1000:.0f} ms; load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        if api.search_seconds:
            search = statistics.median(api.search_seconds)
            spent = statistics.median(api.cluster_seconds)
            baseline = statistics.median(api.baseline_seconds)
            print(
                f"POST /experiences/search p50 {search * 1000:.1f} ms reading clusters, "
                f"{baseline * 1000:.1f} ms not reading them (same run, two passes each of "
                f"{len(api.search_seconds) // 2} queries, alternating; ratio "
                f"{search / baseline:.2f}); reading them p50 {spent * 1000:.1f} ms (connection "
                f"checkout included); {api.cards_with_confirmations} of {api.cards} cards "
                f"show a cluster"
            )
    print("\n" + LEGEND)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path, help="agentdev: experiences.jsonl and README.md")
    parser.add_argument(
        "--experiences", type=Path, default=HERE / "experiences" / "experiences.jsonl"
    )
    parser.add_argument("--rewrites", type=Path, default=HERE / "duplicates" / "rewrites.jsonl")
    parser.add_argument("--judged", type=Path, default=HERE / "duplicates" / "judged.tsv")
    parser.add_argument("--no-api", action="store_true", help="the sweep only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (args.dataset / "experiences.jsonl").is_file():
        raise SystemExit(f"{args.dataset} has no experiences.jsonl.")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
