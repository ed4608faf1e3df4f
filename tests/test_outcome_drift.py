"""Outcome drift through the API: age-weighted scores and ``freshness`` everywhere an
experience is shown. Reports are backdated in the database, as time would have done."""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from plurum_backend.app import create_app
from plurum_backend.config import Settings
from plurum_backend.errors import ConfigError
from plurum_backend.runtime import Plurum
from plurum_backend.services import rescore, scoring
from plurum_backend.store import migrate
from plurum_backend.store.database import Database
from tests.conftest import MODEL_DIR, Agent, MakePlurum, Register

GOAL = "Validate request bodies with pydantic models in FastAPI"
BODY: dict[str, Any] = {
    "goal": GOAL,
    "solution": "Declare a BaseModel subclass and use it as the endpoint parameter type",
    "breakthroughs": [{"description": "Use Config.orm_mode to read ORM rows"}],
    "tags": ["fastapi", "pydantic"],
}


def sql(plurum: Plurum, statement: str, *params: Any) -> None:
    with psycopg.connect(plurum.database.url, autocommit=True) as conn:
        conn.execute(statement, params)


def backdate_reports(plurum: Plurum, exp_id: str, days: float) -> None:
    """Move every report (and vote) on the experience so far ``days`` into the past."""
    for table in ("outcomes", "votes"):
        sql(
            plurum,
            f"UPDATE {table} SET created_at = created_at - make_interval(secs => %s) "
            "WHERE experience_id = %s",
            days * 86400,
            exp_id,
        )


async def report(
    client: httpx.AsyncClient, agent: Agent, short_id: str, success: bool, **pkgs: str
) -> dict[str, Any]:
    body: dict[str, Any] = {"success": success}
    if pkgs:
        body["environment"] = {"packages": pkgs}
    r = await client.post(f"/experiences/{short_id}/outcome", json=body, headers=agent.headers)
    assert r.status_code == 201, r.text
    return dict(r.json()["experience"])


async def drifted(
    client: httpx.AsyncClient, plurum: Plurum, register: Register
) -> tuple[dict[str, Any], dict[str, Any], Agent]:
    """An experience that worked on pydantic 1.x 200 days ago and fails on 2.x this week."""
    author = await register()
    r = await client.post("/experiences", json=BODY, headers=author.headers)
    assert r.status_code == 201
    exp = r.json()
    assert exp["freshness"]["status"] == "fresh" and exp["freshness"]["since"] is None
    for version in ("1.10.2", "1.10.4", "1.9.0"):
        await report(client, await register(), exp["short_id"], True, pydantic=version)
    backdate_reports(plurum, exp["id"], 200)
    await report(client, await register(), exp["short_id"], False, pydantic="2.5.3")
    last = await report(client, await register(), exp["short_id"], False, pydantic="2.6.0")
    return exp, last, author


async def test_old_successes_then_new_failures(
    client: httpx.AsyncClient, plurum: Plurum, register: Register
) -> None:
    exp, last, author = await drifted(client, plurum, register)
    assert last["outcomes"] == {"success": 3, "failure": 2, "success_rate": 0.6}
    old = 3 * 2 ** (-200 / 90)  # ~0.64 of a fresh success
    assert math.isclose(last["quality_score"], scoring.quality_score(old, 2), abs_tol=1e-4)
    assert last["quality_score"] < 0.05 < scoring.quality_score(3, 2)  # the cumulative score
    fresh = last["freshness"]
    assert fresh["status"] == "needs_revalidation"
    assert fresh["reason"].startswith("succeeded on pydantic 1.x, fails on 2.x (the last 2 ")
    since = datetime.fromisoformat(fresh["since"])
    assert abs(since - datetime.now(UTC)) < timedelta(minutes=5)

    detail = (await client.get(f"/experiences/{exp['short_id']}")).json()
    assert detail["freshness"] == fresh and detail["quality_score"] == last["quality_score"]
    card = (await client.get("/experiences")).json()["experiences"][0]
    assert card["freshness"] == fresh

    found = await client.post(
        "/experiences/search", json={"query": "pydantic request validation fastapi"}
    )
    hit = found.json()["results"][0]
    assert hit["short_id"] == exp["short_id"] and hit["freshness"] == fresh

    reader = await register()
    url = f"/experiences/{exp['short_id']}/acquire"
    line = f"⚠ needs revalidation: {fresh['reason']}"
    for mode in ("summary", "checklist", "decision_tree", "full"):
        got = (await client.post(url, json={"mode": mode}, headers=reader.headers)).json()
        assert got["freshness"] == fresh, mode
        assert got["text"].split("\n")[0] == line, mode
    summary = (await client.post(url, json={"mode": "summary"}, headers=reader.headers)).json()
    assert summary["content"].startswith(line + "\nGoal: ")

    opened = await client.post(
        "/sessions", headers=reader.headers, json={"topic": "FastAPI pydantic request validation"}
    )
    relevant = opened.json()["relevant_experiences"]
    assert relevant and relevant[0]["freshness"] == fresh

    # the web view: the experience page and the search card (HTML, no script needed)
    app = create_app(plurum, manage_lifespan=False)
    web = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with web:
        page = (await web.get(f"/experiences/{exp['short_id']}")).text
        assert "<dt>freshness</dt>" in page and "needs revalidation: succeeded on pydantic" in page
        cards = (await web.get("/search", params={"q": "pydantic request validation"})).text
        assert "⚠ needs revalidation</span>" in cards

    # one agent on 2.x finds it works after all: revalidated
    back = await report(client, await register(), exp["short_id"], True, pydantic="2.6.1")
    assert back["freshness"]["status"] == "fresh"
    assert "last reported working on" in back["freshness"]["reason"]
    assert author  # the author's own reports never count (tests/test_experiences.py)


