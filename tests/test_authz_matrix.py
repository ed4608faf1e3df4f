"""The authorization matrix: every route x {anonymous, owner, another agent} x {public,
private target} against the expected answers kept beside this file in authz_matrix.csv.

Each row runs in a fresh world (two new agents; the owner's open session with an entry, a
published experience and a draft, all of the row's visibility), so rows cannot depend on
each other's side effects (rotations, closes, votes). A route missing from the table fails
the test, so a new endpoint cannot ship without its row.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from plurum_backend.app import endpoints
from tests.conftest import Agent, Register

TABLE = Path(__file__).with_name("authz_matrix.csv")
CALLERS = ("anonymous", "owner", "other")
VISIBILITIES = ("public", "private")
EXTRA_ROUTES = {
    ("GET", "/openapi.json"),
    ("GET", "/health"),
    ("GET", "/ready"),
}  # served outside Endpoint


@dataclass
class World:
    client: httpx.AsyncClient
    owner: Agent
    other: Agent
    visibility: str
    topic: str
    session_id: str = ""
    short_id: str = ""
    draft_id: str = ""

    async def post(self, path: str, body: Any = None) -> dict[str, Any]:
        r = await self.client.post(path, headers=self.owner.headers, json=body)
        assert r.status_code in (200, 201), (path, r.text)
        data: dict[str, Any] = r.json()
        return data

    async def session(self) -> str:
        if not self.session_id:
            body = {"topic": self.topic, "visibility": self.visibility}
            self.session_id = (await self.post("/sessions", body))["session_id"]
            entry = {"entry_type": "note", "content": {"description": "first note"}}
            await self.post(f"/sessions/{self.session_id}/entries", entry)
        return self.session_id

    async def experience(self) -> str:
        if not self.short_id:
            body = {"goal": self.topic, "visibility": self.visibility, "tags": ["matrix"]}
            self.short_id = (await self.post("/experiences", body))["short_id"]
        return self.short_id

    async def error_signature(self) -> str:
        """The signature of an error quoted by an experience of the row's visibility."""
        body = {
            "goal": self.topic,
            # an error of this row only (its number): rows must not share a signature
            "context": f'ERROR:  relation "matrix_{self.topic.split()[2]}" does not exist',
            "visibility": self.visibility,
        }
        created = await self.post("/experiences", body)
        self.short_id = created["short_id"]
        return str(created["error_signatures"][0]["id"])

    async def draft(self) -> str:
        if not self.draft_id:
            body = {"topic": self.topic + " draft", "visibility": self.visibility}
            sid = (await self.post("/sessions", body))["session_id"]
            entry = {"entry_type": "note", "content": {"description": "draft note"}}
            await self.post(f"/sessions/{sid}/entries", entry)
            closed = await self.post(f"/sessions/{sid}/close", {"publish": False})
            self.draft_id = closed["experience"]["short_id"]
        return self.draft_id


# route -> how to call it in a world: (path, JSON body or None)
Call = Callable[[World], Awaitable[tuple[str, Any]]]


async def _session_path(w: World, suffix: str = "") -> str:
    return f"/sessions/{await w.session()}{suffix}"


async def _experience_path(w: World, suffix: str = "") -> str:
    return f"/experiences/{await w.experience()}{suffix}"


def _fixed(path: str, body: Any = None) -> Call:
    async def call(w: World) -> tuple[str, Any]:
        return path, body

    return call


def _on_session(suffix: str, body: Any = None) -> Call:
    async def call(w: World) -> tuple[str, Any]:
        return await _session_path(w, suffix), body

    return call


def _on_experience(suffix: str, body: Any = None) -> Call:
    async def call(w: World) -> tuple[str, Any]:
        return await _experience_path(w, suffix), body

    return call


async def _register(w: World) -> tuple[str, Any]:
    return "/agents/register", {"name": "New", "username": "n" + uuid.uuid4().hex[:12]}


async def _profile(w: World) -> tuple[str, Any]:
    await w.session()
    return f"/agents/{w.owner.id}/profile", None


async def _listing(w: World, path: str) -> tuple[str, Any]:
    await (w.session() if path == "/sessions" else w.experience())
    return path + "?limit=100", None


async def _search(w: World) -> tuple[str, Any]:
    await w.experience()
    return "/experiences/search", {"query": w.topic, "limit": 50}


async def _errors(w: World) -> tuple[str, Any]:
    return f"/errors/{await w.error_signature()}", None


async def _publish(w: World) -> tuple[str, Any]:
    return f"/experiences/{await w.draft()}/publish", None


async def _status(w: World) -> tuple[str, Any]:
    await w.session()
    return "/pulse/status", None


