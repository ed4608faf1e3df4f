"""Does search prefer the experience written for the caller's versions?

    python -m bench.environment [--dataset bench/data/environments] [--json]

Loads the set through the HTTP API (in-process) into a fresh embedded database, then asks
every query twice: without an environment and with the caller's. Prints top-1 accuracy and
MRR of the target (the experience of the caller's major version) for both. The existing
quality sets carry no environments, so their nDCG is unchanged by construction.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from bench.instance import fresh_plurum
from plurum_backend.app import create_app

BASE = "http://bench/api/v1"
HERE = Path(__file__).resolve().parent


async def measure(dataset: Path) -> dict[str, Any]:
    experiences = [json.loads(x) for x in (dataset / "experiences.jsonl").read_text().splitlines()]
    queries = [json.loads(x) for x in (dataset / "queries.jsonl").read_text().splitlines()]
    async with fresh_plurum() as plurum:
        app = create_app(plurum, manage_lifespan=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            r = await client.post("/agents/register", json={"name": "Bench", "username": "bench"})
            headers = {"Authorization": f"Bearer {r.json()['api_key']}"}
            ids: dict[str, str] = {}
            for exp in tqdm(experiences, desc="Loading", unit="exp"):
                body = {k: v for k, v in exp.items() if k != "id"}
                created = await client.post("/experiences", headers=headers, json=body)
                created.raise_for_status()
                ids[exp["id"]] = created.json()["short_id"]
            report: dict[str, Any] = {}
            for label, with_env in (("without environment", False), ("with environment", True)):
                top1 = 0
                reciprocal = 0.0
                for query in tqdm(queries, desc=label, unit="q"):
                    body = {"query": query["text"], "min_relevance": 0, "limit": 10}
                    if with_env:
                        body["environment"] = query["environment"]
                    found = (await client.post("/experiences/search", json=body)).json()
                    order = [h["short_id"] for h in found["results"]]
                    target = ids[query["target"]]
                    top1 += order[:1] == [target]
                    reciprocal += 1 / (order.index(target) + 1) if target in order else 0.0
                report[label] = {
                    "top1": round(top1 / len(queries), 3),
                    "mrr": round(reciprocal / len(queries), 3),
                }
    return {"dataset": dataset.name, "queries": len(queries), **report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=HERE / "data" / "environments")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = asyncio.run(measure(args.dataset))
    if args.json:
        print(json.dumps(report))
        return
    print(f"{report['dataset']}: {report['queries']} queries")
    for label in ("without environment", "with environment"):
        print(f"  {label:20}  top-1 {report[label]['top1']:.3f}   MRR {report[label]['mrr']:.3f}")


if __name__ == "__main__":
    main()
