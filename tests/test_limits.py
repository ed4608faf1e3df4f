"""Rate limits: per-agent writes and searches, registrations per client address, all counted
in PostgreSQL (replicas share one quota), with Retry-After and the RateLimit header fields;
the body size limit and the list, string and pagination caps."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from plurum_backend.api.limits import client_address
from plurum_backend.app import create_app
from plurum_backend.config import Settings
from plurum_backend.errors import ConfigError
from plurum_backend.runtime import Plurum
from plurum_backend.store import limits as store
from tests import serving
from tests.conftest import MakePlurum, Register

RATELIMIT = re.compile(r'^"(?P<name>\w+)";r=(?P<r>\d+);t=(?P<t>\d+)$')
POLICY = re.compile(r'^"(?P<name>\w+)";q=(?P<q>\d+);w=(?P<w>\d+)$')


@asynccontextmanager
async def api(plurum: Plurum) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(plurum, manage_lifespan=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as c:
        yield c


async def new_agent(c: httpx.AsyncClient, name: str) -> dict[str, str]:
    r = await c.post("/agents/register", json={"name": name, "username": name})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}"}


async def open_session(c: httpx.AsyncClient, auth: dict[str, str]) -> str:
    r = await c.post("/sessions", headers=auth, json={"topic": "Load test"})
    assert r.status_code == 201, r.text
    return str(r.json()["session_id"])


def quota(r: httpx.Response) -> tuple[str, int, int, int, int]:
    """(policy, quota, window, remaining, reset) from the draft's header fields."""
    policy = POLICY.match(r.headers["RateLimit-Policy"])
    left = RATELIMIT.match(r.headers["RateLimit"])
    assert policy and left and policy["name"] == left["name"], r.headers
    return policy["name"], int(policy["q"]), int(policy["w"]), int(left["r"]), int(left["t"])


async def test_writes_are_limited_per_agent_with_headers(
    make_plurum: MakePlurum, plurum: Plurum
) -> None:
    limited = await make_plurum(writes_per_minute=4)
    async with api(limited) as c:
        alice, bob = await new_agent(c, "alice"), await new_agent(c, "bobby")
        sid = await open_session(c, alice)  # write 1 of 4
        entry = {"entry_type": "note", "content": {"description": "x"}}
        seen = []
        for _ in range(3):
            r = await c.post(f"/sessions/{sid}/entries", headers=alice, json=entry)
            assert r.status_code == 201
            seen.append(quota(r))
        assert [s[3] for s in seen] == [2, 1, 0]
        assert all(s[:3] == ("writes", 4, 60) and 0 < s[4] <= 60 for s in seen)

        r = await c.post(f"/sessions/{sid}/entries", headers=alice, json=entry)
        assert r.status_code == 429
        assert r.json()["detail"].startswith("Too many writes")
        assert 0 < int(r.headers["Retry-After"]) <= 60
        assert quota(r)[3] == 0
        # the refused request was not stored
        detail = (await c.get(f"/sessions/{sid}", headers=alice)).json()
        assert detail["entry_count"] == 3

        # another agent has its own quota; reads are not limited
        assert (await c.post("/sessions", headers=bob, json={"topic": "t"})).status_code == 201
        r = await c.get("/agents/me", headers=alice)
        assert r.status_code == 200 and "RateLimit" not in r.headers


async def test_searches_are_limited_per_agent_and_per_address(
    make_plurum: MakePlurum, plurum: Plurum
) -> None:
    limited = await make_plurum(searches_per_minute=2)
    async with api(limited) as c:
        alice = await new_agent(c, "alice")
        body = {"query": "docker"}
        for _ in range(2):
            r = await c.post("/experiences/search", headers=alice, json=body)
            assert r.status_code == 200 and quota(r)[0] == "searches"
        r = await c.post("/experiences/search", headers=alice, json=body)
        assert r.status_code == 429 and "Retry-After" in r.headers
        # without a key the quota is the client address's
        for _ in range(2):
            assert (await c.post("/experiences/search", json=body)).status_code == 200
        r = await c.post("/experiences/search", json=body)
        assert r.status_code == 429
        r = await c.get("/experiences/nothere1/similar")
        assert r.status_code == 429  # similar is a search too


