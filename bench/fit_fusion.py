"""Fusion variants for ``python -m bench.fit fusion`` (docs/search.md, "Ranking v2")."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import replace

from bench.fit import Ranker, idf
from bench.replay import QueryReplay, Replay
from plurum_backend.search.fulltext import QueryTerms
from plurum_backend.search.fusion import Hit, Tuning, error_shaped, fuse_hits
from plurum_backend.services.search import Candidates, multi_vector

DEPTH = 100
_IDS: dict[str, uuid.UUID] = {}


def _uid(doc: str) -> uuid.UUID:
    return _IDS.setdefault(doc, uuid.uuid5(uuid.NAMESPACE_URL, doc))


def coverage(q: QueryReplay, doc: str, n: int) -> float:
    """IDF-weighted share of the query's terms that the document contains."""
    total = sum(idf(df, n) for df in q.terms.values())
    if total <= 0:
        return 0.0
    return sum(idf(q.terms[t], n) for t in q.matched.get(doc, ())) / total


def minmax(pairs: list[tuple[str, float]]) -> tuple[float, float]:
    if not pairs:
        return 0.0, 1.0
    hi, lo = pairs[0][1], min(s for _, s in pairs)
    return lo, (hi - lo) or 1.0


def production(tuning: Tuning) -> Callable[[Replay], Ranker]:
    def make(replay: Replay) -> Ranker:
        back: dict[uuid.UUID, str] = {}

        def hits(pairs: list[tuple[str, float]]) -> list[Hit]:
            out = []
            for d, s in pairs[:DEPTH]:
                back[_uid(d)] = d
                out.append(Hit(_uid(d), s))
            return out

        def rank(q: QueryReplay) -> list[str]:
            terms = QueryTerms(replay.documents, dict(q.terms))
            found = Candidates(
                hits(q.fulltext),
                hits(q.vector),
                {_uid(d): v for d, v in q.similarity.items()},
                {_uid(d): v for d, v in q.items.items()},
            )
            vector, similarity = multi_vector(found, tuning)
            fused = fuse_hits(
                q.text,
                found.fulltext,
                vector,
                tuning,
                ceiling=terms.ceiling(),
                similarity=similarity,
            )
            return [back[f.id] for f in fused]

        return rank

    return make


def convex(
    share: Callable[[QueryReplay, int], float],
    *,
    fill_cos: bool = False,
    ft_norm: str = "minmax",
    doc_cov: float = 0.0,
    errors: float | None = None,
    cov_power: float = 0.0,
    vec_norm: str = "minmax",
) -> Callable[[Replay], Ranker]:
    """min-max (or self-max) BM25 and min-max cosine, a query-dependent BM25 share."""

    def make(replay: Replay) -> Ranker:
        n = replay.documents

        def rank(q: QueryReplay) -> list[str]:
            ft, vec = q.fulltext[:DEPTH], q.vector[:DEPTH]
            a = share(q, n)
            norm = ft_norm
            if errors is not None and error_shaped(q.text):
                a, norm = errors, "minmax"
            if norm == "selfmax":
                top = 2.2 * sum(idf(df, n) for df in q.terms.values()) or 1.0
                ftn = {d: s / top for d, s in ft}
            else:
                lo, spread = minmax(ft)
                ftn = {d: (s - lo) / spread for d, s in ft}
            if cov_power and norm == "minmax" and ft:
                conf = coverage(q, ft[0][0], n) ** cov_power
                ftn = {d: v * conf for d, v in ftn.items()}
            if doc_cov:
                ftn = {d: v * (1 - doc_cov + doc_cov * coverage(q, d, n)) for d, v in ftn.items()}
            vlo, vspread = minmax(vec)
            vecn = {d: (s - vlo) / vspread for d, s in vec}
            if vec_norm.startswith("raw") and norm == "selfmax":
                vecn = {d: s for d, s in vec}
                if vec_norm == "raw+fill":
                    vecn.update({d: q.similarity.get(d, 0.0) for d, _ in ft if d not in vecn})
            if fill_cos:
                for d, _ in ft:
                    if d not in vecn and d in q.similarity:
                        vecn[d] = max(0.0, (q.similarity[d] - vlo) / vspread)
            docs = dict.fromkeys([d for d, _ in ft] + [d for d, _ in vec])
            total = {d: a * ftn.get(d, 0.0) + (1 - a) * vecn.get(d, 0.0) for d in docs}
            return sorted(total, key=lambda d: -total[d])

        return rank

    return make


def fixed(a: float) -> Callable[[QueryReplay, int], float]:
    return lambda q, n: a


def by_top_coverage(
    high: float, knee: float, low: float = 0.0
) -> Callable[[QueryReplay, int], float]:
    """BM25 share grows with how much of the query the best BM25 hit covers (IDF-weighted)."""

    def share(q: QueryReplay, n: int) -> float:
        if not q.fulltext:
            return 0.0
        cov = coverage(q, q.fulltext[0][0], n)
        return low + (high - low) * min(1.0, cov / knee)

    return share


