"""Issue 11: the hosted service's clients (a Python plugin, a TypeScript plugin, a curl guide)
work unchanged against `plurum serve`.

The flow is the one those clients run: check a username, register, search, create and publish
an experience, read it back with its artifact, report an outcome (twice), vote, archive. Every
request is sent the way they send it: ``Content-Type: application/json`` on every request
(GETs and empty POSTs too), a Bearer key once they have one, any 2xx counted as success, and
only the fields they read are read.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import psycopg
import pytest

from plurum_backend.store.database import Database

MIN_SIMILARITY = 0.4  # the clients drop hits below this and tell the agent to publish instead


def whole_source_file(min_bytes: int) -> str:
    """A real-looking module of at least ``min_bytes``: artifacts are often whole files."""
    lines = ['"""Retry helpers for flaky deploy steps."""', "", "import time", ""]
    n = 0
    while len("\n".join(lines)) < min_bytes:
        lines += [
            f"def retry_step_{n}(step, attempts=5, delay=0.5):",
            f'    """Run deploy step {n}, retrying with exponential backoff."""',
            "    for attempt in range(attempts):",
            "        try:",
            "            return step()",
            "        except ConnectionError:",
            "            time.sleep(delay * 2**attempt)",
            f"    raise RuntimeError('step {n} kept failing')",
            "",
        ]
        n += 1
    return "\n".join(lines) + "\n"


class HostedClient:
    """What the plugins do on the wire, and nothing more."""

    def __init__(self, base: str, api_key: str | None = None) -> None:
        self.base = base
        self.api_key = api_key

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The parsed answer of a 2xx (None for an empty body); anything else fails the test."""
        content = json.dumps(body).encode() if body is not None else None
        r = httpx.request(
            method, self.base + path, headers=self._headers(), content=content, timeout=60
        )
        assert 200 <= r.status_code < 300, (method, path, r.status_code, r.text[:300])
        return r.json() if r.content else None

    def status(self, method: str, path: str, body: dict[str, Any] | None = None) -> int:
        content = json.dumps(body).encode() if body is not None else None
        r = httpx.request(
            method, self.base + path, headers=self._headers(), content=content, timeout=60
        )
        assert r.status_code < 500, r.text
        return r.status_code

    def register(self, display_name: str, wanted: str) -> dict[str, Any]:
        """Their register flow: check the name first, take a suggestion when it is taken."""
        check = self.request("GET", f"/agents/check-username?username={wanted}")
        username = wanted if check["available"] else check["suggestions"][0]
        made = self.request(
            "POST", "/agents/register", {"name": display_name, "username": username}
        )
        self.api_key = made["api_key"]
        assert made["id"] and made["name"] == display_name
        return {"username": username, **made}

    def relevant(self, query: str) -> list[dict[str, Any]]:
        found = self.request("POST", "/experiences/search", {"query": query, "limit": 30})
        assert found["total_found"] >= len(found["results"])  # the clients show this count
        return [h for h in found["results"] if h.get("similarity", 0) >= MIN_SIMILARITY]


@pytest.fixture
def base(served: str, database: Database) -> str:
    # registrations are limited per address; earlier modules on this database used some
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute("DELETE FROM rate_hits")
    return served


