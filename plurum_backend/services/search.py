"""Hybrid search: Tantivy BM25 and pgvector cosine, fused by ``search.fusion``.

Both retrievals apply visibility, tag and quality filters inside the index, so filtered-out
documents never crowd a match out of the candidate list. ``rank`` is the one ranking path:
the API's search, a session's relevant experiences and the quality benchmark all call it.
How the settings were chosen, with the measurements, is in docs/search.md.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field, replace
from typing import Literal

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend import schemas as s
from plurum_backend.runtime import Plurum
from plurum_backend.search import relevance
from plurum_backend.search.fulltext import QueryTerms
from plurum_backend.search.fusion import Fused, Hit, Tuning, error_shaped, fuse_hits, pooled
from plurum_backend.search.relevance import DEFAULT_MIN_RELEVANCE
from plurum_backend.search.signatures import lookup_keys, signatures
from plurum_backend.services import duplicates, render, usage
from plurum_backend.services.environment import ENVIRONMENT_WEIGHT, leaning
from plurum_backend.store import environments as environment_store
from plurum_backend.store import experiences as store
from plurum_backend.store import signatures as signature_store
from plurum_backend.store import similarity as similarity_store
from plurum_backend.store.visibility import audience_for

Mode = Literal["hybrid", "fulltext", "vector"]
TUNING = Tuning()
CANDIDATES = TUNING.depth

__all__ = [
    "CANDIDATES",
    "DEFAULT_MIN_RELEVANCE",
    "TUNING",
    "Candidates",
    "Fused",
    "Mode",
    "Tuning",
    "answered",
    "candidates",
    "normalize_tags",
    "rank",
    "relevant_hits",
    "search",
    "why_empty",
]


def normalize_tags(tags: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        clean = tag.strip().lower()
        if clean:
            seen.setdefault(clean, None)
    return list(seen)


@dataclass(frozen=True)
class Candidates:
    fulltext: list[Hit]
    vector: list[Hit]
    # The cosine of the query and every candidate of either side (empty in "fulltext" mode).
    similarity: dict[uuid.UUID, float] = field(default_factory=dict)
    # The cosine of the query and each item vector of every candidate that has items.
    items: dict[uuid.UUID, list[float]] = field(default_factory=dict)
    terms: QueryTerms | None = None  # the query's terms with document frequencies (BM25 side)
    # Experiences quoting the same error as the query, best quality first (error queries).
    signature: list[uuid.UUID] = field(default_factory=list)


async def candidates(
    plurum: Plurum,
    *,
    query: str,
    viewer: uuid.UUID | None,
    tags: list[str],
    min_quality: float | None,
    depth: int,
    mode: Mode = "hybrid",
    items: bool = True,
) -> Candidates:
    """Each side's filtered top ``depth``, best first, with its own score.

    Tantivy runs in a worker thread while PostgreSQL answers the vector query; then the
    candidates only BM25 found get their cosine on the same connection, and (``items``)
    every candidate the cosines of its item vectors.
    """
    bm25: asyncio.Future[tuple[list[tuple[str, float]], QueryTerms]] | None = None
    if mode != "vector":
        audience = audience_for(viewer)

        def fulltext_side() -> tuple[list[tuple[str, float]], QueryTerms]:
            found = plurum.index.search(
                query, audience=audience, tags=tags, min_quality=min_quality, limit=depth
            )
            return found, plurum.index.terms(query, audience)

        bm25 = asyncio.ensure_future(anyio.to_thread.run_sync(fulltext_side))
    vector: list[Hit] = []
    similarity: dict[uuid.UUID, float] = {}
    found: list[tuple[str, float]] = []
    terms: QueryTerms | None = None
    same_error: list[uuid.UUID] = []
    item_sims: dict[uuid.UUID, list[float]] = {}
    keys = lookup_keys(signatures(query)) if mode == "hybrid" and error_shaped(query) else []
    try:
        if mode != "fulltext":
            embedding = await plurum.embedder.aembed_query(query)
            async with plurum.vectors.connect() as vectors:
                same_error = await signature_store.quoting_ids(
                    vectors, keys, viewer=viewer, tags=tags, min_quality=min_quality, limit=depth
                )
                nearest = await store.nearest(
                    vectors,
                    embedding.tolist(),
                    viewer=viewer,
                    tags=tags,
                    min_quality=min_quality,
                    limit=depth,
                )
                vector = [Hit(doc_id, sim) for doc_id, sim in nearest]
                similarity = {h.id: h.score for h in vector}
                text = "[" + ",".join(map(str, embedding.tolist())) + "]"
                missing: list[uuid.UUID] = []
                if bm25 is not None:
                    (found, terms), bm25 = await bm25, None
                    missing = [d for d in (uuid.UUID(i) for i, _ in found) if d not in similarity]
                    missing += [d for d in same_error if d not in similarity]
                if items:  # one round trip for both
                    whole, item_sims = await similarity_store.cosines_and_items(
                        vectors, text, missing, [*similarity, *missing]
                    )
                    similarity.update(whole)
                elif missing:
                    similarity.update(await similarity_store.cosines(vectors, text, missing))
    finally:
        if bm25 is not None:
            found, terms = await bm25
    fulltext = [Hit(uuid.UUID(doc_id), score) for doc_id, score in found]
    return Candidates(fulltext, vector, similarity, item_sims, terms, same_error)


async def rank(
    plurum: Plurum,
    *,
    query: str,
    viewer: uuid.UUID | None,
    tags: list[str] = [],  # noqa: B006 - never mutated
    min_quality: float | None = None,
    mode: Mode = "hybrid",
    tuning: Tuning | None = None,
) -> list[Fused]:
    """Every candidate, best first, with the rank each side gave it, its cosine similarity
    and its calibrated relevance (``tuning``: the module's ``TUNING`` unless given)."""
    ranked, _ = await _rank(
        plurum, query=query, viewer=viewer, tags=tags, min_quality=min_quality, mode=mode,
        tuning=tuning or TUNING, clusters=False,
    )  # fmt: skip
    return ranked


async def _rank(
    plurum: Plurum,
    *,
    query: str,
    viewer: uuid.UUID | None,
    tags: list[str],
    min_quality: float | None,
    mode: Mode,
    tuning: Tuning,
    clusters: bool,
) -> tuple[list[Fused], dict[uuid.UUID, uuid.UUID]]:
    """``rank``, and (``clusters``) the cluster of every candidate in one, looked up on a
    vector connection while the candidates are ranked (CPU work that would otherwise leave
    the database idle)."""
    found = await candidates(
        plurum,
        query=query,
        viewer=viewer,
        tags=normalize_tags(tags),
        min_quality=min_quality,
        depth=tuning.depth,
        mode=mode,
        items=tuning.pooling != "none",
    )
    if not clusters:
        return assessed(query, found, tuning), {}
    ids = list(
        dict.fromkeys([*(h.id for h in found.fulltext), *found.similarity, *found.signature])
    )
    lookup = asyncio.ensure_future(_clusters_of(plurum, ids))
    try:
        for _ in range(3):  # let it check out and send its statement before ranking
            await asyncio.sleep(0)
        ranked = assessed(query, found, tuning)
    except BaseException:
        lookup.cancel()
        await asyncio.gather(lookup, return_exceptions=True)
        raise
    return ranked, await lookup


async def _clusters_of(plurum: Plurum, ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    async with plurum.vectors.connect() as vectors:
        return await similarity_store.clusters_of(vectors, ids)


def assessed(query: str, found: Candidates, tuning: Tuning = TUNING) -> list[Fused]:
    """Fusion and relevance of collected candidates (bench.fit replays the same function)."""
    ceiling = found.terms.ceiling() if found.terms is not None else 0.0
    vector, similarity = multi_vector(found, tuning)
    fused = fuse_hits(query, found.fulltext, vector, tuning, ceiling=ceiling, similarity=similarity)
    closest = {d: max([c, *found.items.get(d, ())]) for d, c in found.similarity.items()}
    fused = [f.with_similarity(closest.get(f.id, 0.0)) for f in fused]
    return same_error_first(relevance.assess(query, fused, evidence(found)), found)


def evidence(found: Candidates) -> relevance.Evidence:
    return relevance.Evidence(
        bm25={h.id: h.score for h in found.fulltext},
        terms=found.terms,
        document_similarity=found.similarity,
        item_similarity={d: max(c) for d, c in found.items.items() if c},
    )


def multi_vector(found: Candidates, tuning: Tuning) -> tuple[list[Hit], dict[uuid.UUID, float]]:
    """The vector side re-scored by each document's pooled vectors (``fusion.pooled``), best
    first, and the pooled score of every candidate (the whole-text cosine when not pooling)."""
    if tuning.pooling == "none" or not found.items:
        return found.vector, found.similarity
    score = {d: pooled(c, found.items.get(d, ()), tuning) for d, c in found.similarity.items()}
    vector = sorted((Hit(h.id, score[h.id]) for h in found.vector), key=lambda h: -h.score)
    return vector, score


# A hit quoting the query's very error is relevant whatever its words: on the dev sets 38 of
# the 39 such hits are judged relevant (bench.signatures, docs/help.md): at least this much.
SIGNATURE_RELEVANCE = 0.9


def same_error_first(ranked: list[Fused], found: Candidates) -> list[Fused]:
    """Experiences with the query's error signature first (in ranking order, then any the
    two retrievals missed, best quality first), marked; the rest keep their order."""
    if not found.signature:
        return ranked
    same = set(found.signature)
    by_id = {f.id: f for f in ranked}
    first = [f for f in ranked if f.id in same]
    first += [
        Fused(doc, 0.0, None, None, similarity=found.similarity.get(doc, 0.0))
        for doc in found.signature
        if doc not in by_id
    ]
    first = [
        replace(f, signature=True, relevance=max(f.relevance, SIGNATURE_RELEVANCE)) for f in first
    ]
    return first + [f for f in ranked if f.id not in same]


async def prefer_fitting(
    db: AsyncSession, passed: list[Fused], packages: dict[str, str], window: int
) -> list[Fused]:
    """Re-order the first ``window`` hits by score plus ``ENVIRONMENT_WEIGHT`` times how the
    hit's successes fit the caller's packages; same-error hits stay first."""
    head, tail = passed[:window], passed[window:]
    evidence = await environment_store.evidence(db, [f.id for f in head])
    lean = {f.id: leaning(evidence[f.id], packages) for f in head}
    head.sort(key=lambda f: (not f.signature, -(f.score + ENVIRONMENT_WEIGHT * lean[f.id])))
    return head + tail


def answered(ranked: list[Fused], floor: float) -> list[Fused]:
    """The floor applies to the query: when its best hit's relevance reaches ``floor`` the
    ranking is returned whole, otherwise nothing is (abstain).

    Dropping each hit below the floor instead loses the answers that rank 2nd to 10th with a
    low relevance of their own: on agentdev that floor lost 9 % of the answers before it
    abstained on a third of the off-domain queries (docs/search.md, "The floor").
    """
    if not ranked or max(f.relevance for f in ranked) < floor:
        return []
    return ranked


def why_empty(ranked: list[Fused], floor: float) -> str:
    """What an agent reads when no hit is shown: no match at all, or none relevant enough."""
    if not ranked:
        return (
            "No experience matches this query: nothing in the collective yet. "
            "Log as you go and close the session so the next agent finds it."
        )
    best = max(f.relevance for f in ranked)
    return (
        f"Nothing relevant: {len(ranked)} experience(s) matched some words or meaning, but the "
        f"best had relevance {best:.2f}, below min_relevance {floor:g}. Nothing in the "
        "collective covers this yet; log as you go and close the session so the next agent "
        "finds it."
    )


async def relevant_hits(
    plurum: Plurum,
    db: AsyncSession,
    viewer: uuid.UUID | None,
    *,
    query: str,
    limit: int,
    tags: list[str] = [],  # noqa: B006 - never mutated
    min_quality: float | None = None,
    min_relevance: float = DEFAULT_MIN_RELEVANCE,
    packages: dict[str, str] | None = None,
) -> Relevant:
    """The best ``limit`` visible hits when the query passes the floor, and why there are
    none if so (``answered``).

    With the caller's ``packages``, advice that worked on versions like theirs moves up.
    """
    ranked, clustered = await _rank(
        plurum, query=query, viewer=viewer, tags=tags, min_quality=min_quality, mode="hybrid",
        tuning=TUNING, clusters=True,
    )  # fmt: skip
    passed = answered(ranked, min_relevance)
    if packages:
        passed = await prefer_fitting(db, passed, packages, window=max(3 * limit, 30))
    # One card per cluster of near-duplicates, where its best-ranked member matched.
    cluster_of = {f.id: clustered[f.id] for f in passed if f.id in clustered}
    passed = duplicates.one_per_cluster(passed, cluster_of)
    # A hit the local index still holds after another replica hid it is dropped by the
    # visibility check here; then the next ones are read, until `limit` are found.
    results: list[s.SearchHit] = []
    start = below_quality = 0
    while len(results) < limit and start < len(passed):
        chunk = passed[start : start + limit - len(results)]
        start += len(chunk)
        linked = [cluster_of[f.id] for f in chunk if f.id in cluster_of]
        clusters = duplicates.Clusters(
            cluster_of, await duplicates.seen(db, linked, viewer) if linked else {}
        )
        alone = [f.id for f in chunk if clusters.view_of(f.id) is None]
        rows = await store.with_authors(db, alone, viewer)
        hits: list[s.SearchHit] = []
        for f in chunk:
            view = clusters.view_of(f.id)
            if view is not None:
                card = duplicates.hit(view, f, packages)
                if card is not None:
                    hits.append(card)
            elif f.id in rows:
                hits.append(render.search_hit(*rows[f.id], f, packages))
        # the filters read the stored score, an upper bound of the current one (outcome
        # drift, services/rescore.py): the current score decides
        kept = [h for h in hits if min_quality is None or h.quality_score >= min_quality]
        results, below_quality = results + kept, below_quality + len(hits) - len(kept)
    reason = None if results else why_empty(ranked, min_relevance)
    return Relevant(results, reason, total_found=len(passed) - below_quality)


@dataclass(frozen=True)
class Relevant:
    hits: list[s.SearchHit]
    empty_reason: str | None
    total_found: int  # candidates returned when the query passes the floor (else 0)


async def search(
    plurum: Plurum, db: AsyncSession, viewer: uuid.UUID | None, body: s.SearchRequest
) -> s.SearchResponse:
    floor = DEFAULT_MIN_RELEVANCE if body.min_relevance is None else body.min_relevance
    found = await relevant_hits(
        plurum,
        db,
        viewer,
        query=body.query,
        limit=body.limit,
        tags=body.tags,
        min_quality=body.min_quality_score,
        min_relevance=floor,
        packages=body.environment.packages if body.environment else None,
    )
    usage.record_search(
        plurum.search_log,
        agent_id=viewer,
        query=body.query,
        hits=found.hits,
        record_queries=plurum.settings.record_queries,
    )
    return s.SearchResponse(
        query=body.query,
        results=found.hits,
        total_found=found.total_found,
        min_relevance=floor,
        empty_reason=found.empty_reason,
    )