async def test_replicas_share_one_quota(make_plurum: MakePlurum, plurum: Plurum) -> None:
    """Counted in PostgreSQL: two processes together allow the quota once, not twice."""
    a = await make_plurum(writes_per_minute=3)
    b = await make_plurum(writes_per_minute=3)
    async with api(a) as ca, api(b) as cb:
        auth = await new_agent(ca, "alice")
        assert (await ca.post("/sessions", headers=auth, json={"topic": "t"})).status_code == 201
        assert (await cb.post("/sessions", headers=auth, json={"topic": "t"})).status_code == 201
        assert (await ca.post("/sessions", headers=auth, json={"topic": "t"})).status_code == 201
        r = await cb.post("/sessions", headers=auth, json={"topic": "t"})
        assert r.status_code == 429


async def test_window_slides(plurum: Plurum) -> None:
    """At most `quota` in any window: a slot comes back when its request leaves the window."""
    async with plurum.engine.connect() as conn:
        hits = [await store.hit(conn, "test:slide", 2, 0.5) for _ in range(3)]
        await conn.commit()
        assert [h[0] for h in hits] == [True, True, False]
        assert hits[1][1] == 2 and 0 < hits[2][2] <= 0.5
        await asyncio.sleep(hits[2][2] + 0.05)  # the time the limiter itself asked us to wait
        again = await store.hit(conn, "test:slide", 2, 0.5)
        await conn.commit()
        assert again[0] is True


async def test_defaults_allow_bulk_loading_a_thousand_writes_a_minute(
    client: httpx.AsyncClient, register: Register, plurum: Plurum
) -> None:
    assert plurum.settings.writes_per_minute >= 1000
    agent = await register()
    sid = await open_session(client, agent.headers)
    entry = {"entry_type": "note", "content": {"description": "bulk"}}
    statuses: list[int] = []
    started = time.monotonic()

    async def writer(n: int) -> None:
        for _ in range(n):
            r = await client.post(f"/sessions/{sid}/entries", headers=agent.headers, json=entry)
            statuses.append(r.status_code)

    await asyncio.gather(*(writer(125) for _ in range(8)))
    assert statuses.count(201) == 1000, {s: statuses.count(s) for s in set(statuses)}
    assert time.monotonic() - started < 60
    r = await client.post(f"/sessions/{sid}/entries", headers=agent.headers, json=entry)
    name, q, _, remaining, _ = quota(r)
    assert (name, q, remaining) == ("writes", 1200, 1200 - 1002)


async def test_registration_limit_reads_forwarded_for_only_from_trusted_proxies(
    make_plurum: MakePlurum, plurum: Plurum
) -> None:
    """Real sockets through uvicorn: its own proxy-header handling must not let a client
    on 127.0.0.1 choose its address (uvicorn trusts X-Forwarded-For from there by default)."""

    async def register_from(p: Plurum, forwarded: list[str], first: int) -> list[int]:
        codes = []
        async with serving.in_process(p) as base, httpx.AsyncClient(base_url=base) as c:
            for i, xff in enumerate(forwarded):
                r = await c.post(
                    "/agents/register",
                    json={"name": "n", "username": f"reg{first + i}x"},
                    headers={"X-Forwarded-For": xff},
                )
                codes.append(r.status_code)
                if r.status_code == 429:
                    assert int(r.headers["Retry-After"]) > 0
                    assert quota(r)[:3] == ("registrations", 2, 3600)
        return codes

    spoofed = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
    untrusting = await make_plurum(registrations_per_hour=2)
    assert await register_from(untrusting, spoofed, 0) == [201, 201, 429]

    trusting = await make_plurum(registrations_per_hour=2, trusted_proxies=("127.0.0.0/8",))
    assert await register_from(trusting, spoofed, 10) == [201, 201, 201]
    # The rightmost untrusted hop is the client: both are 203.0.113.1, which registered once
    # above already (the quota is in the database, shared by both runtimes).
    again = ["203.0.113.1", "198.51.100.7, 203.0.113.1"]
    assert await register_from(trusting, again, 20) == [201, 429]


