"""Secrets never stored, end to end through the API: what agents send is scrubbed before it
reaches PostgreSQL, every create answer says what was taken out (``redactions``), and the
whole database is searched afterwards for any secret that slipped through."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import psycopg
import websockets

from plurum_backend.runtime import Plurum
from plurum_backend.store.database import Database
from plurum_backend.store.models import Base
from tests import serving
from tests.conftest import Register
from tests.test_redaction import (
    ANTHROPIC,
    AWS_ID,
    AWS_SECRET,
    GH_CLASSIC,
    GITLAB,
    JWT,
    OPENAI_PROJ,
    PEM_BODY,
    PLURUM,
    PRIVATE_KEY,
    SLACK_BOT,
    STRIPE_LIVE,
)

DB_PASSWORD = "Tr0ub4dor-and-3"
SECRETS = [
    ANTHROPIC, AWS_ID, AWS_SECRET, GH_CLASSIC, GITLAB, JWT, OPENAI_PROJ, PLURUM,
    SLACK_BOT, STRIPE_LIVE, DB_PASSWORD, PEM_BODY.splitlines()[0],
]  # fmt: skip
# Ordinary text that looks a little like secrets and must come back byte for byte.
CLEAN = {
    "description": "Pinned the base image by digest instead of by tag",
    "digest": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "commit": "3f786850e387550fdab836ed7e6dc881de23001b",
    "request_id": "123e4567-e89b-12d3-a456-426614174000",
    "code": "def connect(password: str) -> Conn:\n    return db.open(password=password)\n",
    "note": "max_tokens=4096, token_type=bearer; the password prompt timed out",
}


def db_text(database: Database) -> str:
    """Every row of every table, as text: what a leaked backup would show."""
    parts = []
    with psycopg.connect(database.url) as conn:
        for table in Base.metadata.sorted_tables:
            for (row,) in conn.execute(f"SELECT t::text FROM {table.name} t"):
                parts.append(row)
    return "\n".join(parts)


def assert_clean(value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    for secret in SECRETS:
        assert secret not in text, secret[:12]


async def test_everything_an_agent_writes_is_scrubbed(
    client: httpx.AsyncClient, register: Register, database: Database
) -> None:
    owner, helper = await register(), await register()

    r = await client.post(
        "/sessions",
        headers=owner.headers,
        json={"topic": f"Rotate the leaked key {GH_CLASSIC} in CI", "tools_used": ["github"]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["redactions"] == {"github_token": 1}
    sid = r.json()["session_id"]

    entries: list[tuple[str, dict[str, Any], dict[str, int]]] = [
        ("dead_end", {"what": f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}", "why": "leaked"},
         {"aws_secret_key": 1}),  # stored once, as 'description'
        ("artifact", {"code": PRIVATE_KEY, "filename": "deploy.pem"}, {"private_key": 1}),
        ("note", {"description": f"DATABASE_URL=postgres://app:{DB_PASSWORD}@db:5432/app"},
         {"url_password": 1}),
        ("gotcha", {"description": "the token header", "token": JWT}, {"jwt": 1}),
        ("update", CLEAN, {}),
    ]  # fmt: skip
    for entry_type, content, expected in entries:
        r = await client.post(
            f"/sessions/{sid}/entries",
            headers=owner.headers,
            json={"entry_type": entry_type, "content": content},
        )
        assert r.status_code == 201, r.text
        assert r.json()["redactions"] == expected, (entry_type, r.json())
        assert_clean(r.json())
    assert r.json()["content"] == CLEAN  # ordinary code, hashes and ids survive untouched

    r = await client.post(
        f"/sessions/{sid}/contribute",
        headers=helper.headers,
        json={"contribution_type": "warning", "content": {"text": f"revoke {SLACK_BOT} too"}},
    )
    assert r.status_code == 201, r.text
    assert r.json()["redactions"] == {"slack_token": 1}
    assert r.json()["content"] == {"text": "revoke [REDACTED:slack_token] too"}

    r = await client.post(f"/sessions/{sid}/close", headers=owner.headers)
    assert r.status_code == 200, r.text
    closed = r.json()["experience"]
    assert_clean(closed)
    assert "[REDACTED:private_key]" in json.dumps(closed["artifacts"])

    r = await client.post(
        "/experiences",
        headers=owner.headers,
        json={
            "goal": f"Call the API with {OPENAI_PROJ}",
            "context": f"ANTHROPIC_API_KEY={ANTHROPIC}\nSTRIPE_KEY={STRIPE_LIVE}",
            "dead_ends": [f"hard-coding {GITLAB}"],
            "breakthroughs": [{"description": "use the vault", "impact": f"key {PLURUM} gone"}],
            "gotchas": [{"description": f"AKIA ids like {AWS_ID} are secrets"}],
            "artifacts": [{"code": f"password = '{DB_PASSWORD}'", "language": "python"}],
            "tags": ["secrets"],
        },
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["redactions"] == {
        "anthropic_key": 1,
        "aws_access_key": 1,
        "gitlab_token": 1,
        "openai_key": 1,
        "password": 1,
        "plurum_key": 1,
        "stripe_key": 1,
    }
    assert_clean(made)

    other = await register()
    r = await client.post(
        f"/experiences/{made['short_id']}/outcome",
        headers=other.headers,
        json={
            "success": False,
            "context_notes": f"ran with GITHUB_TOKEN={GH_CLASSIC}",
            "error_message": f"401 for Authorization: Bearer {JWT}",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["redactions"] == {"github_token": 1, "jwt": 1}

    for path in (f"/sessions/{sid}", f"/experiences/{made['short_id']}", "/experiences"):
        r = await client.get(path, headers=owner.headers)
        assert r.status_code == 200
        assert_clean(r.json())
    r = await client.post("/experiences/search", json={"query": "Call the API with a key"})
    assert_clean(r.json())

    stored = db_text(database)
    assert_clean(stored)
    assert "[REDACTED:aws_secret_key]" in stored and "[REDACTED:jwt]" in stored


async def test_clean_experience_reports_no_redactions(
    client: httpx.AsyncClient, register: Register
) -> None:
    agent = await register()
    body = {
        "goal": "Cache pip wheels between CI runs",
        "context": "\n".join(f"{k}: {v}" for k, v in CLEAN.items()),
        "artifacts": [CLEAN],
    }
    r = await client.post("/experiences", headers=agent.headers, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["redactions"] == {}
    assert r.json()["context"] == body["context"] and r.json()["artifacts"] == [CLEAN]


async def test_websocket_reasoning_is_scrubbed(
    plurum: Plurum, register: Register, database: Database
) -> None:
    """The pulse `contribute` frame goes through the same service as REST."""
    owner, helper = await register(), await register()
    async with serving.in_process(plurum) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            r = await http.post("/sessions", headers=owner.headers, json={"topic": "Rotate keys"})
            sid = r.json()["session_id"]
        async with websockets.connect(base.replace("http", "ws") + "/pulse/ws") as ws:
            await ws.send(json.dumps({"type": "auth", "api_key": helper.key}))
            assert json.loads(await ws.recv())["type"] == "auth_ok"
            reasoning = f"try the staging key {STRIPE_LIVE} instead"
            frame = {"type": "contribute", "session_id": sid, "reasoning": reasoning}
            await ws.send(json.dumps(frame))
            async with asyncio.timeout(10):
                while (frame := json.loads(await ws.recv()))["type"] != "contributed":
                    pass
    made = frame["contribution"]
    assert made["content"] == {"reasoning": "try the staging key [REDACTED:stripe_key] instead"}
    assert made["redactions"] == {"stripe_key": 1}
    assert STRIPE_LIVE not in db_text(database)


async def test_agent_names_and_subscription_topics_are_scrubbed(
    client: httpx.AsyncClient, register: Register, database: Database
) -> None:
    r = await client.post(
        "/agents/register", json={"name": f"bot {GH_CLASSIC}", "username": "leakyname1"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "bot [REDACTED:github_token]"
    assert r.json()["redactions"] == {"github_token": 1}

    agent = await register()
    topics = [f"deploys with AWS_SECRET_ACCESS_KEY={AWS_SECRET}", "postgres upgrades"]
    r = await client.put("/pulse/subscriptions", headers=agent.headers, json={"topics": topics})
    assert r.status_code == 200, r.text
    assert r.json()["redactions"] == {"aws_secret_key": 1}
    assert "postgres upgrades" in r.json()["topics"]
    r = await client.get("/pulse/subscriptions", headers=agent.headers)
    assert_clean(r.json())
    assert r.json()["redactions"] == {}
    stored = db_text(database)
    assert GH_CLASSIC not in stored and AWS_SECRET not in stored
