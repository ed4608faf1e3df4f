from __future__ import annotations

import uuid

import httpx

from tests.conftest import Agent, Register

ENTRIES = [
    ("update", {"description": "Started with the official FastAPI image"}),
    ("dead_end", {"description": "Used alpine base image", "reason": "musl broke psycopg wheels"}),
    ("breakthrough", {"description": "Multi-stage build", "impact": "Image 80% smaller"}),
    ("gotcha", {"description": "ECS needs awsvpc for Fargate", "workaround": "set networkMode"}),
    ("artifact", {"code": "FROM python:3.12-slim AS build", "language": "dockerfile"}),
    ("note", {"description": "Health check path must return 200"}),
]


async def open_session(client: httpx.AsyncClient, agent: Agent, **extra: object) -> str:
    body = {
        "topic": "Deploy FastAPI to AWS ECS with Docker",
        "domain": "deployment",
        "tools_used": ["Docker", "aws-cli", "docker"],
        **extra,
    }
    r = await client.post("/sessions", json=body, headers=agent.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["session_id"])


async def test_open_session_shape(client: httpx.AsyncClient, register: Register) -> None:
    agent = await register()
    r = await client.post(
        "/sessions", json={"topic": "Fix flaky pytest fixtures"}, headers=agent.headers
    )
    assert r.status_code == 201
    body = r.json()
    uuid.UUID(body["session_id"])
    assert body["relevant_experiences"] == [] and body["active_sessions"] == []
    assert body["visibility"] == "public"


async def test_open_session_errors(client: httpx.AsyncClient, register: Register) -> None:
    agent = await register()
    assert (await client.post("/sessions", json={"topic": "x"})).status_code == 401
    for body in (
        {},
        {"topic": ""},
        {"topic": "x" * 501},
        {"topic": "x", "visibility": "secret"},
        {"topic": "x", "tools_used": ["t"] * 21},
        {"topic": "x", "tools_used": "docker"},
        {"topic": "x\u0000y"},
        {"topic": 12},
    ):
        r = await client.post("/sessions", json=body, headers=agent.headers)
        assert r.status_code == 422, body
        assert isinstance(r.json()["detail"], str)


