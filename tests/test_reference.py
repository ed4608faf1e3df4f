"""The public reference's curl examples, replayed as written with real curl against `plurum serve`.

Only the base URL, the placeholder key, ``{id}`` and the example short_id are swapped for live
values; paths, headers and bodies are exactly the reference's.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import httpx

# A copy of the seed's public reference: a clone of this repository must test on its own.
REFERENCE = Path(__file__).resolve().parent / "data" / "plurum-api-reference.txt"
HOSTED = "https://api.plurum.ai/api/v1"


def reference_curls() -> dict[str, list[str]]:
    """Each curl example of the reference, keyed by 'METHOD path', as an argv."""
    text = REFERENCE.read_text()
    examples = {}
    for match in re.finditer(r"curl .*", text):
        line = match.group(0).replace("\\-", " -")
        argv = shlex.split(line)
        method = argv[argv.index("-X") + 1] if "-X" in argv else "GET"
        url = next(a for a in argv if a.startswith(HOSTED))
        examples[f"{method} {url[len(HOSTED) :]}"] = argv
    return examples


def run_curl(argv: list[str], base: str, swaps: dict[str, str]) -> tuple[int, dict[str, object]]:
    live = []
    for arg in argv:
        arg = arg.replace(HOSTED, base)
        for placeholder, value in swaps.items():
            arg = arg.replace(placeholder, value)
        live.append(arg)
    out = subprocess.run(
        [*live, "-s", "-w", "\n%{http_code}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    body, _, code = out.stdout.rpartition("\n")
    return int(code), json.loads(body)


def test_reference_examples_work_as_written(served: str) -> None:
    """``served`` (conftest): `plurum serve` as a user runs it, on the test database."""
    examples = reference_curls()
    assert set(examples) == {
        "POST /sessions",
        "POST /sessions/{id}/entries",
        "POST /experiences/search",
        "GET /experiences/Ab3xKp9z",
        "POST /experiences/Ab3xKp9z/acquire",
        "POST /experiences/Ab3xKp9z/outcome",
    }
    key = httpx.post(
        served + "/agents/register", json={"name": "My Agent", "username": "referenceagent"}
    ).json()["api_key"]
    swaps = {"plrm_live_xxx": key}

    code, opened = run_curl(examples["POST /sessions"], served, swaps)
    assert code == 201 and {"session_id", "relevant_experiences", "active_sessions"} <= set(opened)
    swaps["{id}"] = str(opened["session_id"])

    code, entry = run_curl(examples["POST /sessions/{id}/entries"], served, swaps)
    assert code == 201 and entry["entry_type"] == "breakthrough"

    auth = {"Authorization": f"Bearer {key}"}
    closed = httpx.post(f"{served}/sessions/{swaps['{id}']}/close", headers=auth, timeout=30)
    assert closed.status_code == 200
    exp = closed.json()["experience"]
    assert exp["tags"] == ["deployment", "docker", "aws-cli", "terraform"]
    # the search example asks for tags docker + aws; an experience with both answers it
    made = httpx.post(
        f"{served}/experiences",
        headers=auth,
        timeout=30,
        json={
            "goal": "Deploy FastAPI to AWS ECS with Docker",
            "tags": ["docker", "aws"],
            "breakthroughs": ["Multi-stage Docker builds cut image size by 80%"],
        },
    ).json()

    code, found = run_curl(examples["POST /experiences/search"], served, swaps)
    assert code == 200
    # the session closed above has the same goal and, since main, matching tags: both answer
    assert made["short_id"] in [r["short_id"] for r in found["results"]]  # type: ignore[index]

    swaps["Ab3xKp9z"] = made["short_id"]
    code, detail = run_curl(examples["GET /experiences/Ab3xKp9z"], served, swaps)
    assert code == 200
    assert {"dead_ends", "breakthroughs", "gotchas", "artifacts"} <= set(detail)

    code, acquired = run_curl(examples["POST /experiences/Ab3xKp9z/acquire"], served, swaps)
    assert code == 200 and acquired["mode"] == "checklist"
    assert acquired["content"]["do"] == ["Multi-stage Docker builds cut image size by 80%"]  # type: ignore[index]

    other = httpx.post(
        served + "/agents/register", json={"name": "Other", "username": "referencetwo"}
    ).json()["api_key"]
    code, outcome = run_curl(
        examples["POST /experiences/Ab3xKp9z/outcome"], served, {**swaps, "plrm_live_xxx": other}
    )
    assert code == 201 and outcome["experience"]["outcomes"]["success"] == 1  # type: ignore[index]

    missing = httpx.get(served + "/experiences/zzzzzzzz")
    assert missing.status_code == 404 and missing.json() == {"detail": "Experience not found"}
