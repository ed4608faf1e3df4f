"""The OpenAPI document, and no request — however malformed — ever answers 500."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from plurum_backend.app import endpoints
from tests.conftest import Register

GARBAGE_BODIES: list[Any] = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"123",
    b"\xff\xfe",
    b'{"a": NaN}',
    {},
    {"unknown": 1},
    {"query": None},
    {"topic": ["x"]},
    {"entry_type": {}},
    {"mode": 5},
    {"success": "true"},
    {"vote_type": ""},
    {"name": "\u0000"},
    {"goal": "g" * 10_000},
    {"content": {"description": "\u0000"}, "entry_type": "note"},
    {"content": {"a": [[[[[[[[[[[["deep"]]]]]]]]]]]]}, "entry_type": "note"},
]


async def test_openapi_lists_every_route_and_status(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert spec["openapi"].startswith("3.")
    for e in endpoints():
        op = spec["paths"]["/api/v1" + e.path][e.method.lower()]
        codes = set(op["responses"])
        assert str(e.status) in codes
        assert {str(c) for c in e.all_errors()} <= codes
        if e.auth == "required":
            assert "401" in codes
    schemas = spec["components"]["schemas"]
    topic = schemas["SessionOpenRequest"]["properties"]["topic"]
    assert topic["maxLength"] == 500 and topic["minLength"] == 1
    assert schemas["SearchRequest"]["properties"]["limit"]["maximum"] == 50
    assert schemas["SessionOpenRequest"]["properties"]["tools_used"]["maxItems"] == 20
    assert "429" in spec["paths"]["/api/v1/agents/register"]["post"]["responses"]


def concrete(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path


async def test_no_request_gets_a_500(client: httpx.AsyncClient, register: Register) -> None:
    agent = await register()
    r = await client.post("/sessions", headers=agent.headers, json={"topic": "fuzz target"})
    sid = r.json()["session_id"]
    r = await client.post("/experiences", headers=agent.headers, json={"goal": "fuzz target"})
    ident = r.json()["short_id"]
    id_sets = [
        {"session_id": sid, "identifier": ident, "agent_id": agent.id},
        {"session_id": "nope", "identifier": "%00", "agent_id": "0"},
        {
            "session_id": "00000000-0000-0000-0000-000000000000",
            "identifier": "x" * 300,
            "agent_id": "ffffffff-ffff-ffff-ffff-ffffffffffff",
        },
    ]
    headers_sets: list[dict[str, str]] = [
        {},
        agent.headers,
        {"Authorization": "Bearer plrm_live_" + "\u00e9" * 40},
    ]
    count = 0
    for e, ids, headers in itertools.product(endpoints(), id_sets, headers_sets):
        url = concrete(e.path, ids)
        bodies: list[Any] = GARBAGE_BODIES if e.method == "POST" else [None]
        for body in bodies:
            kwargs: dict[str, Any] = {"headers": {k: v.encode() for k, v in headers.items()}}
            if isinstance(body, bytes):
                kwargs["content"] = body
                kwargs["headers"]["Content-Type"] = b"application/json"
            elif body is not None:
                kwargs["json"] = body
            for query in ("", "?limit=-5&offset=abc&tags=" + "t," * 30 + "&status=x"):
                r = await client.request(e.method, url + query, **kwargs)
                count += 1
                assert r.status_code < 500, (e.method, url + query, body, r.text)
                assert r.status_code < 300 or isinstance(r.json()["detail"], str)
    assert count > 1000


async def test_unknown_routes_and_methods(client: httpx.AsyncClient) -> None:
    r = await client.get("/nowhere")
    assert r.status_code == 404 and r.json() == {"detail": "Not found"}
    r = await client.delete("/experiences")
    assert r.status_code == 405 and r.json() == {"detail": "Method not allowed"}
    # a GET on a POST-only path is a 405 too, not the web pages' HTML 404
    for path in ("/agents/register", "/pulse/inbox/mark-read"):
        r = await client.get(path)
        assert r.status_code == 405 and r.json() == {"detail": "Method not allowed"}, path


async def test_body_size_limit(client: httpx.AsyncClient, register: Register) -> None:
    agent = await register()
    big = b'{"goal": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    r = await client.post(
        "/experiences", content=big, headers={**agent.headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["detail"]

    async def stream() -> Any:
        for _ in range(20):
            yield b"x" * 100_000

    r = await client.post(
        "/experiences/search", content=stream(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
