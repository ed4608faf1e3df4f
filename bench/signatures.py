"""How error signatures match on a dataset: for each error query, does the target share one?

    python -m bench.signatures --dataset ../shared/data/agentdev [--verbose]

Offline (no database, no model): signatures of every experience's text and of every
``error`` query, matched with ``Signature.same_error``. Prints, per dataset: error queries,
those with a signature, those whose grade-2 target shares one, and the experiences matched
by grade (2, 1, unjudged) — the precision of promoting same-signature hits in search.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from bench.datasets import load
from plurum_backend.search.signatures import Signature, experience_signatures, signatures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = load(args.dataset)
    stored: dict[str, list[Signature]] = {}
    for line in data.lines:
        doc = json.loads(line)
        items = [
            i if isinstance(i, dict) else {"description": i}
            for k in ("dead_ends", "breakthroughs", "gotchas", "artifacts")
            for i in doc.get(k, [])
        ]
        stored[doc["id"]] = experience_signatures(
            doc.get("goal", ""), doc.get("solution"), doc.get("context", ""), items
        )
    queries = [q for q in data.queries if q.kind == "error"]
    with_signature = target_matched = 0
    matched: Counter[str] = Counter()
    for query in queries:
        mine = signatures(query.text)
        with_signature += bool(mine)
        grades = data.qrels.get(query.id, {})
        hits = [d for d, sigs in stored.items() if any(a.same_error(b) for a in mine for b in sigs)]
        for doc in hits:
            matched[{2: "grade 2", 1: "grade 1"}.get(grades.get(doc, 0), "unjudged")] += 1
        target = next((d for d, g in grades.items() if g == 2), None)
        target_matched += target in hits
        if args.verbose and mine:
            print(query.id, [s.label for s in mine][:2], "->", hits[:5], "target", target)
    report = {
        "dataset": args.dataset.name,
        "experiences_with_signature": sum(1 for s in stored.values() if s),
        "experiences": len(stored),
        "error_queries": len(queries),
        "with_signature": with_signature,
        "target_matched": target_matched,
        "matched": dict(matched),
    }
    if args.json:
        print(json.dumps(report))
        return
    print(
        f"{report['dataset']}: {report['experiences_with_signature']}/{len(stored)} experiences "
        f"quote an error; {len(queries)} error queries, {with_signature} with a signature, "
        f"{target_matched} matched their target; matched experiences by grade: "
        + ", ".join(f"{k} {v}" for k, v in sorted(matched.items()))
    )


if __name__ == "__main__":
    main()