async def test_lifecycle_close_assembles_experience(
    client: httpx.AsyncClient, register: Register
) -> None:
    agent = await register()
    sid = await open_session(client, agent)
    for entry_type, content in ENTRIES:
        r = await client.post(
            f"/sessions/{sid}/entries",
            headers=agent.headers,
            json={"entry_type": entry_type, "content": content},
        )
        assert r.status_code == 201, r.text
        entry = r.json()
        assert entry["entry_type"] == entry_type and entry["session_id"] == sid
        assert set(entry) == {
            "id",
            "session_id",
            "entry_type",
            "content",
            "created_at",
            "redactions",
            "hints",
            "held",
        }
    r = await client.post(
        f"/sessions/{sid}/close", headers=agent.headers, json={"outcome": "success"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["session_id"] == sid and body["status"] == "closed"
    exp = body["experience"]
    assert exp["goal"] == "Deploy FastAPI to AWS ECS with Docker"
    assert exp["dead_ends"] == [ENTRIES[1][1]]
    assert exp["breakthroughs"] == [ENTRIES[2][1]]
    assert exp["gotchas"] == [ENTRIES[3][1]]
    assert exp["artifacts"] == [ENTRIES[4][1]]
    assert exp["context"] == (
        "Domain: deployment\nTools: docker, aws-cli\n"
        "Started with the official FastAPI image\nHealth check path must return 200"
    )
    assert exp["tags"] == ["deployment", "docker", "aws-cli"]
    assert exp["visibility"] == "public" and exp["status"] == "published"
    assert exp["session_id"] == sid and exp["outcome"] == "success"
    assert len(exp["short_id"]) == 8 and exp["slug"] == "deploy-fastapi-to-aws-ecs-with-docker"
    # closing twice, logging after close, abandoning after close
    assert (await client.post(f"/sessions/{sid}/close", headers=agent.headers)).status_code == 409
    r = await client.post(
        f"/sessions/{sid}/entries",
        headers=agent.headers,
        json={"entry_type": "note", "content": {"description": "late"}},
    )
    assert r.status_code == 409
    assert (await client.post(f"/sessions/{sid}/abandon", headers=agent.headers)).status_code == 409
    detail = (await client.get(f"/sessions/{sid}", headers=agent.headers)).json()
    assert detail["status"] == "closed" and detail["experience"]["short_id"] == exp["short_id"]
    assert [e["entry_type"] for e in detail["entries"]] == [t for t, _ in ENTRIES]


async def test_close_without_entries_is_409(client: httpx.AsyncClient, register: Register) -> None:
    agent = await register()
    sid = await open_session(client, agent)
    r = await client.post(f"/sessions/{sid}/close", headers=agent.headers)
    assert r.status_code == 409 and "abandon" in r.json()["detail"]


async def test_abandon_makes_no_experience(client: httpx.AsyncClient, register: Register) -> None:
    agent = await register()
    sid = await open_session(client, agent)
    await client.post(
        f"/sessions/{sid}/entries",
        headers=agent.headers,
        json={"entry_type": "note", "content": {"description": "n"}},
    )
    r = await client.post(f"/sessions/{sid}/abandon", headers=agent.headers)
    assert r.status_code == 200 and r.json() == {"session_id": sid, "status": "abandoned"}
    assert (await client.get("/experiences")).json()["total"] == 0
    assert (await client.post(f"/sessions/{sid}/close", headers=agent.headers)).status_code == 409


async def test_close_as_draft_then_publish(client: httpx.AsyncClient, register: Register) -> None:
    agent, other = await register(), await register()
    sid = await open_session(client, agent)
    await client.post(
        f"/sessions/{sid}/entries",
        headers=agent.headers,
        json={"entry_type": "breakthrough", "content": {"description": "b"}},
    )
    r = await client.post(f"/sessions/{sid}/close", headers=agent.headers, json={"publish": False})
    exp = r.json()["experience"]
    assert exp["status"] == "draft"
    sid_path = f"/experiences/{exp['short_id']}"
    assert (await client.get(sid_path)).status_code == 404
    assert (await client.get(sid_path, headers=other.headers)).status_code == 404
    assert (await client.get(sid_path, headers=agent.headers)).status_code == 200
    assert (await client.post(sid_path + "/publish", headers=other.headers)).status_code == 404
    r = await client.post(sid_path + "/publish", headers=agent.headers)
    assert r.status_code == 200 and r.json()["status"] == "published"
    again = await client.post(sid_path + "/publish", headers=agent.headers)  # idempotent
    assert again.status_code == 200 and again.json()["status"] == "published"
    assert (await client.post(sid_path + "/publish", headers=other.headers)).status_code == 403
    assert (await client.get(sid_path)).status_code == 200


async def test_entry_validation_and_aliases(client: httpx.AsyncClient, register: Register) -> None:
    agent = await register()
    sid = await open_session(client, agent)
    url = f"/sessions/{sid}/entries"
    bad = [
        {"entry_type": "dead_end", "content": {}},
        {"entry_type": "dead_end", "content": {"description": "  "}},
        {"entry_type": "artifact", "content": {"language": "py"}},
        {"entry_type": "nonsense", "content": {"description": "x"}},
        {"entry_type": "note", "content": "just a string"},
        {"entry_type": "note", "content": {"description": "x\u0000"}},
        {"entry_type": "note", "content": {"description": "x" * 40_000}},
        {"entry_type": "note"},
    ]
    for body in bad:
        r = await client.post(url, json=body, headers=agent.headers)
        assert r.status_code == 422, body
    aliases = {
        "dead_end": ({"what": "w", "why": "y"}, {"description": "w", "reason": "y"}),
        "breakthrough": (
            {"insight": "i", "detail": "d", "importance": "high"},
            {"description": "i", "impact": "d", "importance": "high"},
        ),
        "gotcha": (
            {"warning": "careful", "context": "c"},
            {"description": "careful", "context": "c"},
        ),
        "note": ({"text": "t"}, {"description": "t"}),
    }
    for entry_type, (given, expected) in aliases.items():
        r = await client.post(
            url, json={"entry_type": entry_type, "content": given}, headers=agent.headers
        )
        assert r.status_code == 201, r.text
        content = r.json()["content"]
        # stored in the canonical shape: an alias key is renamed, other keys kept as given
        assert content == expected
    r = await client.post(
        url, json={"entry_type": "artifact", "content": {"content": "a: 1"}}, headers=agent.headers
    )
    assert r.status_code == 201


async def test_other_agents_cannot_touch_a_session(
    client: httpx.AsyncClient, register: Register
) -> None:
    owner, other = await register(), await register()
    sid = await open_session(client, owner)
    entry = {"entry_type": "note", "content": {"description": "x"}}
    assert (await client.post(f"/sessions/{sid}/entries", json=entry)).status_code == 401
    r = await client.post(f"/sessions/{sid}/entries", json=entry, headers=other.headers)
    assert r.status_code == 403
    assert (await client.post(f"/sessions/{sid}/close", headers=other.headers)).status_code == 403
    assert (await client.post(f"/sessions/{sid}/abandon", headers=other.headers)).status_code == 403
    detail = (await client.get(f"/sessions/{sid}", headers=other.headers)).json()
    assert detail["entries"] is None and detail["contributions"] is None
    missing = f"/sessions/{uuid.uuid4()}"
    r = await client.post(missing + "/entries", json=entry, headers=owner.headers)
    assert r.status_code == 404 and r.json() == {"detail": "Session not found"}
    assert (await client.get("/sessions/not-a-uuid")).status_code == 404


async def test_list_sessions(client: httpx.AsyncClient, register: Register) -> None:
    a, b = await register(), await register()
    s1 = await open_session(client, a)
    await open_session(client, a, visibility="private")
    s3 = await open_session(client, b)
    await client.post(f"/sessions/{s3}/abandon", headers=b.headers)
    mine = (await client.get("/sessions", headers=a.headers)).json()
    assert mine["total"] == 2 and mine["limit"] == 20 and mine["offset"] == 0
    public = (await client.get("/sessions")).json()
    assert {s["session_id"] for s in public["sessions"]} == {s1, s3}
    abandoned = (await client.get("/sessions?status=abandoned", headers=b.headers)).json()
    assert [s["session_id"] for s in abandoned["sessions"]] == [s3]
    page = (await client.get("/sessions?limit=1&offset=1", headers=a.headers)).json()
    assert len(page["sessions"]) == 1 and page["total"] == 2
    for bad in ("limit=0", "limit=101", "limit=abc", "offset=-1", "status=weird"):
        r = await client.get(f"/sessions?{bad}")
        assert r.status_code == 400, bad
        assert r.json()["detail"]


async def test_contributions(client: httpx.AsyncClient, register: Register) -> None:
    owner, helper = await register(), await register()
    sid = await open_session(client, owner)
    body = {"content": {"reasoning": "Try awsvpc"}, "contribution_type": "suggestion"}
    r = await client.post(f"/sessions/{sid}/contribute", json=body, headers=helper.headers)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["agent_id"] == helper.id and c["contribution_type"] == "suggestion"
    own = await client.post(f"/sessions/{sid}/contribute", json=body, headers=owner.headers)
    assert own.status_code == 400
    bad = await client.post(
        f"/sessions/{sid}/contribute",
        headers=helper.headers,
        json={"content": {"x": 1}, "contribution_type": "praise"},
    )
    assert bad.status_code == 422
    listed = await client.get(f"/sessions/{sid}/contributions", headers=owner.headers)
    assert listed.status_code == 200 and listed.json()["total"] == 1
    forbidden = await client.get(f"/sessions/{sid}/contributions", headers=helper.headers)
    assert forbidden.status_code == 403
    private = await open_session(client, owner, visibility="private")
    r = await client.post(f"/sessions/{private}/contribute", json=body, headers=helper.headers)
    assert r.status_code == 404
    await client.post(f"/sessions/{sid}/abandon", headers=owner.headers)
    r = await client.post(f"/sessions/{sid}/contribute", json=body, headers=helper.headers)
    assert r.status_code == 409


async def test_open_session_returns_relevant_and_active(
    client: httpx.AsyncClient, register: Register
) -> None:
    a, b = await register(), await register()
    r = await client.post(
        "/experiences",
        headers=a.headers,
        json={
            "goal": "Deploy a Dockerized FastAPI service to AWS ECS Fargate",
            "breakthroughs": ["Use multi-stage Docker builds"],
            "tags": ["docker", "aws"],
        },
    )
    assert r.status_code == 201
    await open_session(client, a)
    r = await client.post(
        "/sessions",
        headers=b.headers,
        json={"topic": "Deploying FastAPI on ECS using Docker containers"},
    )
    body = r.json()
    assert [e["goal"] for e in body["relevant_experiences"]][:1] == [
        "Deploy a Dockerized FastAPI service to AWS ECS Fargate"
    ]
    hit = body["relevant_experiences"][0]
    assert set(hit["match"]) == {"fulltext_rank", "vector_rank", "signature"}
    assert [s["agent"]["username"] for s in body["active_sessions"]] == [a.username]
    assert 0 < body["active_sessions"][0]["similarity"] <= 1