async def test_min_quality_filters_on_the_current_score(
    client: httpx.AsyncClient, plurum: Plurum, register: Register
) -> None:
    author = await register()
    ids = []
    # two experiences with their own fixes (with the same fix, the second would be linked to
    # the first as its duplicate and share its search card, docs/trust.md)
    v2_fix = {
        "solution": "Write field_validator classmethods on the model",
        "breakthroughs": [{"description": "Replace @validator with @field_validator"}],
    }
    for goal, fix in (
        (GOAL, {}),
        ("Validate FastAPI request bodies with pydantic v2 validators", v2_fix),
    ):
        body = {**BODY, "goal": goal, **fix}
        r = await client.post("/experiences", json=body, headers=author.headers)
        ids.append((r.json()["id"], r.json()["short_id"]))
        for _ in range(4):
            scored = await report(client, await register(), r.json()["short_id"], True)
    assert scored["quality_score"] == 0.5101  # 4 of 4, fresh
    # a year passes for the first one's evidence, and no sweep ran: its stored score is old
    stale_id, stale_short = ids[0]
    backdate_reports(plurum, stale_id, 365)
    sql(
        plurum,
        "UPDATE experiences SET weighted = jsonb_set(weighted, '{as_of}', to_jsonb(%s::text)) "
        "WHERE id = %s",
        (datetime.now(UTC) - timedelta(days=365)).isoformat(),
        stale_id,
    )
    detail = (await client.get(f"/experiences/{stale_short}")).json()
    expected = scoring.quality_score(4 * 2 ** (-365 / 90), 0)
    assert math.isclose(detail["quality_score"], expected, abs_tol=1e-4) and expected < 0.2
    query = {"query": "validate fastapi request bodies pydantic", "min_relevance": 0}
    found = (await client.post("/experiences/search", json=query)).json()["results"]
    assert {h["short_id"] for h in found} == {s for _, s in ids}
    found = await client.post("/experiences/search", json={**query, "min_quality_score": 0.3})
    assert [h["short_id"] for h in found.json()["results"]] == [ids[1][1]]
    assert found.json()["total_found"] == 1

    # the sweep brings the stored column down to the current score
    sql(
        plurum,
        "UPDATE experiences SET scored_at = now() - interval '2 days' WHERE id = %s",
        stale_id,
    )
    assert await rescore.sweep(plurum) == 1
    with psycopg.connect(plurum.database.url) as conn:
        stored = conn.execute(
            "SELECT quality_score, freshness->>'status' FROM experiences WHERE id = %s",
            (stale_id,),
        ).fetchone()
    assert stored is not None and math.isclose(stored[0], expected, abs_tol=1e-4)
    assert stored[1] == "stale"  # a year without a success: past the 360-day window
    assert await rescore.sweep(plurum) == 0  # nothing is due any more


async def test_nothing_confirmed_for_a_year_is_stale(
    client: httpx.AsyncClient, plurum: Plurum, register: Register
) -> None:
    author, reader = await register(), await register()
    r = await client.post("/experiences", json=BODY, headers=author.headers)
    exp = r.json()
    sql(
        plurum,
        "UPDATE experiences SET created_at = now() - interval '400 days' WHERE id = %s",
        exp["id"],
    )
    fresh = (await client.get(f"/experiences/{exp['short_id']}")).json()["freshness"]
    assert fresh["status"] == "stale"
    assert fresh["reason"].endswith("and no agent has reported success since")
    got = await client.post(
        f"/experiences/{exp['short_id']}/acquire",
        json={"mode": "checklist"},
        headers=reader.headers,
    )
    assert got.json()["text"].startswith(f"⚠ stale: {fresh['reason']}\n# {GOAL}")
    # a success reported now makes it fresh again
    assert (await report(client, reader, exp["short_id"], True))["freshness"]["status"] == "fresh"


