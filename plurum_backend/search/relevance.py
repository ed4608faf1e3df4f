"""Calibrated relevance: the chance that a hit answers the query, in [0, 1].

Provisional: a logistic curve over the cosine similarity alone. The calibrated model over
several signals replaces it (docs/search.md, "Relevance").
"""

from __future__ import annotations

import math
from dataclasses import replace

from plurum_backend.search.fusion import Fused

DEFAULT_MIN_RELEVANCE = 0.3


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def assess(query: str, fused: list[Fused]) -> list[Fused]:
    """Each hit with its ``relevance`` set (ranking order unchanged)."""
    return [replace(f, relevance=_logistic(12.0 * (f.similarity - 0.45))) for f in fused]