def request_from(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("198.51.100.9", "203.0.113.5", (), "198.51.100.9"),  # no proxy configured
        ("198.51.100.9", "203.0.113.5", ("10.0.0.0/8",), "198.51.100.9"),  # peer not trusted
        ("10.0.0.2", "203.0.113.5", ("10.0.0.0/8",), "203.0.113.5"),
        ("10.0.0.2", "1.1.1.1, 203.0.113.5, 10.0.0.7", ("10.0.0.0/8",), "203.0.113.5"),
        ("10.0.0.2", "10.0.0.9, 10.0.0.7", ("10.0.0.0/8",), "10.0.0.9"),  # all hops trusted
        ("10.0.0.2", "garbage, 203.0.113.5", ("10.0.0.0/8",), "203.0.113.5"),
        (
            "10.0.0.2",
            "203.0.113.5, garbage",
            ("10.0.0.0/8",),
            "10.0.0.2",
        ),  # proxy never writes that
        ("10.0.0.2", None, ("10.0.0.0/8",), "10.0.0.2"),
        ("::1", "2001:db8::1", ("::1/128",), "2001:db8::1"),
    ],
)
def test_client_address(
    peer: str, forwarded: str | None, trusted: tuple[str, ...], client: str
) -> None:
    assert client_address(request_from(peer, forwarded), trusted) == client


def test_limits_are_configured_from_the_environment(tmp_path: Any) -> None:
    env = {
        "PLURUM_DATA_DIR": str(tmp_path),
        "PLURUM_WRITES_PER_MINUTE": "60",
        "PLURUM_SEARCHES_PER_MINUTE": "0",
        "PLURUM_REGISTRATIONS_PER_HOUR": "3",
        "PLURUM_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1,::1",
    }
    s = Settings.from_env(env)
    assert (s.writes_per_minute, s.searches_per_minute, s.registrations_per_hour) == (60, 0, 3)
    assert s.trusted_proxies == ("10.0.0.0/8", "127.0.0.1/32", "::1/128")
    defaults = Settings.from_env({"PLURUM_DATA_DIR": str(tmp_path)})
    assert (defaults.writes_per_minute, defaults.searches_per_minute) == (1200, 600)
    assert defaults.registrations_per_hour == 5 and defaults.trusted_proxies == ()
    for name, bad in [
        ("PLURUM_WRITES_PER_MINUTE", "lots"),
        ("PLURUM_SEARCHES_PER_MINUTE", "-1"),
        ("PLURUM_TRUSTED_PROXIES", "10.0.0.0/8,localhost"),
    ]:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({"PLURUM_DATA_DIR": str(tmp_path), name: bad})


