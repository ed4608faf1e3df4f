"""Schemathesis against a live `plurum serve`, authenticated: the bounded CI run
(tests/test_fuzz.py) and the long one (``scripts/fuzz``) share this module.

Checks: every schemathesis check except ``positive_data_acceptance``. That one expects any
schema-valid request to be accepted, but some rules cannot be said in JSON Schema: an entry
needs a ``description`` (or an artifact ``code``), you cannot contribute to your own session,
mark-read needs ``event_ids`` or ``mark_all``. Those answer 400/422 by design.

``rotate-key`` is left out: the fuzzer would rotate its own key away and test the rest of the
API as anonymous; tests/test_keys.py and the authorization matrix cover it.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from tests import serving

EXCLUDED_PATHS = ("/api/v1/agents/me/rotate-key",)
EXCLUDED_CHECKS = ("positive_data_acceptance",)


def register(base: str, username: str) -> str:
    r = httpx.post(base + "/agents/register", json={"name": "Fuzzer", "username": username})
    r.raise_for_status()
    return str(r.json()["api_key"])


def run(base: str, key: str, examples: int, seed: int, report: Path) -> dict[str, Any]:
    """Run schemathesis; returns its JSON report (test_cases, failures, errors, ...)."""
    cli = Path(sys.executable).parent / "schemathesis"
    argv = [
        str(cli),
        "run",
        base + "/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--no-shrink",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--request-timeout",
        "30",
    ]
    for path in EXCLUDED_PATHS:
        argv += ["--exclude-path", path]
    # cwd: schemathesis keeps a .schemathesis/ cache in its working directory
    out = subprocess.run(argv, capture_output=True, text=True, timeout=3600, cwd=report.parent)
    (report.parent / "schemathesis.out").write_text(out.stdout + out.stderr)
    if not report.exists():
        raise AssertionError("schemathesis wrote no report:\n" + out.stdout + out.stderr)
    result: dict[str, Any] = json.loads(report.read_text())
    result["output"] = out.stdout
    return result


def summary(result: dict[str, Any]) -> str:
    cases = result["test_cases"]
    return (
        f"schemathesis: {cases['generated']} cases, {len(result['failures'])} failure kinds, "
        f"{len(result['errors'])} errors, in {result['running_time']:.0f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Fuzz a fresh `plurum serve` with schemathesis")
    parser.add_argument("--examples", type=int, default=300, help="max cases per operation")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else secrets.randbelow(2**24)
    with tempfile.TemporaryDirectory(prefix="plurum-fuzz-") as tmp:
        print("Starting plurum serve on a fresh embedded database…", file=sys.stderr)
        server = serving.start(None, Path(tmp) / "data")
        try:
            key = register(server.base, "fuzzer")
            print(f"Fuzzing {server.base} (seed {seed})…", file=sys.stderr)
            result = run(server.base, key, args.examples, seed, Path(tmp) / "report.json")
        finally:
            server.stop()  # the last Plurum process out stops the embedded PostgreSQL
    output = result.pop("output")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        failed = result["failures"] or result["errors"]
        start = output.find("=== FAILURES" if failed else "=== SUMMARY")
        print(output[max(0, start - 40) :])
        print(summary(result))
    sys.exit(0 if not result["failures"] and not result["errors"] else 1)


if __name__ == "__main__":
    main()
