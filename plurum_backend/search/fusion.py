"""Fusing the BM25 and the vector candidate lists into one ranking.

Three fusions are implemented so the benchmark can compare them (docs/search.md):

- ``evidence`` (shipped): scores that keep their absolute meaning. BM25 is divided by its
  ceiling for this query (``(k1 + 1) * sum of the query terms' IDF``, what a document holding
  every query term at saturation would score) and the cosine is used as it is:
  ``a * min(1, bm25 / ceiling) + (1 - a) * cos``. A weak best BM25 hit stays weak, so a
  paraphrase that shares two common words with a wrong experience no longer outranks the
  vectors' answer. ``a`` itself follows BM25's evidence: from ``fulltext_share`` when the
  best BM25 hit holds little of the query to ``strong_fulltext_share`` once it reaches
  ``strong_knee`` of the ceiling. Pasted error output is fused ``convex`` instead (exact
  strings decide).
- ``convex``: a convex combination of scores, each list min-max normalized over its own
  candidates: ``a * bm25' + (1 - a) * cos'``; a side that did not find a document adds 0.
- ``rrf``: weighted reciprocal rank fusion, ``a / (k + rank_bm25) + (1 - a) / (k + rank_vec)``.

``a`` is the full-text share. It depends on the shape of the query: pasted error output (stack
frames, exception names, error codes, paths) is matched best by its exact words, so it leans on
BM25; a task or a symptom in plain words leans on the vectors.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Fusion = Literal["evidence", "convex", "rrf"]
Pooling = Literal["none", "max", "softmax"]

_TOKEN = re.compile(r"\S+")
_EDGES = "()[]{}<>\"'`,.;:!?"
_CODE_CHARS = re.compile(r"[_./\\:=<>{}\[\]()@#$%*|\"'`]")
_ERROR_NAME = re.compile(
    r"\b[A-Za-z]\w*(?:Error|Exception)\b"  # JSONDecodeError, OperationalError
    r"|\b[a-z_]+\.(?:[a-z_]+\.)*[A-Z]\w+"  # psycopg.errors.UniqueViolation
    r"|\bE[A-Z]{4,}\b"  # ECONNREFUSED, ERESOLVE
    r"|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b"  # ERR_OSSL_EVP_UNSUPPORTED
)
_LOG_MARKER = re.compile(
    r"(?m)^\s*(?:Traceback|ERROR|FATAL|DETAIL|NOTICE|WARN|E\s|panic|npm ERR!)"  # line starts
    r"|\b(?i:error|fatal|panic(?:ked)?|failed)(?:\[\w+\])?:"  # error: ...
    r"|\[(?i:error|warn|warning|crit|fatal)\]"  # [error] ...
    r"|\b\d{2}:\d{2}:\d{2}\b|\w+://|\bline \d+"  # timestamps, URLs, stack frames
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
    similarity: float = 0.0  # cosine of the query and the experience's closest vector
    relevance: float = 0.0  # calibrated chance that the hit is relevant (search.relevance)
    signature: bool = False  # quotes the same error as the query (search.signatures)

    # dataclasses.replace costs ~4 µs a call and a search makes a few hundred of these
    def with_similarity(self, similarity: float) -> Fused:
        return Fused(self.id, self.score, self.fulltext_rank, self.vector_rank, similarity,
                     self.relevance, self.signature)  # fmt: skip

    def with_relevance(self, relevance: float) -> Fused:
        return Fused(self.id, self.score, self.fulltext_rank, self.vector_rank, self.similarity,
                     relevance, self.signature)  # fmt: skip


@dataclass(frozen=True)
class Tuning:
    """The measured choice (docs/search.md, "Search v2"): evidence fusion whose BM25 share
    grows from 0.2 to 0.5 with BM25's best evidence; error-shaped queries min-max convex with
    BM25 0.6; 100 candidates per side."""

    depth: int = 100  # candidates from each side; the min-max range is taken over these
    fusion: Fusion = "evidence"
    rrf_k: int = 60  # only for fusion="rrf"
    fulltext_share: float = 0.2  # evidence: the BM25 share when BM25 found nothing strong
    strong_fulltext_share: float = 0.5  # evidence: the share once BM25's best reaches the knee
    strong_knee: float = 0.5  # evidence: best BM25 / ceiling at which the share is full
    error_fulltext_share: float = 0.6  # error-shaped queries, fused min-max convex
    # Multi-vector documents: the vector side's score of an experience pools the cosine of its
    # whole-text vector with those of its item vectors (dead ends, gotchas, breakthroughs).
    pooling: Pooling = "max"
    pooling_temperature: float = 0.05  # softmax: weights exp(cosine / temperature)
    item_weight: float = 0.25  # the pooled score's share; the rest is the whole-text cosine


def pooled(document: float | None, items: Sequence[float], tuning: Tuning) -> float:
    """The vector side's score of a multi-vector document.

    ``max`` takes the closest of its vectors; ``softmax`` a mean of them weighted by
    ``exp(cosine / temperature)`` (between the mean and the max). ``item_weight`` blends the
    pooled score with the whole-text cosine, which alone is ``pooling="none"``.
    """
    scores = [document] if document is not None else []
    if tuning.pooling == "none" or not items:
        return document if document is not None else max(items, default=0.0)
    scores += items
    if tuning.pooling == "max":
        pool = max(scores)
    else:
        top = max(scores)
        weights = [math.exp((s - top) / tuning.pooling_temperature) for s in scores]
        pool = sum(w * s for w, s in zip(weights, scores, strict=True)) / sum(weights)
    if document is None:
        return pool
    return (1.0 - tuning.item_weight) * document + tuning.item_weight * pool


def code_ratio(query: str) -> float:
    """The share of tokens that read as code (paths, identifiers, quoted values), not words."""
    tokens = [t.strip(_EDGES) for t in _TOKEN.findall(query)]
    tokens = [t for t in tokens if t]
    if not tokens:
        return 0.0
    return sum(1 for t in tokens if _CODE_CHARS.search(t)) / len(tokens)


def error_shaped(query: str) -> bool:
    """Does this look like pasted error output (a log line, a stack trace) rather than prose?"""
    if "\n" in query.strip() or _ERROR_NAME.search(query) or _LOG_MARKER.search(query):
        return True
    return code_ratio(query) >= 0.25


def fulltext_share(query: str, tuning: Tuning) -> float:
    return tuning.error_fulltext_share if error_shaped(query) else tuning.fulltext_share


def _normalized(hits: list[Hit]) -> dict[uuid.UUID, float]:
    if not hits:
        return {}
    high = max(h.score for h in hits)
    low = min(h.score for h in hits)
    spread = high - low
    return {h.id: (h.score - low) / spread if spread > 0 else 1.0 for h in hits}


def fuse_hits(
    query: str,
    fulltext: list[Hit],
    vector: list[Hit],
    tuning: Tuning,
    *,
    ceiling: float = 0.0,
    similarity: Mapping[uuid.UUID, float] | None = None,
) -> list[Fused]:
    """One ranking of both lists, best first; ties go to the better single-side rank.

    ``ceiling`` is the query's BM25 ceiling and ``similarity`` the cosine of every candidate
    (both needed by ``evidence``; without a ceiling it falls back to ``convex``).
    """
    share = fulltext_share(query, tuning)
    ft_rank = {h.id: i + 1 for i, h in enumerate(fulltext)}
    vec_rank = {h.id: i + 1 for i, h in enumerate(vector)}
    fusion = tuning.fusion
    if fusion == "evidence" and (error_shaped(query) or ceiling <= 0):
        fusion = "convex"
    if fusion == "evidence":
        ft_part = {h.id: min(1.0, h.score / ceiling) for h in fulltext}
        # Query-adaptive: lean on BM25 only as far as its best hit holds the query's words.
        best = max(ft_part.values(), default=0.0)
        strength = min(1.0, best / tuning.strong_knee)
        low, high = tuning.fulltext_share, tuning.strong_fulltext_share
        share = low + (high - low) * strength
        vec_part = {h.id: max(0.0, h.score) for h in vector}
        for doc, cos in (similarity or {}).items():
            vec_part.setdefault(doc, max(0.0, cos))
    elif fusion == "convex":
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