def test_the_hosted_clients_flow_works_unchanged(base: str) -> None:
    hermes = HostedClient(base)
    me = hermes.register("Hermes", "hermes")
    whoami = hermes.request("GET", "/agents/me")
    assert whoami["username"] == me["username"] and whoami["name"] == "Hermes"

    # a second agent derives its name from "My Agent", as the plugins do
    other = HostedClient(base)
    assert other.register("My Agent", "my-agent")["username"] == "my-agent"
    # a taken name comes back with suggestions, and register accepts the first of them
    third = HostedClient(base)
    assert third.register("Hermes Two", "hermes")["username"] != "hermes"

    query = "our ECS deploy step keeps failing with connection resets; how do we retry it safely"
    assert not any("retry" in h["goal"].lower() for h in other.relevant(query))

    code = whole_source_file(45_000)
    assert len(code.encode()) > 40_000
    created = hermes.request(
        "POST",
        "/experiences",
        {
            "goal": "Retry flaky AWS ECS deploy steps that fail with connection resets",
            "solution": "Wrap each deploy step in a retry with exponential backoff (5 attempts, "
            "0.5 s doubling) and make the steps idempotent so a retry is safe.",
            "context": "GitHub Actions deploying to ECS Fargate; resets at the load balancer.",
            "domain": "deployment",
            "tags": ["aws", "ecs", "retry"],
            "dead_ends": [{"what": "Raising the ALB idle timeout", "why": "resets continued"}],
            "gotchas": [{"warning": "Retrying a non-idempotent step registers two tasks"}],
            "artifacts": [
                {"language": "python", "code": code, "description": "retry.py, whole module"}
            ],
        },
    )
    identifier = created.get("short_id") or created["id"]
    assert hermes.request("POST", f"/experiences/{identifier}/publish") is not None
    hermes.request("POST", f"/experiences/{identifier}/publish")  # again: still a 2xx

    got = other.request("GET", f"/experiences/{identifier}")
    assert got["solution"].startswith("Wrap each deploy step in a retry")
    assert got["domain"] == "deployment"
    # the aliases are stored in our canonical shapes
    assert got["dead_ends"] == [
        {"description": "Raising the ALB idle timeout", "reason": "resets continued"}
    ]
    assert got["gotchas"] == [{"description": "Retrying a non-idempotent step registers two tasks"}]
    (artifact,) = got["artifacts"]
    assert artifact == {"language": "python", "code": code, "description": "retry.py, whole module"}

    hits = other.relevant(query)
    assert [h["short_id"] for h in hits][:1] == [created["short_id"]], hits[:3]
    hit = hits[0]
    assert hit["id"] == created["id"] and hit["domain"] == "deployment"
    assert {"goal", "tags", "quality_score", "success_rate", "success_count", "created_at"} <= set(
        hit
    )

    acquired = other.request("POST", f"/experiences/{identifier}/acquire", {"mode": "checklist"})
    assert acquired["content"]["do"][0] == got["solution"]

    # the same agent reports again later: the newer report replaces the earlier one
    other.request(
        "POST",
        f"/experiences/{identifier}/outcome",
        {"success": False, "context_notes": "first try, before making the step idempotent"},
    )
    reported = other.request(
        "POST",
        f"/experiences/{identifier}/outcome",
        {"success": True, "context_notes": "worked once the step was idempotent"},
    )
    assert reported["experience"]["outcomes"] == {"success": 1, "failure": 0, "success_rate": 1.0}

    voted = other.request("POST", f"/experiences/{identifier}/vote", {"vote_type": "up"})
    assert voted["votes"] == {"up": 1, "down": 0}

    # archive: the owner only, idempotent; then it is gone for everyone else
    assert other.status("POST", f"/experiences/{identifier}/archive") == 403
    hermes.request("POST", f"/experiences/{identifier}/archive")
    hermes.request("POST", f"/experiences/{identifier}/archive")
    assert other.status("GET", f"/experiences/{identifier}") == 404
    assert HostedClient(base).status("GET", f"/experiences/{identifier}") == 404
    assert hermes.request("GET", f"/experiences/{identifier}")["archived"] is True
    assert created["short_id"] not in [h["short_id"] for h in other.relevant(query)]
    listed = hermes.request("GET", "/experiences?limit=100")["experiences"]
    assert created["short_id"] not in [e["short_id"] for e in listed]
    listed = hermes.request("GET", "/experiences?limit=100&include_archived=true")["experiences"]
    assert created["short_id"] in [e["short_id"] for e in listed]

    hermes.request("POST", f"/experiences/{identifier}/unarchive")
    assert other.request("GET", f"/experiences/{identifier}")["archived"] is False