def rankers(replay: Replay) -> dict[str, Ranker]:
    """Search v2's fusion variants, whole-text vectors only (``pooling="none"``)."""
    variants: dict[str, Callable[[Replay], Ranker]] = {
        "shipped v1: convex min-max 0.5 (0.6 errors)": production(
            Tuning(fusion="convex", fulltext_share=0.5, error_fulltext_share=0.6, pooling="none")
        ),
        "fulltext only": production(
            Tuning(fusion="convex", fulltext_share=1.0, error_fulltext_share=1.0, pooling="none")
        ),
        "vector only": production(
            Tuning(fusion="convex", fulltext_share=0.0, error_fulltext_share=0.0, pooling="none")
        ),
        "evidence 0.3, errors min-max 0.6": production(
            Tuning(fulltext_share=0.3, strong_fulltext_share=0.3, pooling="none")
        ),
        "**v2: evidence 0.2..0.5 by best BM25/ceiling over 0.5, errors 0.6**": (
            production(Tuning(pooling="none"))
        ),
    }
    for a in (0.2, 0.3, 0.4, 0.5):
        variants[f"convex {a}"] = convex(fixed(a))
        variants[f"convex {a}, cosine for BM25-only"] = convex(fixed(a), fill_cos=True)
        variants[f"convex {a}, BM25 / self-max"] = convex(fixed(a), ft_norm="selfmax")
        variants[f"convex {a}, BM25 x doc coverage"] = convex(fixed(a), doc_cov=1.0)
    for a, e in itertools.product((0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8), (0.5, 0.6)):
        variants[f"errors min-max {e}; else {a} self-max"] = convex(
            fixed(a), ft_norm="selfmax", errors=e
        )
        variants[f"errors min-max {e}; else {a} x doc coverage"] = convex(
            fixed(a), doc_cov=1.0, errors=e
        )
        variants[f"errors min-max {e}; else {a}"] = convex(fixed(a), errors=e)
        for pw in (0.5, 1.0, 2.0):
            variants[f"errors min-max {e}; else {a}, x top cov^{pw}"] = convex(
                fixed(a), errors=e, cov_power=pw
            )
    for a in (0.2, 0.3, 0.4, 0.5, 0.6):
        variants[f"errors min-max 0.6; else {a} self-max + raw cosine"] = convex(
            fixed(a), ft_norm="selfmax", errors=0.6, vec_norm="raw"
        )
        variants[f"errors min-max 0.6; else {a} self-max + raw cosine, filled"] = convex(
            fixed(a), ft_norm="selfmax", errors=0.6, vec_norm="raw+fill"
        )
    for a in (0.25, 0.35):
        variants[f"errors min-max 0.6; else {a} self-max + raw cosine, filled"] = convex(
            fixed(a), ft_norm="selfmax", errors=0.6, vec_norm="raw+fill"
        )
    for lo, hi, knee in itertools.product((0.2, 0.3), (0.4, 0.5, 0.6), (0.3, 0.5)):
        variants[f"evidence, share {lo}..{hi} by best BM25/ceiling over {knee}"] = convex(
            by_best_share(lo, hi, knee), ft_norm="selfmax", errors=0.6, vec_norm="raw+fill"
        )
    return {label: make(replay) for label, make in variants.items()}


def by_best_share(low: float, high: float, knee: float) -> Callable[[QueryReplay, int], float]:
    """BM25 share grows with the best BM25 score over the query's ceiling."""

    def share(q: QueryReplay, n: int) -> float:
        if not q.fulltext:
            return low
        ceiling = 2.2 * sum(idf(df, n) for df in q.terms.values()) or 1.0
        best = min(1.0, q.fulltext[0][1] / ceiling)
        return low + (high - low) * min(1.0, best / knee)

    return share


def pooling_rankers(replay: Replay) -> dict[str, Ranker]:
    """Multi-vector documents (docs/search.md, "Multi-vector documents"): the vector side's
    score pools the whole-text cosine with the item vectors' cosines."""
    vector_only = Tuning(fusion="convex", fulltext_share=0.0, error_fulltext_share=0.0)
    variants: dict[str, Callable[[Replay], Ranker]] = {
        "vector only (whole text)": production(replace(vector_only, pooling="none")),
        "hybrid v2 (whole text only)": production(Tuning(pooling="none")),
        "vector only, max, item weight 0.25 (shipped vector side)": production(vector_only),
    }
    for pool in ("max", "softmax"):
        variants[f"vector only, {pool} over whole text + items"] = production(
            replace(vector_only, pooling=pool, item_weight=1.0)
        )
    for weight in (0.25, 0.5, 0.75, 1.0):
        variants[f"hybrid v2, max, item weight {weight}"] = production(
            Tuning(pooling="max", item_weight=weight)
        )
        for temperature in (0.02, 0.05, 0.1):
            variants[f"hybrid v2, softmax T {temperature}, item weight {weight}"] = production(
                Tuning(pooling="softmax", pooling_temperature=temperature, item_weight=weight)
            )
    return {label: make(replay) for label, make in variants.items()}
