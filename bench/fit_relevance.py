"""The relevance model for ``python -m bench.fit relevance`` (docs/search.md, "Relevance").

Per query, the top 10 of the shipped ranking (``services.search.assessed``) are the examples;
a hit is positive when it is judged relevant (grade >= 1). The three dev sets get equal
weight. Figures are printed for the model fitted on all three and, for honesty, for each set
scored by a model fitted on the other two (leave one dataset out).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.fit import idf  # noqa: F401 - same IDF as production (re-exported for readers)
from bench.metrics import mean, ndcg_at
from bench.replay import QueryReplay, Replay
from plurum_backend.search import relevance
from plurum_backend.search.fulltext import QueryTerms
from plurum_backend.search.fusion import Fused, Hit
from plurum_backend.services.search import Candidates, assessed

TOP = 10
FLOORS = (0.01, 0.02, 0.03, 0.04, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
L2 = 1.0


@dataclass
class Scored:
    query: QueryReplay
    ranked: list[str]  # dataset ids, best first
    rows: np.ndarray  # features of every ranked hit


def _uid(doc: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, doc)


def score_replay(replay: Replay) -> list[Scored]:
    out = []
    for q in replay.queries:
        back = {_uid(d): d for d, _ in (*q.fulltext, *q.vector)}
        found = Candidates(
            fulltext=[Hit(_uid(d), s) for d, s in q.fulltext[:100]],
            vector=[Hit(_uid(d), s) for d, s in q.vector[:100]],
            similarity={_uid(d): v for d, v in q.similarity.items()},
            terms=QueryTerms(replay.documents, dict(q.terms)),
        )
        fused: list[Fused] = assessed(q.text, found)
        bm25 = {h.id: h.score for h in found.fulltext}
        rows = np.array(relevance.feature_rows(q.text, fused, bm25, found.terms), dtype=float)
        out.append(Scored(q, [back[f.id] for f in fused], rows.reshape(len(fused), -1)))
    return out


def examples(scored: list[Scored]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for s in scored:
        for i, doc in enumerate(s.ranked[:TOP]):
            xs.append(s.rows[i])
            ys.append(1.0 if s.query.grades.get(doc, 0) > 0 else 0.0)
    return np.array(xs), np.array(ys)


def fit(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Weighted L2 logistic regression by Newton steps; each part weighs the same in total."""
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    w = np.concatenate([np.full(len(p[1]), 1.0 / len(p[1])) for p in parts]) * len(y)
    beta = np.zeros(x.shape[1])
    penalty = np.eye(x.shape[1]) * L2
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ beta)))
        grad = x.T @ (w * (p - y)) + penalty @ beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def probabilities(s: Scored, beta: np.ndarray) -> np.ndarray:
    z = np.clip(s.rows @ beta, -30, 30)
    p: np.ndarray = 1 / (1 + np.exp(-z))
    return p


def floor_figures(scored: list[Scored], beta: np.ndarray, floor: float) -> dict[str, float]:
    """Answer loss, abstain rate (off / near) and nDCG@10 at a floor."""
    lost, answered, nd0, nd1 = 0, 0, [], []
    abstain: dict[str, list[bool]] = {}
    for s in scored:
        rel = probabilities(s, beta)
        kept = [d for d, r in zip(s.ranked, rel, strict=True) if r >= floor]
        q = s.query
        if q.kind == "none":
            abstain.setdefault(q.scope or "none", []).append(not kept)
            continue
        best = max(q.grades.values())
        targets = {d for d, g in q.grades.items() if g == best}
        if targets & set(s.ranked[:TOP]):
            answered += 1
            if not targets & set(kept[:TOP]):
                lost += 1
        nd0.append(ndcg_at(s.ranked, q.grades))
        nd1.append(ndcg_at(kept, q.grades))
    out = {
        "answer_loss": lost / answered if answered else 0.0,
        "ndcg": mean(nd1),
        "ndcg_change": mean(nd1) - mean(nd0),
    }
    for scope, flags in abstain.items():
        out[f"abstain_{scope}"] = sum(flags) / len(flags)
    return out


def reliability(scored: list[Scored], beta: np.ndarray) -> list[tuple[str, int, float, float]]:
    probs, labels = [], []
    for s in scored:
        rel = probabilities(s, beta)
        for i, doc in enumerate(s.ranked[:TOP]):
            probs.append(rel[i])
            labels.append(1.0 if s.query.grades.get(doc, 0) > 0 else 0.0)
    p, y = np.array(probs), np.array(labels)
    edges = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)
    rows = []
    for lo, hi in itertools.pairwise(edges):
        m = (p >= lo) & (p < hi)
        if m.any():
            rows.append(
                (
                    f"{lo:.1f}-{min(hi, 1.0):.1f}",
                    int(m.sum()),
                    float(p[m].mean()),
                    float(y[m].mean()),
                )
            )
    return rows


def report(replays: dict[str, Replay]) -> None:
    scored = {name: score_replay(r) for name, r in replays.items()}
    parts = {name: examples(s) for name, s in scored.items()}
    beta = fit(list(parts.values()))
    print("features:", ", ".join(relevance.FEATURES))
    print("COEFFICIENTS = (" + ", ".join(f"{b:.3f}" for b in beta) + ")")
    models = {"all sets": beta}
    for held in scored:
        models[f"without {held}"] = fit([p for n, p in parts.items() if n != held])
    for name, s in scored.items():
        for label, b in models.items():
            if label.startswith("without") and label != f"without {name}":
                continue
            print(
                f"\n{name}, model fitted on {label}: "
                "reliability (bin, hits, mean p, share relevant)"
            )
            for row in reliability(s, b):
                print(f"  {row[0]}  {row[1]:>5}  {row[2]:.3f}  {row[3]:.3f}")
            for floor in FLOORS:
                figs = floor_figures(s, b, floor)
                cells = "  ".join(f"{k} {v:.3f}" for k, v in figs.items())
                print(f"  floor {floor:.2f}: {cells}")
