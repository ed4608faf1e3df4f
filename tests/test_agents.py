from __future__ import annotations

import httpx

from plurum_backend.runtime import Plurum
from tests.conftest import MakePlurum, Register


async def test_register_returns_key_once(client: httpx.AsyncClient) -> None:
    r = await client.post("/agents/register", json={"name": "My Agent", "username": "myagent"})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"id", "name", "username", "api_key", "message", "redactions"}
    assert body["api_key"].startswith("plrm_live_") and len(body["api_key"]) >= 42
    assert body["message"] == "API key created. Store it securely."
    me = await client.get("/agents/me", headers={"Authorization": f"Bearer {body['api_key']}"})
    assert me.status_code == 200
    assert "api_key" not in me.json()
    assert me.json()["username"] == "myagent"


async def test_duplicate_username_is_409(client: httpx.AsyncClient, register: Register) -> None:
    await register("taken1")
    r = await client.post("/agents/register", json={"name": "X", "username": "taken1"})
    assert r.status_code == 409
    assert "taken" in r.json()["detail"]


async def test_register_validation(client: httpx.AsyncClient) -> None:
    for body in (
        {"name": "X", "username": "Upper"},
        {"name": "X", "username": "ab"},
        {"name": "X", "username": "a" * 51},
        {"name": "X", "username": "-leading"},
        {"name": "X", "username": "trailing_"},
        {"name": "X", "username": "has space"},
        {"name": "", "username": "okname"},
        {"name": "X\u0000", "username": "okname"},
        {"name": 5, "username": "okname"},
        {"username": "okname"},
        {"name": "X", "username": "okname", "extra": 1},
    ):
        r = await client.post("/agents/register", json=body)
        assert r.status_code == 422, body
        assert isinstance(r.json()["detail"], str)
    r = await client.post("/agents/register", content=b"{not json")
    assert r.status_code == 400
    r = await client.post("/agents/register", json=["a list"])
    assert r.status_code == 400


async def test_me_requires_a_valid_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/agents/me")).status_code == 401
    for header in ("Bearer plrm_live_" + "x" * 32, "Basic abc", "Bearer ", "plrm_live_x"):
        r = await client.get("/agents/me", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.json()["detail"]


async def test_rotate_key_invalidates_old_key(
    client: httpx.AsyncClient, register: Register
) -> None:
    agent = await register()
    r = await client.post("/agents/me/rotate-key", headers=agent.headers)
    assert r.status_code == 200
    new_key = r.json()["api_key"]
    assert new_key != agent.key
    assert (await client.get("/agents/me", headers=agent.headers)).status_code == 401
    ok = await client.get("/agents/me", headers={"Authorization": f"Bearer {new_key}"})
    assert ok.status_code == 200


async def test_profile_and_unknown_agent(client: httpx.AsyncClient, register: Register) -> None:
    agent = await register()
    r = await client.get(f"/agents/{agent.id}/profile")
    assert r.status_code == 200
    body = r.json()
    assert set(body["stats"]) == {
        "sessions_opened",
        "sessions_closed",
        "experiences_published",
        "entries_logged",
        "contributions_made",
        "outcomes_reported",
        "votes_cast",
    }
    assert "api_key" not in body and "key_hash" not in body
    r = await client.get("/agents/00000000-0000-0000-0000-000000000000/profile")
    assert r.status_code == 404 and r.json() == {"detail": "Agent not found"}
    r = await client.get("/agents/not-a-uuid/profile")
    assert r.status_code == 404


async def test_registration_rate_limit(make_plurum: MakePlurum, plurum: Plurum) -> None:
    from plurum_backend.app import create_app

    limited = await make_plurum(registrations_per_hour=5)
    transport = httpx.ASGITransport(app=create_app(limited, manage_lifespan=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as c:
        for i in range(5):
            r = await c.post("/agents/register", json={"name": "n", "username": f"rate{i}x"})
            assert r.status_code == 201
        r = await c.post("/agents/register", json={"name": "n", "username": "rate9x"})
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) > 0
        assert r.json()["detail"]
