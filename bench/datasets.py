"""The evaluation sets: a BEIR-format corpus (SciFact) or Plurum's own experiences set.

Both become the same three things: import lines (one experience each), queries (with a
``kind``), and graded judgements keyed by the dataset's own ids.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    kind: str  # "none": nothing relevant exists (agentdev), judged by the floor only
    scope: str = ""  # for "none" queries: "off" (off-domain) or "near" (near-domain)

    @property
    def answerable(self) -> bool:
        return self.kind != "none"


@dataclass(frozen=True)
class Dataset:
    name: str
    lines: list[str]  # import lines, each with the dataset's id as "id"
    queries: list[Query]
    qrels: dict[str, dict[str, int]]  # query id -> document id -> grade


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t")
        next(reader)
        for query_id, doc_id, grade in reader:
            if int(grade) > 0:
                qrels.setdefault(query_id, {})[doc_id] = int(grade)
    return qrels


def _beir(root: Path) -> Dataset:
    """BEIR layout: corpus.jsonl (_id, title, text), queries.jsonl, qrels/<split>.tsv."""
    lines = [
        json.dumps(
            {"id": d["_id"], "goal": d["title"] or str(d["text"])[:200], "context": d["text"]}
        )
        for d in _read_jsonl(root / "corpus.jsonl")
    ]
    qrels: dict[str, dict[str, int]] = {}
    for path in sorted((root / "qrels").glob("*.tsv")):
        for query_id, grades in _read_qrels(path).items():
            qrels.setdefault(query_id, {}).update(grades)
    queries = [
        Query(str(q["_id"]), str(q["text"]), "claim")
        for q in _read_jsonl(root / "queries.jsonl")
        if str(q["_id"]) in qrels
    ]
    return Dataset(root.name, lines, queries, qrels)


def _plurum(root: Path) -> Dataset:
    """Plurum layout: experiences.jsonl (id + experience fields), queries.jsonl, qrels.tsv."""
    with (root / "experiences.jsonl").open(encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    qrels = _read_qrels(root / "qrels.tsv")
    # Judged queries, plus the "none" queries (no judgements by design: nothing is relevant).
    queries = [
        Query(str(q["id"]), str(q["text"]), str(q.get("kind", "query")), str(q.get("scope", "")))
        for q in _read_jsonl(root / "queries.jsonl")
        if str(q["id"]) in qrels or q.get("kind") == "none"
    ]
    return Dataset(root.name, lines, queries, qrels)


def load(root: Path) -> Dataset:
    if (root / "corpus.jsonl").exists():
        return _beir(root)
    if (root / "experiences.jsonl").exists():
        return _plurum(root)
    raise SystemExit(f"{root} holds neither corpus.jsonl (BEIR) nor experiences.jsonl (Plurum).")
