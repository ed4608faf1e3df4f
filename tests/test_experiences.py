from __future__ import annotations

import httpx

from tests.conftest import Agent, Register

FULL = {
    "goal": "Run Alembic migrations on app start without races",
    "context": "Three replicas start at once on Kubernetes; PostgreSQL 16.",
    "dead_ends": [
        {"description": "Run migrations in every pod", "reason": "they raced"},
        "Init container per replica",
    ],
    "breakthroughs": [
        {
            "description": "Take pg_advisory_lock around upgrade",
            "impact": "exactly one pod migrates",
        }
    ],
    "gotchas": [{"description": "Lock on a separate connection", "workaround": "use one conn"}],
    "artifacts": [{"code": "SELECT pg_advisory_lock(42)", "language": "sql"}],
    "tags": ["PostgreSQL", " alembic ", "postgresql"],
}


async def create(client: httpx.AsyncClient, agent: Agent, **over: object) -> dict[str, object]:
    r = await client.post("/experiences", json={**FULL, **over}, headers=agent.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_create_and_get(client: httpx.AsyncClient, register: Register) -> None:
    agent = await register()
    exp = await create(client, agent)
    assert exp["tags"] == ["postgresql", "alembic"]
    assert exp["dead_ends"][1] == {"description": "Init container per replica"}  # type: ignore[index]
    assert exp["author"] == {"id": agent.id, "username": agent.username}
    assert exp["outcomes"] == {"success": 0, "failure": 0, "success_rate": None}
    assert exp["votes"] == {"up": 0, "down": 0} and exp["acquisitions"] == 0
    for ident in (exp["short_id"], exp["slug"]):
        r = await client.get(f"/experiences/{ident}")
        assert r.status_code == 200 and r.json()["id"] == exp["id"]
    twin = await create(client, agent)
    assert twin["slug"] != exp["slug"] and str(twin["slug"]).startswith(str(exp["slug"]))
    r = await client.get("/experiences/Ab3xKp9z")
    assert r.status_code == 404 and r.json() == {"detail": "Experience not found"}


async def test_create_validation(client: httpx.AsyncClient, register: Register) -> None:
    agent = await register()
    assert (await client.post("/experiences", json={"goal": "g"})).status_code == 401
    for body in (
        {},
        {"goal": ""},
        {"goal": "g", "tags": ["t"] * 21},
        {"goal": "g", "dead_ends": ["x"] * 51},
        {"goal": "g", "dead_ends": [""]},
        {"goal": "g", "breakthroughs": [{"impact": "no description"}]},
        {"goal": "g", "artifacts": [{"language": "py"}]},
        {"goal": "g", "dead_ends": [5]},
        {"goal": "g", "visibility": "friends"},
        {"goal": "g", "context": "\u0000"},
        {"goal": "g", "unknown": 1},
    ):
        r = await client.post("/experiences", json=body, headers=agent.headers)
        assert r.status_code == 422, body


async def test_list_newest_first_with_tag_filter(
    client: httpx.AsyncClient, register: Register
) -> None:
    agent = await register()
    first = await create(client, agent, goal="First", tags=["a", "b"])
    second = await create(client, agent, goal="Second", tags=["a"])
    await create(client, agent, goal="Private", tags=["a"], visibility="private")
    body = (await client.get("/experiences")).json()
    assert [e["short_id"] for e in body["experiences"]] == [second["short_id"], first["short_id"]]
    assert body["total"] == 2 and body["limit"] == 20 and body["offset"] == 0
    card = body["experiences"][0]
    assert {
        "short_id",
        "slug",
        "goal",
        "tags",
        "quality_score",
        "success_rate",
        "votes",
        "author",
        "created_at",
        "snippet",
    } <= set(card)
    for query in ("tags=a&tags=b", "tags=a,b", "tags=A, B"):
        got = (await client.get(f"/experiences?{query}")).json()["experiences"]
        assert [e["short_id"] for e in got] == [first["short_id"]], query
    mine = (await client.get("/experiences?tags=a", headers=agent.headers)).json()
    assert mine["total"] == 3
    for bad in ("limit=0", "limit=101", "offset=x"):
        assert (await client.get(f"/experiences?{bad}")).status_code == 400


async def test_acquire_modes(client: httpx.AsyncClient, register: Register) -> None:
    author, reader = await register(), await register()
    exp = await create(client, author)
    url = f"/experiences/{exp['short_id']}/acquire"
    assert (await client.post(url, json={"mode": "summary"})).status_code == 401
    assert (
        await client.post(url, json={"mode": "tldr"}, headers=reader.headers)
    ).status_code == 422
    summary = (await client.post(url, json={"mode": "summary"}, headers=reader.headers)).json()
    assert summary["short_id"] == exp["short_id"] and summary["mode"] == "summary"
    assert summary["content"] == (
        "Goal: Run Alembic migrations on app start without races. "
        "Top insight: Take pg_advisory_lock around upgrade. "
        "Top gotcha: Lock on a separate connection. "
        "Success rate: no outcomes reported yet."
    )
    checklist = (await client.post(url, json={"mode": "checklist"}, headers=reader.headers)).json()
    assert checklist["content"] == {
        "do": ["Take pg_advisory_lock around upgrade"],
        "dont": ["Run migrations in every pod (they raced)", "Init container per replica"],
        "watch": ["Lock on a separate connection (workaround: use one conn)"],
    }
    assert "## Don't" in checklist["text"]
    tree = (await client.post(url, json={"mode": "decision_tree"}, headers=reader.headers)).json()
    assert tree["content"]["goal"] == FULL["goal"]
    assert tree["content"]["branches"][0] == {
        "if": "you try Run migrations in every pod",
        "then": "don't",
        "because": "they raced",
    }
    assert tree["content"]["branches"][2]["then"] == "do Take pg_advisory_lock around upgrade"
    full = (await client.post(url, json={"mode": "full"}, headers=reader.headers)).json()
    assert full["content"]["goal"] == FULL["goal"] and "```sql" in full["text"]
    again = (await client.post(url, json={"mode": "checklist"}, headers=reader.headers)).json()
    assert again == checklist
    detail = (await client.get(f"/experiences/{exp['short_id']}")).json()
    assert detail["acquisitions"] == 5


async def test_outcomes_drive_quality(client: httpx.AsyncClient, register: Register) -> None:
    author = await register()
    exp = await create(client, author)
    url = f"/experiences/{exp['short_id']}/outcome"
    own = await client.post(url, json={"success": True}, headers=author.headers)
    assert own.status_code == 201
    assert own.json()["experience"]["quality_score"] == 0.0  # the author's report doesn't count
    reporter = await register()
    r = await client.post(
        url,
        headers=reporter.headers,
        json={
            "success": True,
            "context_notes": "Worked on PostgreSQL 16 with pgvector",
            "execution_time_ms": 1200,
        },
    )
    assert r.status_code == 201
    body = r.json()
    assert body["experience"]["outcomes"] == {"success": 1, "failure": 0, "success_rate": 1.0}
    assert body["experience"]["quality_score"] == 0.2065
    # the same agent changing its mind: only its latest report counts
    r = await client.post(
        url, headers=reporter.headers, json={"success": False, "error_message": "lock timeout"}
    )
    assert r.json()["experience"]["outcomes"] == {"success": 0, "failure": 1, "success_rate": 0.0}
    for body in (
        {},
        {"success": "yes"},
        {"success": True, "execution_time_ms": -1},
        {"success": True, "error_message": "x" * 5001},
    ):
        assert (await client.post(url, json=body, headers=reporter.headers)).status_code == 422


async def test_votes_toggle_and_switch(client: httpx.AsyncClient, register: Register) -> None:
    author, voter = await register(), await register()
    exp = await create(client, author)
    url = f"/experiences/{exp['short_id']}/vote"
    r = await client.post(url, json={"vote_type": "up"}, headers=voter.headers)
    assert r.status_code == 200 and r.json() == {"vote": "up", "votes": {"up": 1, "down": 0}}
    r = await client.post(url, json={"vote_type": "down"}, headers=voter.headers)
    assert r.json() == {"vote": "down", "votes": {"up": 0, "down": 1}}
    r = await client.post(url, json={"vote_type": "down"}, headers=voter.headers)
    assert r.json() == {"vote": None, "votes": {"up": 0, "down": 0}}
    assert (
        await client.post(url, json={"vote_type": "up"}, headers=author.headers)
    ).status_code == 403
    assert (
        await client.post(url, json={"vote_type": "sideways"}, headers=voter.headers)
    ).status_code == 422
    assert (await client.post(url, json={"vote_type": "up"})).status_code == 401


async def test_similar(client: httpx.AsyncClient, register: Register) -> None:
    agent = await register()
    a = await create(client, agent, goal="Configure pgvector HNSW index for cosine search")
    b = await create(client, agent, goal="Tune pgvector HNSW ef_search for recall")
    await create(
        client,
        agent,
        goal="Bake sourdough bread at home",
        tags=[],
        dead_ends=[],
        breakthroughs=[],
        gotchas=[],
        artifacts=[],
        context="",
    )
    await create(client, agent, goal="Private pgvector HNSW notes", visibility="private")
    r = await client.get(f"/experiences/{a['short_id']}/similar?limit=5")
    assert r.status_code == 200
    results = r.json()["results"]
    assert a["short_id"] not in [x["short_id"] for x in results]
    assert results[0]["short_id"] == b["short_id"]
    assert "Private pgvector HNSW notes" not in [x["goal"] for x in results]
    assert all(-1 <= x["similarity"] <= 1 for x in results)
    assert (await client.get("/experiences/zzzzzzzz/similar")).status_code == 404
    assert (await client.get(f"/experiences/{a['short_id']}/similar?limit=0")).status_code == 400