def test_half_life_setting() -> None:
    assert Settings.from_env({}).outcome_half_life_days == 90.0
    assert Settings.from_env({"PLURUM_OUTCOME_HALF_LIFE_DAYS": "30"}).outcome_half_life_days == 30
    for bad in ("0", "-5", "soon", "inf", "nan", "40000"):
        with pytest.raises(ConfigError, match="PLURUM_OUTCOME_HALF_LIFE_DAYS must be a number"):
            Settings.from_env({"PLURUM_OUTCOME_HALF_LIFE_DAYS": bad})


async def test_another_half_life_rescores_everything(
    client: httpx.AsyncClient, plurum: Plurum, make_plurum: MakePlurum, register: Register
) -> None:
    author = await register()
    exp = (await client.post("/experiences", json=BODY, headers=author.headers)).json()
    for _ in range(3):
        await report(client, await register(), exp["short_id"], True)
    backdate_reports(plurum, exp["id"], 90)
    sql(plurum, "UPDATE experiences SET scored_at = now() - interval '2 days'")
    assert await rescore.sweep(plurum) == 1
    got = (await client.get(f"/experiences/{exp['short_id']}")).json()["quality_score"]
    assert math.isclose(got, scoring.quality_score(1.5, 0), abs_tol=1e-4)  # 3 halved
    # a backend started with another half-life rescores at once (its start-up sweep)
    await make_plurum(outcome_half_life_days=30.0)
    expected = scoring.quality_score(3 / 8, 0)  # 90 days = 3 half-lives
    for _ in range(100):
        got = (await client.get(f"/experiences/{exp['short_id']}")).json()["quality_score"]
        if math.isclose(got, expected, abs_tol=1e-4):
            break
        await asyncio.sleep(0.1)
    assert math.isclose(got, expected, abs_tol=1e-4)


async def test_the_first_sweep_after_the_upgrade_weighs_old_evidence(
    database: Database, tmp_path: Path
) -> None:
    """Experiences scored cumulatively before 0015_drift are weighted at the next start."""
    name = "drift_" + uuid.uuid4().hex[:8]
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = make_url(database.url).set(database=name).render_as_string(hide_password=False)
    scratch = Database(url=url, embedded=False)
    try:
        migrate.upgrade(scratch, "0012_entry_hints")
        author, exp_id = uuid.uuid4(), uuid.uuid4()
        with psycopg.connect(scratch.url, autocommit=True) as conn:
            for n, agent in enumerate([author, *(uuid.uuid4() for _ in range(3))]):
                conn.execute(
                    "INSERT INTO agents (id, name, username, key_hash) VALUES (%s, 'A', %s, %s)",
                    (agent, f"agent{n}", f"hash{n}"),
                )
            conn.execute(
                "INSERT INTO experiences (id, short_id, slug, agent_id, goal, quality_score, "
                "success_count) VALUES (%s, 'Old3succ', 'old', %s, %s, %s, 3)",
                (exp_id, author, GOAL, scoring.quality_score(3, 0)),
            )
            for n in (1, 2, 3):
                conn.execute(
                    "INSERT INTO outcomes (id, experience_id, agent_id, success, created_at) "
                    "SELECT %s, %s, id, true, now() - interval '180 days' FROM agents "
                    "WHERE username = %s",
                    (uuid.uuid4(), exp_id, f"agent{n}"),
                )
        migrate.upgrade(scratch)
        settings = Settings(data_dir=tmp_path / "upgraded", models_path=MODEL_DIR)
        plurum = Plurum.start(settings, scratch)
        await plurum.startup()  # the start-up sweep
        try:
            expected = scoring.quality_score(3 / 4, 0)  # 180 days = 2 half-lives
            for _ in range(100):
                with psycopg.connect(scratch.url) as conn:
                    row = conn.execute(
                        "SELECT quality_score, freshness->>'status' FROM experiences"
                    ).fetchone()
                if row is not None and row[1] is not None:
                    break
                await asyncio.sleep(0.1)
            assert row is not None and math.isclose(row[0], expected, abs_tol=1e-4)
            assert row[1] == "fresh"
        finally:
            await plurum.shutdown()
    finally:
        with psycopg.connect(database.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