async def test_openapi_documents_limits(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path, method in [
        ("/agents/register", "post"),
        ("/sessions/{session_id}/entries", "post"),
        ("/experiences/search", "post"),
    ]:
        op = spec["paths"]["/api/v1" + path][method]
        assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(
            op["responses"]["429"]["headers"]
        )
        ok = next(code for code in op["responses"] if code.startswith("2"))
        assert {"RateLimit", "RateLimit-Policy"} <= set(op["responses"][ok]["headers"])
    assert "429" not in spec["paths"]["/api/v1/agents/me"]["get"]["responses"]


# -- body size and caps ------------------------------------------------------------------------


async def raw_post(
    plurum: Plurum, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> int:
    """Drive the ASGI app by hand, so Content-Length can lie."""
    app = create_app(plurum, manage_lifespan=False)
    pending = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    pending.append({"type": "http.request", "body": b"", "more_body": False})
    status = 0

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/v1" + path, "raw_path": b"", "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("t", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    return status


async def test_body_limit_is_counted_on_the_stream(plurum: Plurum, register: Register) -> None:
    agent = await register()
    auth = (b"authorization", f"Bearer {agent.key}".encode())
    json_type = (b"content-type", b"application/json")
    mib = 1024 * 1024
    # Content-Length claims 20 bytes, the stream carries 2 MiB
    lying = [json_type, auth, (b"content-length", b"20")]
    assert await raw_post(plurum, "/experiences", lying, [b"x" * (256 * 1024)] * 8) == 413
    # no Content-Length at all (chunked)
    assert await raw_post(plurum, "/experiences", [json_type, auth], [b"x" * mib, b"x"]) == 413
    # exactly the limit is read, then judged as JSON (not a 413)
    exact = b'{"goal": "' + b"g" * (mib - 12) + b'"}'
    assert len(exact) == mib
    assert await raw_post(plurum, "/experiences", [json_type, auth], [exact]) == 422


async def test_body_limit_is_configurable(make_plurum: MakePlurum, plurum: Plurum) -> None:
    small = await make_plurum(max_body_bytes=100)
    async with api(small) as c:
        r = await c.post("/experiences/search", json={"query": "q" * 200})
        assert r.status_code == 413 and r.json()["detail"]


CAPS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/experiences", {"goal": "g" * 501}),
    ("POST", "/experiences", {"goal": "g", "context": "c" * 20_001}),
    ("POST", "/experiences", {"goal": "g", "tags": [f"t{i}" for i in range(21)]}),
    ("POST", "/experiences", {"goal": "g", "tags": ["t" * 51]}),
    ("POST", "/experiences", {"goal": "g", "dead_ends": ["d"] * 51}),
    ("POST", "/experiences", {"goal": "g", "artifacts": [{"code": "x" * 262_145}]}),
    ("POST", "/experiences", {"goal": "g\u0000"}),
    ("POST", "/experiences/search", {"query": "q" * 1001}),
    ("POST", "/experiences/search", {"query": "q", "limit": 51}),
    ("POST", "/experiences/search", {"query": "q", "limit": 0}),
    ("POST", "/sessions", {"topic": "t", "tools_used": ["x"] * 21}),
    ("GET", "/experiences?limit=101", None),
    ("GET", "/experiences?limit=0", None),
    ("GET", "/experiences?offset=-1", None),
    ("GET", "/experiences?offset=1000001", None),
    ("GET", "/sessions?limit=1000", None),
    ("GET", "/experiences?tags=" + ",".join(f"t{i}" for i in range(21)), None),
]


@pytest.mark.parametrize(("method", "path", "body"), CAPS)
async def test_caps_refuse_rather_than_clamp(
    client: httpx.AsyncClient, register: Register, method: str, path: str, body: Any
) -> None:
    agent = await register()
    r = await client.request(method, path, json=body, headers=agent.headers)
    assert r.status_code in (400, 422), (path, r.status_code, r.text[:200])
    assert isinstance(r.json()["detail"], str)


async def test_entry_content_cap(client: httpx.AsyncClient, register: Register) -> None:
    agent = await register()
    sid = await open_session(client, agent.headers)
    big = {"entry_type": "note", "content": {"description": "d" * (33 * 1024)}}
    r = await client.post(f"/sessions/{sid}/entries", headers=agent.headers, json=big)
    assert r.status_code == 422
    deep: dict[str, Any] = {"description": "d"}
    for _ in range(12):
        deep = {"description": "d", "nested": deep}
    r = await client.post(
        f"/sessions/{sid}/entries",
        headers=agent.headers,
        json={"entry_type": "note", "content": deep},
    )
    assert r.status_code == 422
