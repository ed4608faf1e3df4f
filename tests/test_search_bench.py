"""Smoke runs of the benchmarks at toy sizes (the real runs are in docs/search.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bench import freshness, latency, quality
from bench.datasets import load
from bench.metrics import ndcg_at, recall_at, reciprocal_rank
from plurum_backend.store.database import Database
from tests.conftest import truncate_all

EXPERIENCES = [
    ("e1", "Fix ERR_OSSL_EVP_UNSUPPORTED when building webpack 4 on Node 17", ["node"]),
    ("e2", "Stop a Celery worker pod from being OOMKilled on Kubernetes", ["kubernetes"]),
    ("e3", "Speed up slow PostgreSQL queries with the right index", ["postgresql"]),
    ("e4", "Renew Let's Encrypt certificates automatically with certbot", ["tls"]),
]
QUERIES = [
    ("q1", "error", "Error: error:0308010C:digital envelope routines::unsupported ERR_OSSL_EVP"),
    ("q2", "paraphrase", "my worker container keeps getting killed for using too much memory"),
    ("q3", "task", "make my postgres database lookups fast"),
]
QRELS = [("q1", "e1", 2), ("q2", "e2", 2), ("q3", "e3", 2), ("q3", "e2", 0)]


def write_dataset(root: Path) -> Path:
    root.mkdir()
    with (root / "experiences.jsonl").open("w") as f:
        for exp_id, goal, tags in EXPERIENCES:
            f.write(json.dumps({"id": exp_id, "goal": goal, "tags": tags}) + "\n")
    with (root / "queries.jsonl").open("w") as f:
        for query_id, kind, text in QUERIES:
            f.write(json.dumps({"id": query_id, "kind": kind, "text": text}) + "\n")
    lines = ["query_id\texperience_id\tscore", *("\t".join(map(str, r)) for r in QRELS)]
    (root / "qrels.tsv").write_text("\n".join(lines) + "\n")
    return root


def test_metrics() -> None:
    grades = {"a": 2, "b": 1}
    assert ndcg_at(["a", "b", "c"], grades) == pytest.approx(1.0)
    assert ndcg_at(["c", "a"], grades) < ndcg_at(["a", "c"], grades)
    assert recall_at(["x", "b"], grades, 2) == 0.5
    assert reciprocal_rank(["b", "x", "a"], grades) == pytest.approx(1 / 3)


def test_beir_layout(tmp_path: Path) -> None:
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text('{"_id": "7", "title": "T", "text": "Body"}\n')
    (tmp_path / "queries.jsonl").write_text(
        '{"_id": "1", "text": "claim"}\n{"_id": "2", "text": "unjudged"}\n'
    )
    (tmp_path / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n1\t7\t1\n")
    dataset = load(tmp_path)
    assert [q.id for q in dataset.queries] == ["1"]
    assert json.loads(dataset.lines[0]) == {"id": "7", "goal": "T", "context": "Body"}


async def test_quality_smoke(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truncate_all(database)
    root = write_dataset(tmp_path / "set")
    args = quality.parser().parse_args(["--dataset", str(root), "--json"])
    await quality.main_async(args, database)
    out = json.loads(capsys.readouterr().out)
    assert out["documents"] == 4 and set(out["results"]) == {"fulltext", "vector", "hybrid"}
    hybrid = out["results"]["hybrid"]
    assert set(hybrid) == {"all", "error", "paraphrase", "task"}
    assert hybrid["all"]["ndcg10"] > 0.9 and hybrid["all"]["recall100"] == 1.0


async def test_latency_smoke(database: Database) -> None:
    truncate_all(database)
    args = argparse.Namespace(
        experiences=60,
        stages="30,60",
        queries=5,
        sample=8,
        http=True,
        json=True,
        keep=None,
        shared_buffers=None,
        import_only=False,
        index_after=True,  # the HNSW graphs dropped for the load and built after it
    )
    report = await latency.run(args, database)
    assert [st.experiences for st in report.stages] == [30, 60]
    assert report.model_docs_per_s > 0 and report.import_docs_per_s > 0
    for stage in report.stages:
        assert 0 < stage.service_cached.p50 <= stage.service_cached.p99
        assert 0.0 <= stage.recall_at_10 <= 1.0
        for http in (stage.http_cached, stage.http_embedding, stage.httpx_cached):
            assert http is not None and 0 < http.p50 <= http.p99


async def test_freshness_smoke(database: Database) -> None:
    truncate_all(database)
    figures = await freshness.run(writes=3, database=database)
    assert figures["writes"] == 3 and 0 < figures["max_ms"] < 1000
