"""The poisoned-content detector over real experiences and the repository's corpus.

    python bench/injection.py /work/shared/data/agentdev /work/shared/data/scifact \
        [bench/data/experiences ...] [--corpus tests/data/injection] [--json]

Each dataset folder holds ``experiences.jsonl`` (Plurum's shape: goal, context, dead_ends,
…) or ``corpus.jsonl`` (BEIR's shape: title, text). Every record is read as the API reads
an experience (services.injection.inspect_experience); any finding there is a *false hold*
(target 0), printed with its reasons. Then the corpus: recall on ``attacks.jsonl`` (target
≥ 0.9, printed per language and style) and false holds on ``near_misses.jsonl`` (target 0).
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from plurum_backend.services.injection import Finding, inspect_experience

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "injection"


def _read(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def dataset_records(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    if (folder / "experiences.jsonl").exists():
        rows = _read(folder / "experiences.jsonl")
        return [(str(r.get("id", i)), r) for i, r in enumerate(rows)]
    if (folder / "corpus.jsonl").exists():
        rows = _read(folder / "corpus.jsonl")
        return [
            (str(r.get("_id", i)), {"goal": r.get("title", ""), "context": r.get("text", "")})
            for i, r in enumerate(rows)
        ]
    raise SystemExit(f"{folder} has neither experiences.jsonl nor corpus.jsonl.")


def corpus_record(row: dict[str, Any]) -> dict[str, Any]:
    """A corpus line: {"text": …} (read as an experience's context) or {"experience": {…}}."""
    if "experience" in row:
        record: dict[str, Any] = row["experience"]
        return record
    return {"context": row["text"]}


def _show(findings: list[Finding]) -> str:
    return "; ".join(f"{f.kind} in {f.field} ({f.via}): {f.excerpt!r}" for f in findings)


def run(datasets: list[Path], corpus: Path, as_json: bool) -> int:
    report: dict[str, Any] = {"datasets": {}, "corpus": {}}
    missed_target = False
    for folder in datasets:
        records = dataset_records(folder)
        started = time.perf_counter()
        held = []
        for i, (key, record) in enumerate(records, 1):
            found = inspect_experience(record)
            if found:
                held.append((key, found))
                if not as_json:
                    print(f"  FALSE HOLD {folder.name}/{key}: {_show(found)}")
            if not as_json and i % 500 == 0:
                print(f"  {folder.name}: {i}/{len(records)}", file=sys.stderr)
        seconds = time.perf_counter() - started
        report["datasets"][folder.name] = {
            "experiences": len(records),
            "false_holds": len(held),
            "held": [k for k, _ in held],
            "ms_per_experience": round(1000 * seconds / max(len(records), 1), 2),
        }
        missed_target |= bool(held)
        if not as_json:
            print(
                f"{folder.name}: {len(records)} experiences, {len(held)} false holds "
                f"({1000 * seconds / max(len(records), 1):.2f} ms each)"
            )
    attacks = _read(corpus / "attacks.jsonl")
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    misses = []
    for row in attacks:
        found = inspect_experience(corpus_record(row))
        for label in (f"lang={row.get('lang', '?')}", f"style={row.get('style', '?')}"):
            total[label] += 1
            caught[label] += bool(found)
        if not found:
            misses.append(row)
    recall = (len(attacks) - len(misses)) / max(len(attacks), 1)
    near = _read(corpus / "near_misses.jsonl")
    false_holds = []
    for row in near:
        found = inspect_experience(corpus_record(row))
        if found:
            false_holds.append((row, found))
    report["corpus"] = {
        "attacks": len(attacks),
        "recall": round(recall, 4),
        "by": {k: f"{caught[k]}/{total[k]}" for k in sorted(total)},
        "missed": [m.get("id") for m in misses],
        "near_misses": len(near),
        "false_holds": [r.get("id") for r, _ in false_holds],
    }
    missed_target |= recall < 0.9 or bool(false_holds)
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for row in misses:
            print(f"  MISSED {row.get('id')}: {str(corpus_record(row))[:160]!r}")
        for row, found in false_holds:
            print(f"  FALSE HOLD {row.get('id')}: {_show(found)}")
        print(
            f"corpus: recall {recall:.3f} on {len(attacks)} attacks; "
            f"{len(false_holds)} false holds on {len(near)} near-misses"
        )
        print("  " + ", ".join(f"{k} {v}" for k, v in report["corpus"]["by"].items()))
    return 1 if missed_target else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="*", type=Path, help="folders of experiences")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", action="store_true", help="one JSON document")
    args = parser.parse_args()
    sys.exit(run(args.datasets, args.corpus, args.json))


if __name__ == "__main__":
    main()
