"""Embedding backends side by side: throughput, query latency and retrieval quality.

    python -m bench.embeddings                         # throughput + query latency
    python -m bench.embeddings --quality ../shared/data/scifact \\
        ../shared/data/agentdev bench/data/experiences   # + dense nDCG@10 per backend
    python -m bench.embeddings --backends torch,onnx-int8 --rounds 7 --json
    python -m bench.embeddings --also-export OLD-EXPORT.onnx   # + an older int8 export, same run

Throughput: the same SciFact abstracts, each at least 256 word pieces (so every text is 256
after truncation), embedded through ``Embedder.embed`` (the path of imports and re-embeds, on
every core) by each backend in turn, round after round, the order rotating each round, so
every backend sees the same machine load; the figure is the median over rounds, and the
ratio to torch fp32 is the median of the per-round ratios. Query latency: each query alone
through ``Embedder.embed_query`` (the search path: one thread, no cache hit, since every
query is new to each backend). ``--one-thread`` also times torch and onnx-int8 on one thread:
on a loaded machine torch's two OpenMP threads wait for each other at every operator (one
thread was 2.4x faster at load 8), so "× best torch" compares with the faster torch of each
round, the fair figure when the machine is busy.

Quality: every document of each dataset embedded as the server embeds an experience
(``documents.embedding_text`` of the imported line), every judged query embedded as a search
query, ranked by exact cosine (no index, no BM25: the backend's effect alone, undiluted by the
hybrid fusion), nDCG@10 against the dataset's judgements. Document vectors are cached under
bench/.cache per backend, so reruns only pay for the queries.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.cache import CachedEmbedder
from bench.datasets import load
from bench.metrics import mean, ndcg_at
from plurum_backend.config import BACKENDS
from plurum_backend.importer import _parse, experience_of
from plurum_backend.search.documents import embedding_text
from plurum_backend.search.embedder import Embedder, _model_path, shared_embedder
from plurum_backend.search.onnx_model import OnnxEncoder
from plurum_backend.services.scrub import Scrub

SCIFACT = Path("../shared/data/scifact")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def long_texts(corpus: Path, count: int, embedder: Embedder) -> list[str]:
    """``count`` SciFact abstracts of at least 256 word pieces."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(_model_path(embedder.model_name)) / "tokenizer.json"))
    tokenizer.no_truncation()  # the file itself truncates at 128
    found: list[str] = []
    with (corpus / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            text = f"{doc['title']}\n{doc['text']}"
            if len(tokenizer.encode(text).ids) >= 256:
                found.append(text)
                if len(found) == count:
                    break
    return found


def queries_of(corpus: Path, count: int) -> list[str]:
    with (corpus / "queries.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f][:count]


def speed(
    embedders: dict[str, Embedder], texts: list[str], queries: list[str], rounds: int
) -> dict[str, Any]:
    names = list(embedders)
    rates: dict[str, list[float]] = {n: [] for n in names}
    # Documents per second of CPU time as well (every thread of this process): on a shared,
    # loaded machine the wall clock measures the neighbours as much as the model, the work
    # done per document much less so.
    cpu_rates: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            started, cpu = time.perf_counter(), time.process_time()
            embedders[name].embed(texts)
            rates[name].append(len(texts) / (time.perf_counter() - started))
            cpu_rates[name].append(len(texts) / max(1e-9, time.process_time() - cpu))
        say(f"round {r + 1}/{rounds}: " + ", ".join(f"{n} {rates[n][-1]:.1f}/s" for n in names))
    latencies: dict[str, list[float]] = {n: [] for n in names}
    query_cpu: dict[str, list[float]] = {n: [] for n in names}
    for i, query in enumerate(queries):  # interleaved too, one query at a time
        for name in names[i % len(names) :] + names[: i % len(names)]:
            started, cpu = time.perf_counter(), time.process_time()
            embedders[name].embed_query(query)
            latencies[name].append(time.perf_counter() - started)
            query_cpu[name].append(time.process_time() - cpu)
    reference = "torch" if "torch" in names else names[0]
    # torch at its best in each round: with --one-thread, the faster of its two thread counts
    # (on a loaded machine two OpenMP threads wait for each other and one thread is faster)
    torches = [n for n in names if n.startswith("torch")] or [reference]
    best = [max(rates[n][r] for n in torches) for r in range(rounds)]
    result: dict[str, Any] = {}
    for name in names:
        ratios = [a / b for a, b in zip(rates[name], rates[reference], strict=True)]
        best_ratios = [a / b for a, b in zip(rates[name], best, strict=True)]
        cpu_ratios = [a / b for a, b in zip(cpu_rates[name], cpu_rates[reference], strict=True)]
        ordered = sorted(latencies[name])
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        result[name] = {
            "docs_per_s": round(statistics.median(rates[name]), 2),
            "ratio_to_torch": round(statistics.median(ratios), 2),
            "ratio_to_best_torch": round(statistics.median(best_ratios), 2),
            "docs_per_cpu_s": round(statistics.median(cpu_rates[name]), 2),
            "cpu_ratio_to_torch": round(statistics.median(cpu_ratios), 2),
            "query_p50_ms": round(1000 * statistics.median(ordered), 2),
            "query_p99_ms": round(1000 * p99, 2),
            "query_cpu_p50_ms": round(1000 * statistics.median(query_cpu[name]), 2),
        }
    result["load_average"] = round(os.getloadavg()[0], 1)
    return result


def quality(
    embedders: dict[str, Embedder], root: Path, queries: int = 0, distractors: int = 0
) -> dict[str, float]:
    """Dense nDCG@10 per backend; ``queries`` > 0 keeps the first that many judged queries
    and, as the corpus, their judged documents plus the first ``distractors`` others."""
    dataset = load(root)
    if queries:
        kept = dataset.queries[:queries]
        judged = {d for q in kept for d in dataset.qrels[q.id]}
        lines, others = [], 0
        for line in dataset.lines:
            if str(json.loads(line)["id"]) in judged:
                lines.append(line)
            elif others < distractors:
                lines.append(line)
                others += 1
        dataset = replace(dataset, lines=lines, queries=kept)
    # judged queries only: a "none" query (nothing relevant, by design) has no nDCG
    dataset = replace(dataset, queries=[q for q in dataset.queries if dataset.qrels.get(q.id)])
    scrub = Scrub()
    ids: list[str] = []
    texts: list[str] = []
    for number, line in enumerate(dataset.lines, start=1):
        record, exp_id = _parse(number, line)
        ids.append(str(json.loads(line)["id"]))
        texts.append(embedding_text(experience_of(record, exp_id, number, scrub)))
    scores: dict[str, float] = {}
    for name, embedder in embedders.items():
        say(f"{dataset.name}: {len(texts)} documents, {len(dataset.queries)} queries, {name}")
        cache = CachedEmbedder(embedder)
        try:
            docs = cache.embed(texts, progress=True)
        finally:
            cache.close()
        asked = np.stack([embedder.embed_query(q.text) for q in dataset.queries])
        ranked = np.argsort(-(asked @ docs.T), axis=1)[:, :10]
        scores[name] = round(
            mean(
                [
                    ndcg_at([ids[j] for j in ranked[i]], dataset.qrels[q.id], 10)
                    for i, q in enumerate(dataset.queries)
                ]
            ),
            4,
        )
    return scores


def report(result: dict[str, Any]) -> str:
    lines = []
    speed_rows = result.get("speed", {})
    if speed_rows:
        lines.append(
            f"{'backend':<34} {'docs/s (256 tok)':>16} {'× torch':>8} {'docs/CPU-s':>10} "
            f"{'× torch':>8} {'× best torch':>12} {'query p50':>10} {'query p99':>10} "
            f"{'query CPU':>10}"
        )
        for name, row in speed_rows.items():
            if name == "load_average":
                continue
            lines.append(
                f"{name:<34} {row['docs_per_s']:>16.1f} {row['ratio_to_torch']:>8.2f} "
                f"{row['docs_per_cpu_s']:>10.1f} {row['cpu_ratio_to_torch']:>8.2f} "
                f"{row['ratio_to_best_torch']:>12.2f} "
                f"{row['query_p50_ms']:>8.1f}ms {row['query_p99_ms']:>8.1f}ms "
                f"{row['query_cpu_p50_ms']:>8.1f}ms"
            )
        lines.append(f"load average at the end: {speed_rows.get('load_average')}")
    for dataset, scores in result.get("quality", {}).items():
        base = scores.get("torch")
        cells = [
            f"{n} {v:.4f}" + (f" ({v - base:+.4f})" if base is not None and n != "torch" else "")
            for n, v in scores.items()
        ]
        lines.append(f"nDCG@10 {dataset}: " + ", ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--texts", type=int, default=64, help="256-token texts per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--corpus", type=Path, default=SCIFACT, help="SciFact, for the texts")
    parser.add_argument("--quality", type=Path, nargs="*", default=[], help="datasets")
    parser.add_argument("--no-speed", action="store_true", help="only the quality table")
    parser.add_argument(
        "--sample-queries",
        type=int,
        default=0,
        help="quality on the first N judged queries, their documents and --distractors more",
    )
    parser.add_argument("--distractors", type=int, default=0)
    parser.add_argument(
        "--int8-batched",
        action="store_true",
        help="also run int8 in batches of 32 (the variant the server does not use)",
    )
    parser.add_argument(
        "--one-thread",
        action="store_true",
        help="also time torch and onnx-int8 on one thread ('× best torch': against the faster "
        "torch of each round)",
    )
    parser.add_argument(
        "--also-export",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="also time this int8 ONNX file, each text alone (e.g. an older recipe's export)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise SystemExit(f"Unknown backend {unknown[0]!r}; choose from {', '.join(BACKENDS)}.")
    say("Loading " + ", ".join(names) + "…")
    embedders = {n: shared_embedder(backend=n) for n in names}
    if args.int8_batched:
        batched = Embedder(backend="onnx-int8")
        batched._model.batch_size = 32  # type: ignore[attr-defined]
        embedders["onnx-int8 batched"] = batched
    if args.one_thread:
        for name in ("torch", "onnx-int8"):
            single = Embedder(backend=name)
            single._threads = 1
            embedders[f"{name} 1 thread"] = single
    for extra in args.also_export:
        if not extra.is_file():
            raise SystemExit(f"{extra} is not an ONNX file.")
        other = Embedder(backend="onnx-int8")
        other._model = OnnxEncoder(_model_path(other.model_name), extra, quantized=True)
        embedders[extra.stem] = other
    result: dict[str, Any] = {"backends": names}
    if not args.no_speed:
        if not (args.corpus / "corpus.jsonl").exists():
            raise SystemExit(f"{args.corpus} has no corpus.jsonl: pass --corpus <SciFact dir>.")
        texts = long_texts(args.corpus, args.texts, next(iter(embedders.values())))
        queries = queries_of(args.corpus, args.queries)
        if len(texts) < args.texts:
            raise SystemExit(f"{args.corpus} has only {len(texts)} abstracts of 256 word pieces.")
        for embedder in embedders.values():  # warm: first calls allocate
            embedder.embed(texts[:4])
        result["speed"] = speed(embedders, texts, queries, args.rounds)
    if args.quality:
        plain = {n: e for n, e in embedders.items() if n in BACKENDS}
        result["quality"] = {
            root.name: quality(plain, root, args.sample_queries, args.distractors)
            for root in args.quality
        }
    print(json.dumps(result, indent=2) if args.json else report(result))


if __name__ == "__main__":
    main()
