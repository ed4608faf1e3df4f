"""Calibrated relevance: the chance that a hit answers the query, in [0, 1].

A small logistic model over signals both retrievals already produce, fitted on the dev sets
by ``python -m bench.fit relevance`` (which prints these coefficients, its leave-one-dataset-out
figures and the reliability table in docs/search.md):

- the hit's cosine similarity, and how far it is below the query's best cosine;
- the hit's BM25 score over the query's ceiling (how much of the query, IDF-weighted, it holds);
- the best such BM25 share of any candidate (a query whose distinctive words no experience
  holds asks about something nobody recorded: the near-domain case cosine alone misses);
- the IDF-weighted share of query words no experience contains at all;
- whether both sides put the hit in their top 10.

The server's floor ``DEFAULT_MIN_RELEVANCE`` was chosen on the same dev data (docs/search.md).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace

from plurum_backend.search.fulltext import QueryTerms
from plurum_backend.search.fusion import Fused, error_shaped

DEFAULT_MIN_RELEVANCE = 0.02  # chosen on the dev sets: no answer lost (docs/search.md)

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
# Fitted by `python -m bench.fit relevance` on agentdev + experiences + SciFact dev.
COEFFICIENTS: tuple[float, ...] = (
    -2.809,
    2.621,
    -4.929,
    3.717,
    -6.360,
    -0.510,
    1.049,
    0.726,
    2.555,
    3.823,
    2.054,
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


def probability(x: Sequence[float], coefficients: Sequence[float] = COEFFICIENTS) -> float:
    z = sum(w * v for w, v in zip(coefficients, x, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def feature_rows(
    query: str,
    fused: Sequence[Fused],
    bm25: Mapping[uuid.UUID, float],
    terms: QueryTerms | None,
) -> list[tuple[float, ...]]:
    """The model's inputs for each hit (``bm25``: each BM25 candidate's raw score)."""
    ceiling = terms.ceiling() if terms is not None else 0.0
    share = {d: min(1.0, s / ceiling) if ceiling > 0 else 0.0 for d, s in bm25.items()}
    best_sim = max((f.similarity for f in fused), default=0.0)
    best_ft = max(share.values(), default=0.0)
    unseen = terms.unseen() if terms is not None else 0.0
    error = error_shaped(query)
    return [features(f, share.get(f.id, 0.0), best_sim, best_ft, unseen, error) for f in fused]


def assess(
    query: str,
    fused: list[Fused],
    bm25: Mapping[uuid.UUID, float],
    terms: QueryTerms | None,
    coefficients: Sequence[float] = COEFFICIENTS,
) -> list[Fused]:
    """Each hit with its ``relevance`` set (ranking order unchanged)."""
    rows = feature_rows(query, fused, bm25, terms)
    return [
        replace(f, relevance=probability(x, coefficients)) for f, x in zip(fused, rows, strict=True)
    ]
