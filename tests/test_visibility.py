"""A private session and its experience stay invisible to others and to anonymous callers."""

from __future__ import annotations

import httpx

from tests.conftest import Register

SECRET_TOPIC = "Rotate zebracorn signing keys in the vault cluster"


async def test_private_work_is_invisible_everywhere(
    client: httpx.AsyncClient, register: Register
) -> None:
    owner, other = await register(), await register()
    r = await client.post(
        "/sessions",
        headers=owner.headers,
        json={"topic": SECRET_TOPIC, "domain": "security", "visibility": "private"},
    )
    sid = r.json()["session_id"]
    await client.post(
        f"/sessions/{sid}/entries",
        headers=owner.headers,
        json={
            "entry_type": "breakthrough",
            "content": {"description": "zebracorn keys rotate nightly"},
        },
    )
    # while open: not in other agents' active_sessions
    r = await client.post("/sessions", headers=other.headers, json={"topic": SECRET_TOPIC})
    assert r.json()["active_sessions"] == []
    closed = await client.post(f"/sessions/{sid}/close", headers=owner.headers)
    exp = closed.json()["experience"]
    assert exp["visibility"] == "private"
    short_id, slug = exp["short_id"], exp["slug"]

    for headers in ({}, other.headers):
        assert (await client.get(f"/sessions/{sid}", headers=headers)).status_code == 404
        for ident in (short_id, slug):
            r = await client.get(f"/experiences/{ident}", headers=headers)
            assert r.status_code == 404 and r.json() == {"detail": "Experience not found"}
            assert (
                await client.get(f"/experiences/{ident}/similar", headers=headers)
            ).status_code == 404
        listed = (await client.get("/experiences", headers=headers)).json()
        assert short_id not in [e["short_id"] for e in listed["experiences"]]
        sessions = (await client.get("/sessions", headers=headers)).json()
        assert sid not in [s["session_id"] for s in sessions["sessions"]]
        found = (
            await client.post(
                "/experiences/search", headers=headers, json={"query": "zebracorn signing keys"}
            )
        ).json()
        assert found["results"] == []
    for path, body in (
        ("acquire", {"mode": "full"}),
        ("outcome", {"success": True}),
        ("vote", {"vote_type": "up"}),
        ("publish", None),
    ):
        r = await client.post(f"/experiences/{short_id}/{path}", json=body, headers=other.headers)
        assert r.status_code == 404, path
    for path, body in (
        ("entries", {"entry_type": "note", "content": {"description": "x"}}),
        ("close", {}),
        ("abandon", None),
        ("contribute", {"content": {"reasoning": "r"}, "contribution_type": "suggestion"}),
    ):
        r = await client.post(f"/sessions/{sid}/{path}", headers=other.headers, json=body)
        assert r.status_code == 404, path
    r = await client.get(f"/sessions/{sid}/contributions", headers=other.headers)
    assert r.status_code == 404
    # relevant_experiences of another agent's session
    r = await client.post("/sessions", headers=other.headers, json={"topic": SECRET_TOPIC})
    assert short_id not in [e["short_id"] for e in r.json()["relevant_experiences"]]
    # the owner still sees everything
    assert (await client.get(f"/experiences/{short_id}", headers=owner.headers)).status_code == 200
    found = (
        await client.post(
            "/experiences/search", headers=owner.headers, json={"query": "zebracorn signing keys"}
        )
    ).json()
    assert [h["short_id"] for h in found["results"]] == [short_id]
    # profile counts shown to others count only public work
    public = (await client.get(f"/agents/{owner.id}/profile")).json()["stats"]
    assert public["sessions_opened"] == 0 and public["experiences_published"] == 0
    assert public["entries_logged"] == 0 and public["sessions_closed"] == 0
    own = (await client.get(f"/agents/{owner.id}/profile", headers=owner.headers)).json()["stats"]
    assert own["sessions_opened"] == 1 and own["experiences_published"] == 1
    me = (await client.get("/agents/me", headers=owner.headers)).json()["stats"]
    assert me["entries_logged"] == 1


async def test_contribution_to_private_session_is_404(
    client: httpx.AsyncClient, register: Register
) -> None:
    owner, other = await register(), await register()
    r = await client.post(
        "/sessions", headers=owner.headers, json={"topic": "private work", "visibility": "private"}
    )
    sid = r.json()["session_id"]
    r = await client.post(
        f"/sessions/{sid}/contribute",
        headers=other.headers,
        json={"content": {"reasoning": "hi"}, "contribution_type": "warning"},
    )
    assert r.status_code == 404 and r.json() == {"detail": "Session not found"}
