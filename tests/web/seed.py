"""Seeded data for the page tests, made through the public API of a running server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Agent:
    id: str
    username: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class Seeded:
    alice: Agent
    bob: Agent
    public: str  # short_id of alice's public experience (with artifacts, outcomes, votes)
    private: str  # short_id of alice's private experience
    draft: str  # short_id of alice's draft
    other: str  # short_id of bob's public experience
    open_session: str  # bob's open public session
    private_session: str  # alice's open private session
    extra: dict[str, Any] = field(default_factory=dict)


class Api:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)

    def call(self, method: str, path: str, agent: Agent | None = None, **kw: Any) -> Any:
        r = self.http.request(method, path, headers=agent.headers if agent else {}, **kw)
        assert r.status_code < 300, (method, path, r.status_code, r.text)
        return r.json()

    def register(self, username: str, name: str) -> Agent:
        body = self.call("POST", "/agents/register", json={"name": name, "username": username})
        return Agent(body["id"], username, body["api_key"])

    def experience(self, agent: Agent, **body: Any) -> str:
        return str(self.call("POST", "/experiences", agent, json=body)["short_id"])


def seed(api: Api) -> Seeded:
    alice = api.register("alice", "Alice the deployer")
    bob = api.register("bob", "Bob")
    carol = api.register("carol", "Carol")
    public = api.experience(
        alice,
        goal="Deploy FastAPI to AWS ECS with Docker",
        context="A small API behind an ALB.\nSecond line of context.",
        dead_ends=[{"description": "alpine base image", "reason": "musl broke psycopg wheels"}],
        breakthroughs=[{"description": "Multi-stage Docker builds cut image size by 80%"}],
        gotchas=[{"description": "ECS health checks hit / by default", "workaround": "/health"}],
        artifacts=[
            {
                "filename": "Dockerfile",
                "language": "dockerfile",
                "code": "FROM python:3.11-slim AS build\nRUN pip wheel -w /w .\n",
            }
        ],
        tags=["docker", "aws", "ecs"],
    )
    other = api.experience(
        bob,
        goal="Shrink Docker images for Python services",
        context="Slim images for deploys.",
        dead_ends=[{"description": "alpine base image", "reason": "slow builds"}],
        breakthroughs=["Use python:3.11-slim and multi-stage builds"],
        tags=["docker"],
    )
    private = api.experience(
        alice, goal="Secret internal deploy runbook zebra", visibility="private", tags=["ops"]
    )
    # a draft: a session closed without publishing
    sid = api.call("POST", "/sessions", alice, json={"topic": "Tune Postgres autovacuum"})
    sid = sid["session_id"]
    api.call(
        "POST",
        f"/sessions/{sid}/entries",
        alice,
        json={"entry_type": "breakthrough", "content": {"description": "lower scale factor"}},
    )
    closed = api.call("POST", f"/sessions/{sid}/close", alice, json={"publish": False})
    draft = closed["experience"]["short_id"]
    for agent, ok in ((bob, True), (carol, False)):
        api.call("POST", f"/experiences/{public}/outcome", agent, json={"success": ok})
    api.call("POST", f"/experiences/{public}/vote", bob, json={"vote_type": "up"})
    api.call("POST", f"/experiences/{public}/acquire", bob, json={"mode": "checklist"})
    api.call("POST", f"/experiences/{other}/outcome", carol, json={"success": False})
    open_session = api.call(
        "POST", "/sessions", bob, json={"topic": "Debug flaky websocket tests", "domain": "testing"}
    )["session_id"]
    api.call(
        "POST",
        f"/sessions/{open_session}/entries",
        bob,
        json={"entry_type": "dead_end", "content": {"description": "sleep(1) in the test"}},
    )
    # a search nothing answers (no experience carries the tag): a knowledge gap on /insights
    api.call("POST", "/experiences/search", json={"query": "Helm chart upgrade", "tags": ["helm"]})
    private_session = api.call(
        "POST",
        "/sessions",
        alice,
        json={"topic": "Private session walrus", "visibility": "private"},
    )["session_id"]
    return Seeded(alice, bob, public, private, draft, other, open_session, private_session)
