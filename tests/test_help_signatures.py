"""Error signatures on experiences and GET /errors/{signature}; environments as stored."""

from __future__ import annotations

import httpx
import psycopg

from plurum_backend.runtime import Plurum
from tests.conftest import Register

TRACE = """Traceback (most recent call last):
  File "{home}/app/db.py", line 12, in connect
    conn = psycopg.connect(DSN)
  File "{home}/.venv/lib/python3.11/site-packages/psycopg/connection.py", line {n}, in connect
    raise last_ex.with_traceback(None)
psycopg.OperationalError: connection failed: connection to server at "{ip}", port 5432 failed: \
Connection refused"""


async def test_experiences_record_their_errors_and_errors_list_their_fixes(
    client: httpx.AsyncClient, register: Register
) -> None:
    alice, bob = await register(), await register()
    first = await client.post(
        "/experiences",
        headers=alice.headers,
        json={
            "goal": "Connect the worker to PostgreSQL in docker compose",
            "solution": "Use the service name as host, not localhost",
            "dead_ends": [
                {"what": TRACE.format(home="/home/a", n=119, ip="127.0.0.1"), "why": "localhost"}
            ],
        },
    )
    assert first.status_code == 201, first.text
    [sig] = first.json()["error_signatures"]
    assert sig["type"] == "psycopg.OperationalError" and sig["frames"] == ["connect"]
    assert "127.0.0.1" not in sig["message"]

    second = await client.post(
        "/experiences",
        headers=bob.headers,
        json={
            "goal": "Worker cannot reach the database after moving to containers",
            "context": TRACE.format(home="/srv", n=131, ip="172.18.0.3"),
            "breakthroughs": [{"description": "depends_on with a healthcheck"}],
        },
    )
    hidden = await client.post(
        "/experiences",
        headers=bob.headers,
        json={
            "goal": "Private notes",
            "context": TRACE.format(home="/x", n=1, ip="10.0.0.1"),
            "visibility": "private",
        },
    )
    assert second.json()["error_signatures"][0]["id"] == sig["id"]
    assert hidden.status_code == 201

    r = await client.get(f"/errors/{sig['id']}", headers=alice.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"].startswith("python psycopg.OperationalError: connection failed")
    found = {e["short_id"]: e for e in body["experiences"]}
    assert set(found) == {first.json()["short_id"], second.json()["short_id"]}
    assert found[first.json()["short_id"]]["solution"].startswith("Use the service name")
    assert found[second.json()["short_id"]]["breakthroughs"][0]["description"].startswith(
        "depends_on"
    )

    # the owner of the private one sees it too; nobody else does
    mine = await client.get(f"/errors/{sig['id']}", headers=bob.headers)
    assert hidden.json()["short_id"] in {e["short_id"] for e in mine.json()["experiences"]}

    missing = await client.get("/errors/0123456789abcdef")
    assert missing.status_code == 404 and "detail" in missing.json()


async def test_environments_are_kept_with_sessions_experiences_and_outcomes(
    client: httpx.AsyncClient, register: Register, plurum: Plurum
) -> None:
    agent = await register()
    environment = {
        "os": "linux",
        "runtime": "python 3.11",
        "packages": {"pydantic": "1.10.13", "fastapi": "0.110.0"},
    }
    opened = await client.post(
        "/sessions",
        headers=agent.headers,
        json={"topic": "Validate request bodies", "environment": environment},
    )
    assert opened.status_code == 201, opened.text
    sid = opened.json()["session_id"]
    entry = {"entry_type": "breakthrough", "content": {"description": "use validator"}}
    await client.post(f"/sessions/{sid}/entries", headers=agent.headers, json=entry)
    closed = await client.post(f"/sessions/{sid}/close", headers=agent.headers, json={})
    short_id = closed.json()["experience"]["short_id"]
    detail = (await client.get(f"/experiences/{short_id}")).json()
    assert detail["environment"] == environment

    other = await register()
    report = {"success": False, "environment": {"packages": {"pydantic": "2.7.4"}}}
    r = await client.post(f"/experiences/{short_id}/outcome", headers=other.headers, json=report)
    assert r.status_code == 201, r.text
    with psycopg.connect(plurum.database.url) as conn:
        stored = conn.execute("SELECT environment FROM outcomes").fetchone()
    assert stored == ({"packages": {"pydantic": "2.7.4"}},)


async def test_environment_input_is_bounded_and_scrubbed(
    client: httpx.AsyncClient, register: Register
) -> None:
    agent = await register()

    async def create(environment: object) -> httpx.Response:
        body = {"goal": "Environment check", "environment": environment}
        return await client.post("/experiences", headers=agent.headers, json=body)

    too_many = {"packages": {f"pkg{i}": "1.0" for i in range(101)}}
    for bad in (too_many, {"packages": {"bad name": "1"}}, {"packages": {"x": 1}}, {"shell": "x"}):
        r = await create(bad)
        assert r.status_code == 422 and "detail" in r.json(), (bad, r.text)
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    r = await create({"runtime": f"python 3.11 {token}"})
    assert r.status_code == 201
    assert token not in r.text and r.json()["redactions"]


async def test_an_error_query_puts_experiences_with_its_signature_first(
    client: httpx.AsyncClient, register: Register
) -> None:
    agent = await register()
    same = await client.post(
        "/experiences",
        headers=agent.headers,
        json={
            "goal": "Compose stack: the worker starts before its database",
            "context": TRACE.format(home="/home/a", n=119, ip="127.0.0.1"),
            "solution": "depends_on with condition: service_healthy",
        },
    )
    wordy = await client.post(
        "/experiences",
        headers=agent.headers,
        json={
            "goal": "psycopg OperationalError connection failed Connection refused on server port",
            "context": "psycopg connection failed: connection refused, the server at port 5432 "
            "was not running; psycopg.OperationalError is raised by psycopg.connect",
        },
    )
    assert same.status_code == wordy.status_code == 201
    query = TRACE.format(home="/srv/job", n=131, ip="10.9.8.7")
    r = await client.post("/experiences/search", json={"query": query, "min_relevance": 0})
    hits = r.json()["results"]
    assert hits[0]["short_id"] == same.json()["short_id"], [h["goal"] for h in hits]
    assert hits[0]["match"]["signature"] is True
    assert all(h["match"]["signature"] is False for h in hits[1:])
    # prose about the same error carries no signature: no promotion
    prose = await client.post(
        "/experiences/search", json={"query": "worker cannot connect to postgres"}
    )
    assert all(h["match"]["signature"] is False for h in prose.json()["results"])


async def test_search_prefers_advice_that_worked_on_the_callers_versions(
    client: httpx.AsyncClient, register: Register
) -> None:
    author = await register()
    # neighbours set each side's score range, as a real collection does
    for goal in (
        "Validate user input in a signup form",
        "Send email through an SMTP relay",
        "Load pydantic settings from environment variables",
    ):
        body = {"goal": goal}
        assert (await client.post("/experiences", headers=author.headers, json=body)).is_success
    made = {}
    # the same words but the API's version: only the environments tell them apart
    for major, fix in (("1.10.13", "the v1 API"), ("2.7.4", "the v2 API")):
        r = await client.post(
            "/experiences",
            headers=author.headers,
            json={
                "goal": "Validate an email field on a pydantic model",
                "solution": f"Decorate a classmethod with {fix} and raise ValueError",
                "environment": {"runtime": "python 3.11", "packages": {"pydantic": major}},
            },
        )
        assert r.status_code == 201, r.text
        made[major] = r.json()["short_id"]

    async def first(packages: dict[str, str]) -> dict[str, object]:
        body = {
            "query": "validate an email field on a pydantic model",
            "environment": {"packages": packages},
            "min_relevance": 0,
        }
        r = await client.post("/experiences/search", json=body)
        assert r.status_code == 200, r.text
        hit: dict[str, object] = r.json()["results"][0]
        return hit

    on_v2 = await first({"pydantic": "2.8.0", "fastapi": "0.111.0"})
    assert on_v2["short_id"] == made["2.7.4"]
    assert on_v2["environment_fit"] == {
        "matches": [],
        "conflicts": [
            {"package": "pydantic", "theirs": "2.7.4", "yours": "2.8.0", "breaking": False}
        ],
    }
    on_v1 = await first({"pydantic": "1.10.2"})
    assert on_v1["short_id"] == made["1.10.13"]

    # an open session with an environment gets the same preference
    opened = await client.post(
        "/sessions",
        headers=(await register()).headers,
        json={
            "topic": "validate an email field on a pydantic model",
            "environment": {"packages": {"pydantic": "1.9.0"}},
        },
    )
    relevant = opened.json()["relevant_experiences"]
    assert relevant and relevant[0]["short_id"] == made["1.10.13"]
    assert relevant[0]["environment_fit"]["conflicts"][0]["breaking"] is False

    # without an environment, nothing is said about fit
    r = await client.post("/experiences/search", json={"query": "pydantic email validator"})
    assert all(h["environment_fit"] is None for h in r.json()["results"])
