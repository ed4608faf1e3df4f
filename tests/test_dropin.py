"""What the hosted service's clients rely on besides the main flow (issue 11): usernames,
JSON content types everywhere, solution and domain, archive, quarantine, PATCH /sessions."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg

from plurum_backend.services import usernames
from plurum_backend.store.database import Database
from tests.conftest import Agent, Register

JSON = {"Content-Type": "application/json"}

EXPERIENCE: dict[str, Any] = {
    "goal": "Stop Celery workers on Kubernetes from being OOMKilled",
    "solution": "Set worker_max_memory_per_child so the quokkafix prefork children recycle.",
    "domain": "infrastructure",
    "context": "Celery 5 on GKE, 512Mi limit.",
    "tags": ["celery", "kubernetes"],
    "breakthroughs": ["Recycle children before they grow"],
    "gotchas": [{"warning": "Autopilot rewrites limits"}],
    "dead_ends": [{"what": "More logging", "why": "SIGKILL leaves no trace"}],
}
QUERY = "celery worker pods on kubernetes keep getting OOMKilled"


async def create(client: httpx.AsyncClient, agent: Agent, **over: Any) -> dict[str, Any]:
    r = await client.post("/experiences", json={**EXPERIENCE, **over}, headers=agent.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def search_ids(client: httpx.AsyncClient, agent: Agent | None, query: str) -> list[str]:
    headers = agent.headers if agent else {}
    r = await client.post("/experiences/search", json={"query": query}, headers=headers)
    assert r.status_code == 200, r.text
    return [h["short_id"] for h in r.json()["results"]]


# -- usernames --------------------------------------------------------------------------------


def test_username_rules() -> None:
    for good in ("abc", "my-agent", "ci_bot_2", "hermes", "a" * 50, "a-_b"):
        assert usernames.is_valid(good), good
    for bad in ("ab", "a" * 51, "-abc", "abc_", "My-Agent", "my agent", "héllo", ""):
        assert not usernames.is_valid(bad), bad
        assert usernames.problem(bad)
    slack_like = "xoxb-1234567890-1234567890123-abcdefghijklmnop"  # valid shape, but a secret
    assert usernames.is_valid(slack_like) and usernames.problem(slack_like)
    assert usernames.base_of("My Agent") == "my-agent"
    assert usernames.base_of("Été  Bot!!") == "ete-bot"
    assert usernames.base_of("x") == "x-agent"
    assert usernames.base_of("") == "agent"
    for wanted in ("My Agent", "x", "a" * 80, "---", "hermes", "Ünïcode Ägent 9"):
        offered = usernames.candidates(wanted)
        assert offered and all(usernames.is_valid(n) for n in offered), (wanted, offered)


async def test_check_username(client: httpx.AsyncClient, register: Register) -> None:
    async def check(name: str) -> dict[str, Any]:
        r = await client.get("/agents/check-username", params={"username": name}, headers=JSON)
        assert r.status_code == 200, r.text
        return dict(r.json())

    free = await check("my-agent")
    assert free == {"username": "my-agent", "available": True, "reason": None, "suggestions": []}
    await register("my-agent", name="My Agent")
    taken = await check("my-agent")
    assert taken["available"] is False and "taken" in taken["reason"]
    assert taken["suggestions"] and "my-agent" not in taken["suggestions"]
    # every suggestion is a name register accepts
    for suggestion in taken["suggestions"]:
        r = await client.post(
            "/agents/register", json={"name": "Twin", "username": suggestion}, headers=JSON
        )
        assert r.status_code == 201, (suggestion, r.text)
    again = await check("my-agent")
    assert not set(again["suggestions"]) & set(taken["suggestions"])

    invalid = await check("My Agent")
    assert invalid["available"] is False and invalid["reason"]
    assert invalid["suggestions"][0].startswith("my-agent-")  # my-agent is taken now
    assert (await check("ab"))["suggestions"][0] == "ab-agent"
    r = await client.post("/agents/register", json={"name": "Bad", "username": "My Agent"})
    assert r.status_code == 422 and r.json()["detail"]
    secret = "xoxb-1234567890-1234567890123-abcdefghijklmnop"
    r = await client.post("/agents/register", json={"name": "Leak", "username": secret})
    assert r.status_code == 422 and "credential" in r.json()["detail"]
    assert (await check(secret))["available"] is False
    r = await client.post("/agents/register", json={"name": "Long", "username": "a" * 50})
    assert r.status_code == 201
    assert (await client.get("/agents/check-username")).status_code == 400
    r = await client.get("/agents/check-username", params={"username": "x" * 201})
    assert r.status_code == 400 and r.json()["detail"]


# -- Content-Type: application/json on every request ------------------------------------------


async def test_json_content_type_on_gets_and_empty_posts(
    client: httpx.AsyncClient, register: Register
) -> None:
    agent = await register()
    auth = {**JSON, **agent.headers}
    exp = await create(client, agent)
    ident = exp["short_id"]
    r = await client.post(
        "/sessions", headers=auth, json={"topic": "JSON everywhere", "domain": "http"}
    )
    sid = r.json()["session_id"]
    await client.post(
        f"/sessions/{sid}/entries",
        headers=auth,
        json={"entry_type": "note", "content": {"text": "a note"}},
    )
    for method, path in (
        ("GET", "/agents/me"),
        ("GET", "/agents/check-username?username=someone"),
        ("GET", f"/agents/{agent.id}/profile"),
        ("GET", "/experiences"),
        ("GET", f"/experiences/{ident}"),
        ("GET", f"/experiences/{ident}/similar"),
        ("GET", "/sessions"),
        ("GET", f"/sessions/{sid}"),
        ("GET", f"/sessions/{sid}/contributions"),
        ("GET", "/pulse/status"),
        ("GET", "/pulse/inbox"),
        ("GET", "/pulse/subscriptions"),
        ("POST", f"/experiences/{ident}/publish"),
        ("POST", f"/experiences/{ident}/archive"),
        ("POST", f"/experiences/{ident}/unarchive"),
        ("POST", f"/sessions/{sid}/close"),
    ):
        r = await client.request(method, path, headers=auth)  # no body at all
        assert r.status_code == 200, (method, path, r.status_code, r.text)
    r = await client.post("/agents/me/rotate-key", headers=auth)
    assert r.status_code == 200


# -- solution and domain ----------------------------------------------------------------------


async def test_solution_and_domain_are_first_class(
    client: httpx.AsyncClient, register: Register
) -> None:
    agent, reader = await register(), await register()
    exp = await create(client, agent)
    assert exp["solution"] == EXPERIENCE["solution"] and exp["domain"] == "infrastructure"
    assert exp["gotchas"] == [{"description": "Autopilot rewrites limits"}]
    assert exp["dead_ends"] == [
        {"description": "More logging", "reason": "SIGKILL leaves no trace"}
    ]
    # full text: a word only the solution has, and the domain (no relevance floor here: a
    # made-up word means nothing to the model, which is the floor's business)
    r = await client.post("/experiences/search", json={"query": "quokkafix", "min_relevance": 0})
    (hit,) = r.json()["results"]
    assert hit["short_id"] == exp["short_id"] and hit["match"]["fulltext_rank"] == 1
    assert hit["domain"] == "infrastructure" and hit["id"] == exp["id"]
    r = await client.post(
        "/experiences/search", json={"query": "infrastructure", "min_relevance": 0}
    )
    assert exp["short_id"] in [h["short_id"] for h in r.json()["results"]]
    # vectors: the same experience without its solution is further from a question about it
    # (and without its breakthrough: with the same fix it would be a duplicate of the first,
    # linked to it and shown on one card with it, docs/trust.md)
    bare = await create(client, agent, solution=None, domain=None, breakthroughs=[])
    r = await client.post(
        "/experiences/search",
        json={"query": "set worker_max_memory_per_child to recycle prefork children"},
    )
    # (`similarity` is the closest of the experience's vectors, here an item both share; the
    # whole-text vector, which holds the solution, shows in the score)
    score = {h["short_id"]: h["score"] for h in r.json()["results"]}
    assert score[exp["short_id"]] > score.get(bare["short_id"], 0.0)

    async def acquire(mode: str) -> dict[str, Any]:
        r = await client.post(
            f"/experiences/{exp['short_id']}/acquire", json={"mode": mode}, headers=reader.headers
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    checklist = await acquire("checklist")
    assert checklist["content"]["do"] == [
        EXPERIENCE["solution"],
        "Recycle children before they grow",
    ]
    summary = await acquire("summary")
    assert summary["content"].startswith(f"Goal: {EXPERIENCE['goal']}. Solution: Set worker_max")
    tree = await acquire("decision_tree")
    do_branches = [b for b in tree["content"]["branches"] if b["then"].startswith("do ")]
    assert do_branches[0]["then"] == f"do {EXPERIENCE['solution']}"
    full = await acquire("full")
    assert full["content"]["solution"] == EXPERIENCE["solution"]
    assert "## Solution" in full["text"] and "Domain: infrastructure" in full["text"]


async def test_a_sessions_domain_becomes_its_experiences(
    client: httpx.AsyncClient, register: Register
) -> None:
    agent = await register()
    r = await client.post(
        "/sessions", headers=agent.headers, json={"topic": "Tune nginx keepalive", "domain": "web"}
    )
    sid = r.json()["session_id"]
    await client.post(
        f"/sessions/{sid}/entries",
        headers=agent.headers,
        json={"entry_type": "breakthrough", "content": {"description": "keepalive_requests 1000"}},
    )
    r = await client.post(
        f"/sessions/{sid}/close",
        headers=agent.headers,
        json={"outcome": "success", "solution": "Raise keepalive_requests to 1000."},
    )
    exp = r.json()["experience"]
    assert exp["domain"] == "web" and exp["solution"] == "Raise keepalive_requests to 1000."


# -- archive ----------------------------------------------------------------------------------


async def test_archive_hides_an_experience_from_everyone_but_its_owner(
    client: httpx.AsyncClient, register: Register
) -> None:
    owner, other = await register(), await register()
    exp = await create(client, owner)
    # similar but no fix of its own: not a duplicate (which would share the first's card)
    sibling = await create(
        client,
        owner,
        goal="Celery workers on Kubernetes run out of memory",
        solution=None,
        breakthroughs=[],
    )
    path = f"/experiences/{exp['short_id']}"
    assert exp["short_id"] in await search_ids(client, other, QUERY)

    r = await client.post(path + "/archive", headers=other.headers)
    assert r.status_code == 403 and r.json()["detail"]
    for _ in range(2):  # idempotent
        r = await client.post(path + "/archive", headers=owner.headers)
        assert r.status_code == 200 and r.json()["archived"] is True
    archived_at = r.json()["archived_at"]
    assert archived_at

    for viewer in (None, other, owner):
        assert exp["short_id"] not in await search_ids(client, viewer, QUERY)
    for headers in ({}, other.headers):
        r = await client.get(path, headers=headers)
        assert r.status_code == 404 and r.json() == {"detail": "Experience not found"}
        for action, body in (("acquire", {"mode": "full"}), ("vote", {"vote_type": "up"})):
            r = await client.post(f"{path}/{action}", json=body, headers=headers)
            assert r.status_code in (401, 404)
    assert (await client.get(path, headers=owner.headers)).json()["archived"] is True
    similar = await client.get(f"/experiences/{sibling['short_id']}/similar", headers=owner.headers)
    assert exp["short_id"] not in [h["short_id"] for h in similar.json()["results"]]
    r = await client.post("/sessions", headers=owner.headers, json={"topic": QUERY})
    assert exp["short_id"] not in [h["short_id"] for h in r.json()["relevant_experiences"]]

    async def listed(headers: dict[str, str], query: str = "") -> list[str]:
        r = await client.get("/experiences" + query, headers=headers)
        assert r.status_code == 200, r.text
        return [e["short_id"] for e in r.json()["experiences"]]

    assert exp["short_id"] not in await listed(owner.headers)
    assert exp["short_id"] in await listed(owner.headers, "?include_archived=true")
    assert exp["short_id"] not in await listed(other.headers, "?include_archived=true")
    assert exp["short_id"] not in await listed({}, "?include_archived=true")
    assert (await client.get("/experiences?include_archived=maybe")).status_code == 400

    r = await client.post(path + "/unarchive", headers=other.headers)
    assert r.status_code == 404  # another agent cannot even see it while archived
    for _ in range(2):
        r = await client.post(path + "/unarchive", headers=owner.headers)
        assert r.status_code == 200 and r.json()["archived"] is False
    assert exp["short_id"] in await search_ids(client, other, QUERY)
    assert (await client.get(path)).status_code == 200


# -- quarantine -------------------------------------------------------------------------------


async def report(client: httpx.AsyncClient, agent: Agent, short_id: str, success: bool) -> None:
    r = await client.post(
        f"/experiences/{short_id}/outcome", json={"success": success}, headers=agent.headers
    )
    assert r.status_code == 201, r.text


async def test_quarantine_until_a_success_arrives(
    client: httpx.AsyncClient, register: Register
) -> None:
    owner = await register()
    exp = await create(client, owner)
    # similar but no fix of its own: not a duplicate (which would share the first's card)
    sibling = await create(
        client,
        owner,
        goal="Celery workers on Kubernetes run out of memory",
        solution=None,
        breakthroughs=[],
    )
    sid = exp["short_id"]
    a, b, c, d = [await register() for _ in range(4)]
    # two agents failing twice each are two reports, not four; the author's never count
    for agent in (a, a, b, b, owner, owner):
        await report(client, agent, sid, False)
    assert sid in await search_ids(client, d, QUERY)
    await report(client, c, sid, False)

    assert sid not in await search_ids(client, d, QUERY)
    assert sid not in await search_ids(client, owner, QUERY)
    similar = await client.get(f"/experiences/{sibling['short_id']}/similar")
    assert sid not in [h["short_id"] for h in similar.json()["results"]]
    r = await client.post("/sessions", headers=d.headers, json={"topic": QUERY})
    assert sid not in [h["short_id"] for h in r.json()["relevant_experiences"]]
    detail = (await client.get(f"/experiences/{sid}")).json()  # still readable, marked
    assert detail["quarantined"] is True and detail["outcomes"]["failure"] == 3
    listed = (await client.get("/experiences")).json()["experiences"]
    assert [e["quarantined"] for e in listed if e["short_id"] == sid] == [True]

    await report(client, d, sid, True)
    assert (await client.get(f"/experiences/{sid}")).json()["quarantined"] is False
    assert sid in await search_ids(client, a, QUERY)
    # a failing agent that changes its mind counts as the success it now reports
    await report(client, d, sid, False)
    assert sid not in await search_ids(client, a, QUERY)
    await report(client, a, sid, True)
    assert sid in await search_ids(client, a, QUERY)


# -- PATCH /sessions/{id} ---------------------------------------------------------------------


async def test_patch_an_open_session(client: httpx.AsyncClient, register: Register) -> None:
    owner, other = await register(), await register()
    r = await client.post(
        "/sessions", headers=owner.headers, json={"topic": "Cache Docker layers in CI"}
    )
    sid = r.json()["session_id"]
    path = f"/sessions/{sid}"
    r = await client.patch(
        path,
        headers={**JSON, **owner.headers},
        json={"domain": " ci ", "tools_used": ["Docker", "buildx", "docker"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["domain"] == "ci" and r.json()["tools_used"] == ["docker", "buildx"]
    r = await client.patch(path, headers=owner.headers, json={"visibility": "private"})
    assert r.json()["visibility"] == "private" and r.json()["domain"] == "ci"
    assert (await client.get(path, headers=other.headers)).status_code == 404
    r = await client.patch(path, headers=other.headers, json={"domain": "x"})
    assert r.status_code == 404
    r = await client.patch(path, headers=owner.headers, json={"visibility": "public"})
    r = await client.patch(path, headers=other.headers, json={"domain": "x"})
    assert r.status_code == 403 and r.json()["detail"]
    for bad in ({}, {"topic": "no"}, {"visibility": "team"}, {"tools_used": ["x"] * 21}):
        r = await client.patch(path, headers=owner.headers, json=bad)
        assert r.status_code == 422 and r.json()["detail"], bad
    assert (await client.patch(path, headers=owner.headers)).status_code == 400
    assert (await client.patch(path, json={"domain": "x"})).status_code == 401

    await client.post(
        path + "/entries",
        headers=owner.headers,
        json={"entry_type": "breakthrough", "content": {"description": "cache-to type=gha"}},
    )
    r = await client.post(path + "/close", headers=owner.headers)
    exp = r.json()["experience"]
    assert exp["domain"] == "ci" and exp["tags"] == ["ci", "docker", "buildx"]
    r = await client.patch(path, headers=owner.headers, json={"domain": "late"})
    assert r.status_code == 409 and r.json()["detail"]


# -- usage log --------------------------------------------------------------------------------


async def test_publish_and_archive_are_logged_once_each(
    client: httpx.AsyncClient, register: Register, database: Database
) -> None:
    owner = await register()
    r = await client.post("/sessions", headers=owner.headers, json={"topic": "Log me"})
    sid = r.json()["session_id"]
    await client.post(
        f"/sessions/{sid}/entries",
        headers=owner.headers,
        json={"entry_type": "note", "content": {"description": "n"}},
    )
    r = await client.post(f"/sessions/{sid}/close", headers=owner.headers, json={"publish": False})
    path = f"/experiences/{r.json()['experience']['short_id']}"
    for action in ("publish", "publish", "archive", "archive", "unarchive", "unarchive"):
        assert (await client.post(f"{path}/{action}", headers=owner.headers)).status_code == 200
    with psycopg.connect(database.url) as conn:
        kinds = conn.execute("SELECT kind, agent_id FROM usage_events ORDER BY id").fetchall()
    # a repeated call changes nothing, so it logs nothing
    assert [(k, str(a)) for k, a in kinds] == [
        ("publish", owner.id),
        ("archive", owner.id),
        ("unarchive", owner.id),
    ]
