"""Calibrated relevance: the chance that a hit answers the query, in [0, 1].

Two small logistic models over signals both retrievals already produce, fitted on the dev
sets by ``python -m bench.fit relevance`` (which prints the coefficients, cross-validated
figures and the reliability table in docs/search.md):

- **answerable**: does the collective hold an answer to this query at all? One value per
  query, from what the whole candidate list looks like: the best whole-text cosine, the best
  item cosine (a dead end, gotcha or breakthrough close to the query), how far the best
  cosine stands above the tenth (the score gap), the best BM25 share of the query's ceiling
  (IDF-weighted: how much of the query any experience holds) and the IDF share of query
  words no experience contains. Fitted per query, with the ``none`` queries of the dev data
  as negatives: a floor on one hit's similarity cannot tell "nothing here" from "here, in
  other words", the shape of the whole list partly can.
- **hit**: given that an answer exists, is it this hit? The hit's closest-vector cosine and
  how far it is below the query's best, its BM25 share (and square), the best share (and
  square), unseen words, both sides ranking it in their top 10 / first, error-shaped query.
  Fitted on the top 10 hits of answerable queries.

The two are combined as ``log(answerable) + HIT_WEIGHT * log(hit)`` and mapped to a
probability by a fitted logistic calibration (Platt scaling: monotone, so it changes no
order and no floor decision, only the scale, which then reads as the chance that the hit is
relevant). ``HIT_WEIGHT`` below 1 lets the floor act mostly on the query (abstain when
nothing answers it) rather than drop lower-ranked answers of an answerable query; it was
chosen on the dev data with the floor (docs/search.md), as was ``DEFAULT_MIN_RELEVANCE``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from plurum_backend.search.fulltext import QueryTerms
from plurum_backend.search.fusion import Fused, error_shaped

DEFAULT_MIN_RELEVANCE = 0.06  # chosen on the dev sets (docs/search.md, "The floor")
GAP_RANK = 10  # the score gap is the best cosine minus the GAP_RANK-th

FEATURES = (
    "bias",
    "similarity",
    "below_best_similarity",
    "fulltext_share",
    "best_fulltext_share",
    "unseen_terms",
    "both_top10",
    "error_shaped",
    "fulltext_share_squared",
    "best_fulltext_share_squared",
    "first_on_both_sides",
)
QUERY_FEATURES = (
    "bias",
    "best_similarity",
    "best_item_similarity",
    "similarity_gap",
    "best_fulltext_share",
    "best_fulltext_share_squared",
    "unseen_terms",
    "error_shaped",
)
# Fitted by `python -m bench.fit relevance` on agentdev + experiences + SciFact dev.
COEFFICIENTS: tuple[float, ...] = (
    -2.659,
    1.965,
    -4.969,
    4.502,
    -6.201,
    0.394,
    1.005,
    0.494,
    1.905,
    3.706,
    2.431,
)
QUERY_COEFFICIENTS: tuple[float, ...] = (0.988, 6.461, -2.198, -0.878, -0.990, 2.222, -3.507, 0.977)
HIT_WEIGHT = 0.5
CALIBRATION: tuple[float, float] = (1.472, 2.963)  # relevance = sigmoid(a + b * combined score)


@dataclass(frozen=True)
class Evidence:
    """What both retrievals found for one query, beyond the fused ranking."""

    bm25: Mapping[uuid.UUID, float]  # each BM25 candidate's raw score
    terms: QueryTerms | None  # the query's terms with document frequencies
    document_similarity: Mapping[uuid.UUID, float]  # whole-text cosine of every candidate
    item_similarity: Mapping[uuid.UUID, float] = field(default_factory=dict)  # best item's


def _shares(evidence: Evidence) -> dict[uuid.UUID, float]:
    ceiling = evidence.terms.ceiling() if evidence.terms is not None else 0.0
    if ceiling <= 0:
        return {}
    return {d: min(1.0, s / ceiling) for d, s in evidence.bm25.items()}


def query_features(query: str, evidence: Evidence) -> tuple[float, ...]:
    cosines = sorted(evidence.document_similarity.values(), reverse=True)
    best = cosines[0] if cosines else 0.0
    gap = best - cosines[min(GAP_RANK, len(cosines)) - 1] if cosines else 0.0
    best_ft = max(_shares(evidence).values(), default=0.0)
    return (
        1.0,
        best,
        max(evidence.item_similarity.values(), default=0.0),
        gap,
        best_ft,
        best_ft**2,
        evidence.terms.unseen() if evidence.terms is not None else 0.0,
        1.0 if error_shaped(query) else 0.0,
    )


def features(
    hit: Fused,
    fulltext_share: float,
    best_similarity: float,
    best_fulltext: float,
    unseen: float,
    error: bool,
) -> tuple[float, ...]:
    both = hit.fulltext_rank is not None and hit.fulltext_rank <= 10
    both = both and hit.vector_rank is not None and hit.vector_rank <= 10
    first = hit.fulltext_rank == 1 and hit.vector_rank == 1
    return (
        1.0,
        hit.similarity,
        best_similarity - hit.similarity,
        fulltext_share,
        best_fulltext,
        unseen,
        1.0 if both else 0.0,
        1.0 if error else 0.0,
        fulltext_share**2,
        best_fulltext**2,
        1.0 if first else 0.0,
    )


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def probability(x: Sequence[float], coefficients: Sequence[float]) -> float:
    return _sigmoid(sum(w * v for w, v in zip(coefficients, x, strict=True)))


def combined(answerable: float, hit: float, hit_weight: float = HIT_WEIGHT) -> float:
    """The score the calibration maps to a probability (higher: more likely relevant)."""
    return math.log(max(answerable, 1e-12)) + hit_weight * math.log(max(hit, 1e-12))


def calibrated(score: float, calibration: Sequence[float] = CALIBRATION) -> float:
    return _sigmoid(calibration[0] + calibration[1] * score)


def feature_rows(query: str, fused: Sequence[Fused], evidence: Evidence) -> list[tuple[float, ...]]:
    """The hit model's inputs for each hit."""
    share = _shares(evidence)
    best_sim = max((f.similarity for f in fused), default=0.0)
    best_ft = max(share.values(), default=0.0)
    unseen = evidence.terms.unseen() if evidence.terms is not None else 0.0
    error = error_shaped(query)
    return [features(f, share.get(f.id, 0.0), best_sim, best_ft, unseen, error) for f in fused]


def assess(
    query: str,
    fused: list[Fused],
    evidence: Evidence,
    coefficients: Sequence[float] = COEFFICIENTS,
    query_coefficients: Sequence[float] = QUERY_COEFFICIENTS,
) -> list[Fused]:
    """Each hit with its ``relevance`` set (ranking order unchanged)."""
    if not fused:
        return fused
    answerable = probability(query_features(query, evidence), query_coefficients)
    rows = feature_rows(query, fused, evidence)
    return [
        f.with_relevance(calibrated(combined(answerable, probability(x, coefficients))))
        for f, x in zip(fused, rows, strict=True)
    ]