CALLS: dict[tuple[str, str], Call] = {
    ("GET", "/openapi.json"): _fixed("/openapi.json"),
    ("GET", "/health"): _fixed("/health"),
    ("GET", "/ready"): _fixed("/ready"),
    ("POST", "/agents/register"): _register,
    ("GET", "/agents/check-username"): _fixed("/agents/check-username?username=free-name"),
    ("GET", "/agents/me"): _fixed("/agents/me"),
    ("POST", "/agents/me/rotate-key"): _fixed("/agents/me/rotate-key"),
    ("GET", "/agents/{agent_id}/profile"): _profile,
    ("POST", "/sessions"): _fixed("/sessions", {"topic": "a new session"}),
    ("GET", "/sessions"): lambda w: _listing(w, "/sessions"),
    ("GET", "/sessions/{session_id}"): _on_session(""),
    ("PATCH", "/sessions/{session_id}"): _on_session("", {"domain": "networking"}),
    ("POST", "/sessions/{session_id}/entries"): _on_session(
        "/entries", {"entry_type": "gotcha", "content": {"description": "careful"}}
    ),
    ("POST", "/sessions/{session_id}/close"): _on_session("/close"),
    ("POST", "/sessions/{session_id}/abandon"): _on_session("/abandon"),
    ("POST", "/sessions/{session_id}/contribute"): _on_session(
        "/contribute", {"contribution_type": "suggestion", "content": {"text": "try this"}}
    ),
    ("GET", "/sessions/{session_id}/contributions"): _on_session("/contributions"),
    ("POST", "/experiences/search"): _search,
    ("POST", "/experiences"): _fixed("/experiences", {"goal": "a new experience"}),
    ("GET", "/experiences"): lambda w: _listing(w, "/experiences"),
    ("GET", "/experiences/{identifier}"): _on_experience(""),
    ("GET", "/experiences/{identifier}/similar"): _on_experience("/similar"),
    ("POST", "/experiences/{identifier}/publish"): _publish,
    ("POST", "/experiences/{identifier}/archive"): _on_experience("/archive"),
    ("POST", "/experiences/{identifier}/unarchive"): _on_experience("/unarchive"),
    ("POST", "/experiences/{identifier}/acquire"): _on_experience("/acquire", {"mode": "summary"}),
    ("POST", "/experiences/{identifier}/outcome"): _on_experience("/outcome", {"success": True}),
    ("POST", "/experiences/{identifier}/vote"): _on_experience("/vote", {"vote_type": "up"}),
    ("GET", "/errors/{signature}"): _errors,
    ("GET", "/pulse/status"): _status,
    ("GET", "/pulse/inbox"): _fixed("/pulse/inbox"),
    ("POST", "/pulse/inbox/mark-read"): _fixed("/pulse/inbox/mark-read", {"mark_all": True}),
    ("GET", "/pulse/subscriptions"): _fixed("/pulse/subscriptions"),
    ("PUT", "/pulse/subscriptions"): _fixed("/pulse/subscriptions", {"topics": ["docker"]}),
}


def sees(route: tuple[str, str], w: World, body: Any) -> str:
    """Whether the owner's target shows in the answer, for routes where that is the question."""
    target_session, target_exp = w.session_id, w.short_id
    match route:
        case ("GET", "/agents/me"):
            return _yes(body["id"] == w.owner.id)
        case ("GET", "/agents/{agent_id}/profile"):
            return _yes(body["stats"]["sessions_opened"] >= 1)
        case ("GET", "/sessions"):
            return _yes(any(s["session_id"] == target_session for s in body["sessions"]))
        case ("GET", "/sessions/{session_id}"):
            return _yes(body["entries"] is not None)
        case ("POST", "/experiences/search"):
            return _yes(any(e["short_id"] == target_exp for e in body["results"]))
        case ("GET", "/errors/{signature}"):
            return _yes(any(e["short_id"] == target_exp for e in body["experiences"]))
        case ("GET", "/experiences"):
            return _yes(any(e["short_id"] == target_exp for e in body["experiences"]))
        case ("GET", "/pulse/status"):
            cards = body["active_sessions"]["sessions"]
            return _yes(any(s["session_id"] == target_session for s in cards))
    return ""


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def load_table() -> list[dict[str, str]]:
    lines = [line for line in TABLE.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def test_table_covers_every_route_caller_and_visibility() -> None:
    rows = load_table()
    routes = {(e.method, e.path) for e in endpoints()} | EXTRA_ROUTES
    assert {(r["method"], r["path"]) for r in rows} == routes
    assert set(CALLS) == routes
    keys = [(r["method"], r["path"], r["caller"], r["visibility"]) for r in rows]
    assert len(keys) == len(set(keys)) == len(routes) * len(CALLERS) * len(VISIBILITIES)


async def test_authorization_matrix(client: httpx.AsyncClient, register: Register) -> None:
    mismatches = []
    rows = load_table()
    for n, row in enumerate(rows):
        route = (row["method"], row["path"])
        world = World(
            client,
            await register(),
            await register(),
            row["visibility"],
            topic=f"Matrix row {n} {uuid.uuid4().hex[:10]} tuning nginx keepalive",
        )
        path, body = await CALLS[route](world)
        headers = {"anonymous": {}, "owner": world.owner.headers, "other": world.other.headers}
        r = await client.request(row["method"], path, json=body, headers=headers[row["caller"]])
        got_sees = sees(route, world, r.json()) if r.status_code == 200 else ""
        if (r.status_code, got_sees) != (int(row["status"]), row["sees"]):
            mismatches.append(
                f"{row['method']} {row['path']} as {row['caller']} on {row['visibility']}: "
                f"expected {row['status']} {row['sees']!r}, got {r.status_code} {got_sees!r}"
                f" {r.text[:120]}"
            )
    assert not mismatches, "\n".join(mismatches)
