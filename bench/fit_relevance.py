"""The relevance models for ``python -m bench.fit relevance`` (docs/search.md, "Relevance").

Two logistic models (``search.relevance``): *answerable*, one example per query (negative:
the ``none`` queries, which only agentdev has), and *hit*, the top 10 of the shipped ranking
(``services.search.assessed``) of answerable queries, positive when judged relevant
(grade >= 1). The three dev sets get equal weight in both fits. Figures are printed for the
models fitted on all three sets and, for honesty, cross-validated: each set is cut into
``FOLDS`` parts by query, and each part is scored by models fitted on the rest of every set.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.metrics import mean, ndcg_at
from bench.replay import QueryReplay, Replay
from plurum_backend.search import relevance
from plurum_backend.search.fulltext import QueryTerms
from plurum_backend.search.fusion import Fused, Hit
from plurum_backend.services.search import Candidates, assessed, evidence

TOP = 10
FOLDS = 5
FLOORS = (0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3)
HIT_WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0)
L2 = 1.0


@dataclass
class Scored:
    query: QueryReplay
    ranked: list[str]  # dataset ids, best first
    rows: np.ndarray  # hit features of every ranked hit
    query_row: np.ndarray  # the answerable model's features


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
            items={_uid(d): v for d, v in q.items.items()},
            terms=QueryTerms(replay.documents, dict(q.terms)),
        )
        fused: list[Fused] = assessed(q.text, found)
        seen = evidence(found)
        rows = np.array(relevance.feature_rows(q.text, fused, seen), dtype=float)
        out.append(
            Scored(
                q,
                [back[f.id] for f in fused],
                rows.reshape(len(fused), -1),
                np.array(relevance.query_features(q.text, seen), dtype=float),
            )
        )
    return out


def hit_examples(scored: Sequence[Scored]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for s in scored:
        if s.query.kind == "none":
            continue
        for i, doc in enumerate(s.ranked[:TOP]):
            xs.append(s.rows[i])
            ys.append(1.0 if s.query.grades.get(doc, 0) > 0 else 0.0)
    return np.array(xs), np.array(ys)


def query_examples(scored: Sequence[Scored]) -> tuple[np.ndarray, np.ndarray]:
    xs = [s.query_row for s in scored]
    ys = [0.0 if s.query.kind == "none" else 1.0 for s in scored]
    return np.array(xs), np.array(ys)


def fit(parts: Sequence[tuple[np.ndarray, np.ndarray]], l2: float = L2) -> np.ndarray:
    """Weighted L2 logistic regression by Newton steps; each part weighs the same in total."""
    parts = [p for p in parts if len(p[1])]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    w = np.concatenate([np.full(len(p[1]), 1.0 / len(p[1])) for p in parts]) * len(y)
    beta = np.zeros(x.shape[1])
    penalty = np.eye(x.shape[1]) * l2
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(x @ beta, -30, 30)))
        grad = x.T @ (w * (p - y)) + penalty @ beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta


@dataclass(frozen=True)
class Model:
    hit: np.ndarray
    query: np.ndarray
    hit_weight: float
    calibration: np.ndarray


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
    return out


def combined_scores(s: Scored, hit: np.ndarray, query: np.ndarray, weight: float) -> np.ndarray:
    """``search.relevance.combined`` of every hit of one query, vectorised."""
    answerable = max(float(_sigmoid(np.array([s.query_row @ query]))[0]), 1e-12)
    hits = np.maximum(_sigmoid(s.rows @ hit), 1e-12)
    out: np.ndarray = np.log(answerable) + weight * np.log(hits)
    return out


def fit_models(sets: Sequence[Sequence[Scored]], hit_weight: float) -> Model:
    hit = fit([hit_examples(s) for s in sets])
    query = fit([query_examples(s) for s in sets])
    parts = []
    for items in sets:  # the calibration: top 10 of every query, none queries included
        xs, ys = [], []
        for s in items:
            scores = combined_scores(s, hit, query, hit_weight)
            for i, doc in enumerate(s.ranked[:TOP]):
                xs.append((1.0, scores[i]))
                ys.append(1.0 if s.query.grades.get(doc, 0) > 0 else 0.0)
        parts.append((np.array(xs), np.array(ys)))
    return Model(hit, query, hit_weight, fit(parts, l2=0.0))


def probabilities(s: Scored, model: Model) -> np.ndarray:
    scores = combined_scores(s, model.hit, model.query, model.hit_weight)
    return _sigmoid(model.calibration[0] + model.calibration[1] * scores)


Predicted = list[tuple[Scored, np.ndarray]]  # each query with its hits' relevance


def predicted_all(scored: Sequence[Scored], model: Model) -> Predicted:
    return [(s, probabilities(s, model)) for s in scored]


def predicted_cv(scored: dict[str, list[Scored]], hit_weight: float) -> dict[str, Predicted]:
    """Each query scored by models fitted on the other folds of every set."""
    folds = {}
    for name, items in scored.items():
        order = list(range(len(items)))
        random.Random(7).shuffle(order)
        folds[name] = {i: k % FOLDS for k, i in enumerate(order)}
    out: dict[str, Predicted] = {name: [] for name in scored}
    for fold in range(FOLDS):
        train = [
            [s for i, s in enumerate(items) if folds[name][i] != fold]
            for name, items in scored.items()
        ]
        model = fit_models(train, hit_weight)
        for name, items in scored.items():
            out[name] += [
                (s, probabilities(s, model)) for i, s in enumerate(items) if folds[name][i] == fold
            ]
    return out


def floor_figures(predicted: Predicted, floor: float, per_query: bool = True) -> dict[str, float]:
    """Answer loss, abstain rate (off / near) and nDCG@10 change at a floor: applied as the
    server does (``services.search.answered``: the whole ranking when the best hit reaches
    it, else nothing) or, ``per_query=False``, dropping each hit below it."""
    lost, answered, nd0, nd1 = 0, 0, [], []
    abstain: dict[str, list[bool]] = {}
    for s, rel in predicted:
        kept = list(s.ranked) if per_query and rel.max(initial=0.0) >= floor else []
        if not per_query:
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
        "ndcg_change": mean(nd1) - mean(nd0),
    }
    for scope in sorted(abstain):
        out[f"abstain_{scope}"] = sum(abstain[scope]) / len(abstain[scope])
    return out


def reliability(predicted: Predicted) -> list[tuple[str, int, float, float]]:
    probs, labels = [], []
    for s, rel in predicted:
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


def _coefficients(name: str, beta: np.ndarray) -> str:
    return f"{name} = (" + ", ".join(f"{b:.3f}" for b in beta) + ")"


def floor_table(
    scored: dict[str, list[Scored]],
    fitted: dict[str, Predicted],
    crossed: dict[str, Predicted],
    per_query: bool = True,
) -> None:
    """Markdown: per floor, each set's answer loss and nDCG@10 change, agentdev's abstain
    rates; fitted on all sets (cross-validated in brackets)."""
    names = list(scored)
    print(
        "| floor | "
        + " | ".join(f"{n} loss / nDCG change" for n in names)
        + " | agentdev abstain off | agentdev abstain near |"
    )
    print("|---" * (len(names) + 3) + "|")
    for floor in FLOORS:
        cells, extra = [], ""
        for name in names:
            f = floor_figures(fitted[name], floor, per_query)
            c = floor_figures(crossed[name], floor, per_query)
            cells.append(
                f"{f['answer_loss']:.3f} ({c['answer_loss']:.3f}) / "
                f"{f['ndcg_change']:+.3f} ({c['ndcg_change']:+.3f})"
            )
            if "abstain_off" in f:
                extra = (
                    f" | {f['abstain_off']:.3f} ({c['abstain_off']:.3f})"
                    f" | {f['abstain_near']:.3f} ({c['abstain_near']:.3f})"
                )
        print(f"| {floor:g} | " + " | ".join(cells) + extra + " |")


def report(replays: dict[str, Replay], all_weights: bool = False) -> None:
    scored = {name: score_replay(r) for name, r in replays.items()}
    for weight in HIT_WEIGHTS if all_weights else (relevance.HIT_WEIGHT,):
        model = fit_models(list(scored.values()), weight)
        fitted = {name: predicted_all(s, model) for name, s in scored.items()}
        crossed = predicted_cv(scored, weight)
        print(f"\n## HIT_WEIGHT = {weight}")
        print("hit features:", ", ".join(relevance.FEATURES))
        print(_coefficients("COEFFICIENTS", model.hit))
        print("answerable features:", ", ".join(relevance.QUERY_FEATURES))
        print(_coefficients("QUERY_COEFFICIENTS", model.query))
        print(_coefficients("CALIBRATION", model.calibration))
        print("floor on the best hit (shipped):")
        floor_table(scored, fitted, crossed)
        print("floor on each hit:")
        floor_table(scored, fitted, crossed, per_query=False)
        if weight != relevance.HIT_WEIGHT:
            continue
        for label, predictions in (("fitted on all sets", fitted), ("cross-validated", crossed)):
            print(f"\nreliability, {label} (bin, hits, mean p, share relevant):")
            for name, predicted in predictions.items():
                print(f"  {name}")
                for row in reliability(predicted):
                    print(f"    {row[0]}  {row[1]:>5}  {row[2]:.3f}  {row[3]:.3f}")
