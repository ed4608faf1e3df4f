"""Fusing the BM25 and the vector candidate lists into one ranking.

Two fusions are implemented so the benchmark can compare them (docs/search.md):

- ``rrf``: weighted reciprocal rank fusion, ``a / (k + rank_bm25) + (1 - a) / (k + rank_vec)``.
- ``convex``: a convex combination of scores, each list min-max normalized over its own
  candidates: ``a * bm25' + (1 - a) * cos'``; a side that did not find a document adds 0.

``a`` is the full-text share. It depends on the shape of the query: pasted error output (stack
frames, exception names, error codes, paths) is matched best by its exact words, so it leans on
BM25; a task or a symptom in plain words leans on the vectors.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal

Fusion = Literal["rrf", "convex"]

_TOKEN = re.compile(r"\S+")
_WORD = re.compile(r"[A-Za-z][a-z]*[.,;:!?)]*")
_ERROR_NAME = re.compile(
    r"[A-Za-z]\w*(?:Error|Exception|Errno|Fault)\b|\bE[A-Z]{4,}\b|\b[A-Z]+_[A-Z_]+\b"
)
_LOG_MARKER = re.compile(
    r"(?:^|\s)(?:Traceback|error:|Error:|ERROR|FATAL|fatal:|panic:|npm ERR!|WARN|\[\w+\])",
)


@dataclass(frozen=True)
class Hit:
    id: uuid.UUID
    score: float


@dataclass(frozen=True)
class Fused:
    id: uuid.UUID
    score: float
    fulltext_rank: int | None
    vector_rank: int | None


@dataclass(frozen=True)
class Tuning:
    depth: int = 100
    fusion: Fusion = "rrf"
    rrf_k: int = 60
    fulltext_share: float = 0.5
    error_fulltext_share: float = 0.5


def code_ratio(query: str) -> float:
    """The share of the query's tokens that are not plain words (paths, codes, identifiers)."""
    tokens = _TOKEN.findall(query)
    if not tokens:
        return 0.0
    odd = sum(1 for t in tokens if not _WORD.fullmatch(t))
    return odd / len(tokens)


def error_shaped(query: str) -> bool:
    """Does this look like pasted error output rather than a description in words?"""
    if _ERROR_NAME.search(query) or _LOG_MARKER.search(query):
        return True
    return len(_TOKEN.findall(query)) >= 4 and code_ratio(query) >= 0.4


def fulltext_share(query: str, tuning: Tuning) -> float:
    return tuning.error_fulltext_share if error_shaped(query) else tuning.fulltext_share


def _normalized(hits: list[Hit]) -> dict[uuid.UUID, float]:
    if not hits:
        return {}
    high = max(h.score for h in hits)
    low = min(h.score for h in hits)
    spread = high - low
    return {h.id: (h.score - low) / spread if spread > 0 else 1.0 for h in hits}


def fuse_hits(query: str, fulltext: list[Hit], vector: list[Hit], tuning: Tuning) -> list[Fused]:
    """One ranking of both lists, best first; ties go to the better single-side rank."""
    share = fulltext_share(query, tuning)
    ft_rank = {h.id: i + 1 for i, h in enumerate(fulltext)}
    vec_rank = {h.id: i + 1 for i, h in enumerate(vector)}
    if tuning.fusion == "convex":
        ft_part, vec_part = _normalized(fulltext), _normalized(vector)
    else:
        ft_part = {d: 1.0 / (tuning.rrf_k + r) for d, r in ft_rank.items()}
        vec_part = {d: 1.0 / (tuning.rrf_k + r) for d, r in vec_rank.items()}
    fused = [
        Fused(
            doc,
            share * ft_part.get(doc, 0.0) + (1.0 - share) * vec_part.get(doc, 0.0),
            ft_rank.get(doc),
            vec_rank.get(doc),
        )
        for doc in dict.fromkeys([*ft_rank, *vec_rank])
    ]
    never = 1 << 30
    fused.sort(
        key=lambda f: (-f.score, min(f.fulltext_rank or never, f.vector_rank or never), f.id)
    )
    return fused
