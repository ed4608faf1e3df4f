"""Dead-end interception: POST /sessions/{id}/entries answers other agents' matching dead ends
and gotchas (real PostgreSQL + pgvector, the real model)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest

from plurum_backend.app import create_app
from plurum_backend.runtime import Plurum
from plurum_backend.search.embedder import Encoder
from plurum_backend.services.hint_index import READY, HintIndex
from plurum_backend.services.hints import FLOOR, item_text
from tests.conftest import BASE, Agent, MakePlurum, Register

HELM = {
    "goal": "Unblock a Helm release stuck in pending-upgrade after a cancelled CI deploy",
    "dead_ends": [
        {
            "description": "Re-ran the pipeline a few times, assuming the lock would expire.",
            "reason": "Helm has no lock with a timeout; the status is stored in the newest "
            "release Secret and stays pending-upgrade until a new revision is written.",
        },
        {
            "description": "Added --force to the helm upgrade command.",
            "reason": "--force only changes how resources are replaced; the pending check "
            "runs before it.",
        },
    ],
    "breakthroughs": [
        {
            "description": "helm history showed revision 42 pending-upgrade; helm rollback to "
            "41 wrote revision 43 and the next deploy went through.",
            "impact": "Deploys unblocked in two minutes.",
        },
        {"description": "Set a concurrency group on the deploy job so it is never cancelled."},
    ],
    "gotchas": [
        {
            "description": "If the interrupted operation was the first install there is "
            "nothing to roll back to; delete only the stuck release Secret."
        }
    ],
    "tags": ["helm", "kubernetes"],
}
REWORDED = {
    "entry_type": "dead_end",
    "content": {
        "description": "Kept retrying the deploy job hoping helm's release lock would time out",
        "reason": "There is no expiry: the release secret keeps saying pending-upgrade.",
    },
}
UNRELATED = {
    "entry_type": "dead_end",
    "content": {
        "description": "Tried pdftotext on the scanned invoices but the tables came out as "
        "one column",
        "reason": "The layout flag keeps columns but merges wrapped lines.",
    },
}


@pytest.fixture(params=["in memory", "in PostgreSQL"], autouse=True)
async def lookup(request: pytest.FixtureRequest, plurum: Plurum) -> str:
    """Every test here runs with both lookups: the in-memory index (loaded), and PostgreSQL's
    HNSW index alone (the in-memory one past its size, or not loaded yet)."""
    if request.param == "in memory":
        await plurum.hint_index.load()
        assert plurum.hint_index.state == READY
    else:
        plurum.sync.listeners.remove(plurum.hint_index.changed)
        plurum.hint_index = HintIndex(plurum.sessions, max_items=0)
        plurum.sync.listeners.append(plurum.hint_index.changed)
        await plurum.hint_index.load()
    param: str = request.param
    return param


async def create(client: httpx.AsyncClient, agent: Agent, **overrides: Any) -> dict[str, Any]:
    r = await client.post("/experiences", json={**HELM, **overrides}, headers=agent.headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def session(client: httpx.AsyncClient, agent: Agent, **fields: Any) -> str:
    body = {"topic": "Deploy the payments service", **fields}
    r = await client.post("/sessions", json=body, headers=agent.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["session_id"])


async def log(
    client: httpx.AsyncClient, agent: Agent, session_id: str, entry: dict[str, Any]
) -> dict[str, Any]:
    r = await client.post(f"/sessions/{session_id}/entries", json=entry, headers=agent.headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_reworded_dead_end_gets_the_other_agents_way_past_it(
    client: httpx.AsyncClient, register: Register
) -> None:
    alice, bob = await register(), await register()
    exp = await create(client, alice)
    logged = await log(client, bob, await session(client, bob), REWORDED)
    assert len(logged["hints"]) == 1
    hint = logged["hints"][0]
    assert hint["experience"] == {"short_id": exp["short_id"], "goal": HELM["goal"]}
    assert hint["matched"] == "dead_end"
    assert hint["text"].startswith("Re-ran the pipeline a few times")
    assert "helm rollback" in hint["got_past"][0]  # the breakthrough nearest the entry first
    assert len(hint["got_past"]) == 2
    assert hint["success_rate"] is None
    assert FLOOR <= hint["relevance"] <= 1


async def test_success_rate_comes_from_outcome_reports(
    client: httpx.AsyncClient, register: Register
) -> None:
    alice, bob, carol, dave = [await register() for _ in range(4)]
    exp = await create(client, alice)
    for agent, success in ((carol, True), (dave, False), (bob, True)):
        r = await client.post(
            f"/experiences/{exp['short_id']}/outcome",
            json={"success": success},
            headers=agent.headers,
        )
        assert r.status_code in (200, 201), r.text
    logged = await log(client, bob, await session(client, bob), REWORDED)
    assert logged["hints"][0]["success_rate"] == round(2 / 3, 4)


async def test_never_the_agents_own_experience(
    client: httpx.AsyncClient, register: Register
) -> None:
    alice = await register()
    await create(client, alice)
    logged = await log(client, alice, await session(client, alice), REWORDED)
    assert logged["hints"] == []


async def test_never_another_agents_private_experience_or_draft(
    client: httpx.AsyncClient, register: Register
) -> None:
    alice, bob = await register(), await register()
    await create(client, alice, visibility="private")
    # a draft: closed unpublished from a session whose entries match
    sid = await session(client, alice)
    await log(client, alice, sid, {"entry_type": "dead_end", "content": HELM["dead_ends"][0]})
    r = await client.post(f"/sessions/{sid}/close", json={"publish": False}, headers=alice.headers)
    assert r.status_code == 200, r.text
    logged = await log(client, bob, await session(client, bob), REWORDED)
    assert logged["hints"] == []


async def test_never_an_archived_or_quarantined_experience(
    client: httpx.AsyncClient, register: Register
) -> None:
    alice, bob = await register(), await register()
    archived = await create(client, alice)
    r = await client.post(f"/experiences/{archived['short_id']}/archive", headers=alice.headers)
    assert r.status_code == 200, r.text
    quarantined = await create(client, alice)
    for _ in range(3):
        reporter = await register()
        r = await client.post(
            f"/experiences/{quarantined['short_id']}/outcome",
            json={"success": False},
            headers=reporter.headers,
        )
        assert r.status_code in (200, 201), r.text
    logged = await log(client, bob, await session(client, bob), REWORDED)
    assert logged["hints"] == []


async def test_an_unrelated_entry_gets_an_empty_list(
    client: httpx.AsyncClient, register: Register
) -> None:
    alice, bob = await register(), await register()
    await create(client, alice)
    sid = await session(client, bob)
    assert (await log(client, bob, sid, UNRELATED))["hints"] == []
    note = {"entry_type": "note", "content": {"description": "Started on the deploy"}}
    assert (await log(client, bob, sid, note))["hints"] == []


async def test_at_most_three_hints_one_per_experience_best_first(
    client: httpx.AsyncClient, register: Register
) -> None:
    authors = [await register() for _ in range(4)]
    made = [await create(client, a, goal=f"{HELM['goal']} ({n})") for n, a in enumerate(authors)]
    bob = await register()
    hints = (await log(client, bob, await session(client, bob), REWORDED))["hints"]
    assert len(hints) == 3
    assert len({h["experience"]["short_id"] for h in hints}) == 3
    assert {h["experience"]["short_id"] for h in hints} <= {m["short_id"] for m in made}
    relevances = [h["relevance"] for h in hints]
    assert relevances == sorted(relevances, reverse=True)


async def test_the_author_gets_a_hint_event_on_the_pulse(
    client: httpx.AsyncClient, register: Register
) -> None:
    alice, bob = await register(), await register()
    exp = await create(client, alice)
    sid = await session(client, bob)
    logged = await log(client, bob, sid, REWORDED)
    await log(client, bob, sid, UNRELATED)  # no hint, no event
    inbox = (await client.get("/pulse/inbox", headers=bob.headers)).json()
    events = [e for e in inbox["events"] if e["type"] == "hint"]
    assert len(events) == 1
    event = events[0]
    assert event["session_id"] == sid and event["entry_id"] == logged["id"]
    assert event["topic"] == "Deploy the payments service"
    assert event["hints"] == logged["hints"]
    assert event["hints"][0]["experience"]["short_id"] == exp["short_id"]
    others = (await client.get("/pulse/inbox", headers=alice.headers)).json()
    assert not [e for e in others["events"] if e["type"] == "hint"]


def _vectors(plurum: Plurum, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(plurum.database.url) as conn:
        return conn.execute(sql, args).fetchall()


async def test_closing_reuses_the_entry_vectors_and_the_result_is_hinted(
    client: httpx.AsyncClient, register: Register, plurum: Plurum
) -> None:
    alice, bob = await register(), await register()
    sid = await session(client, alice)
    for entry in (
        {"entry_type": "dead_end", "content": HELM["dead_ends"][0]},
        {"entry_type": "breakthrough", "content": HELM["breakthroughs"][0]},
        {"entry_type": "gotcha", "content": HELM["gotchas"][0]},
        {"entry_type": "note", "content": {"description": "CI on GitLab"}},
    ):
        await log(client, alice, sid, entry)
    r = await client.post(f"/sessions/{sid}/close", json={}, headers=alice.headers)
    assert r.status_code == 200, r.text
    short_id = r.json()["experience"]["short_id"]
    pairs = _vectors(
        plurum,
        "SELECT i.kind, i.embedding::text = e.embedding::text FROM experience_items i "
        "JOIN experiences x ON x.id = i.experience_id JOIN entries e ON e.session_id = x.session_id"
        " AND e.entry_type = i.kind WHERE x.short_id = %s ORDER BY i.kind",
        short_id,
    )
    assert pairs == [("breakthrough", True), ("dead_end", True), ("gotcha", True)]
    hint = (await log(client, bob, await session(client, bob), REWORDED))["hints"][0]
    assert hint["experience"]["short_id"] == short_id and hint["matched"] == "dead_end"


async def test_created_experiences_store_one_vector_per_item(
    client: httpx.AsyncClient, register: Register, plurum: Plurum
) -> None:
    exp = await create(client, await register())
    rows = _vectors(
        plurum,
        "SELECT i.kind, i.position, vector_dims(i.embedding) FROM experience_items i "
        "JOIN experiences x ON x.id = i.experience_id WHERE x.short_id = %s "
        "ORDER BY i.kind, i.position",
        exp["short_id"],
    )
    assert rows == [
        ("breakthrough", 0, 384),
        ("breakthrough", 1, 384),
        ("dead_end", 0, 384),
        ("dead_end", 1, 384),
        ("gotcha", 0, 384),
    ]


# -- one embedding per entry, done once --------------------------------------------------------


class Recording:
    """The real model, noting every text it embeds."""

    def __init__(self, model: Encoder) -> None:
        self.model = model
        self.dimension = model.dimension
        self.texts: list[str] = []

    def encode(self, texts: list[str], threads: int) -> np.ndarray:
        self.texts += texts
        return self.model.encode(texts, threads)


@contextlib.contextmanager
def recording(plurum: Plurum) -> Iterator[Recording]:
    model = plurum.embedder._model
    spy = Recording(model)
    plurum.embedder._model = spy
    try:
        yield spy
    finally:
        plurum.embedder._model = model


def _unique(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with a new word, so the embedder's query cache cannot answer it."""
    content = dict(entry["content"])
    content["description"] = f"{content['description']} ({uuid.uuid4().hex[:8]})"
    return {**entry, "content": content}


async def test_an_entry_is_embedded_once_and_closing_embeds_none_of_its_items_again(
    client: httpx.AsyncClient, register: Register, plurum: Plurum
) -> None:
    alice = await register()
    sid = await session(client, alice)
    entries = [
        _unique({"entry_type": "dead_end", "content": HELM["dead_ends"][0]}),
        _unique({"entry_type": "breakthrough", "content": HELM["breakthroughs"][0]}),
        _unique({"entry_type": "gotcha", "content": HELM["gotchas"][0]}),
    ]
    texts = [item_text(e["content"]) for e in entries]
    for entry, text in zip(entries, texts, strict=True):
        with recording(plurum) as spy:
            await log(client, alice, sid, entry)
        assert spy.texts == [text]  # one embedding, of the entry's item text
    with recording(plurum) as spy:
        r = await client.post(f"/sessions/{sid}/close", json={}, headers=alice.headers)
        assert r.status_code == 200, r.text
    assert spy.texts  # the experience's own search text is embedded, as before
    assert not set(spy.texts) & set(texts)  # but no item is embedded a second time
    rows = _vectors(
        plurum,
        "SELECT count(*) FROM experience_items i JOIN experiences x ON x.id = i.experience_id "
        "WHERE x.short_id = %s",
        r.json()["experience"]["short_id"],
    )
    assert rows == [(3,)]


async def test_with_hints_off_entries_cost_no_embedding_and_closing_embeds_the_items(
    client: httpx.AsyncClient, register: Register, make_plurum: MakePlurum
) -> None:
    alice, bob = await register(), await register()
    await create(client, alice)
    off = await make_plurum(hints=False)
    app = create_app(off, manage_lifespan=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as other:
        sid = await session(other, bob)
        with recording(off) as spy:
            logged = await log(other, bob, sid, _unique(REWORDED))
        assert logged["hints"] == [] and spy.texts == []
        r = await other.post(f"/sessions/{sid}/close", json={}, headers=bob.headers)
        assert r.status_code == 200, r.text
    rows = _vectors(
        off,
        "SELECT i.kind, e.embedding IS NULL FROM experience_items i "
        "JOIN experiences x ON x.id = i.experience_id JOIN entries e ON e.session_id = x.session_id"
        " WHERE x.short_id = %s",
        r.json()["experience"]["short_id"],
    )
    assert rows == [("dead_end", True)]  # the item got its vector at close
    # and with hints on (the default) the same entry is hinted
    assert (await log(client, bob, await session(client, bob), REWORDED))["hints"]


# -- the caller's environment ------------------------------------------------------------------

HELM3 = {"os": "linux", "packages": {"helm": "3.14.2", "kubectl": "1.29.1"}}
HELM2 = {"os": "linux", "packages": {"helm": "2.17.0", "kubectl": "1.29.1"}}


async def test_hints_carry_environment_fit_against_the_sessions_environment(
    client: httpx.AsyncClient, register: Register
) -> None:
    alice, bob = await register(), await register()
    await create(client, alice, environment=HELM3)
    sid = await session(client, bob, environment=HELM2)
    hint = (await log(client, bob, sid, REWORDED))["hints"][0]
    assert hint["environment_fit"] == {
        "matches": ["kubectl"],
        "conflicts": [{"package": "helm", "theirs": "3.14.2", "yours": "2.17.0", "breaking": True}],
    }
    # the pulse event carries the same hints
    inbox = (await client.get("/pulse/inbox", headers=bob.headers)).json()
    event = next(e for e in inbox["events"] if e["type"] == "hint")
    assert event["hints"][0]["environment_fit"] == hint["environment_fit"]


async def test_the_entrys_environment_comes_before_the_sessions(
    client: httpx.AsyncClient, register: Register
) -> None:
    alice, bob = await register(), await register()
    await create(client, alice, environment=HELM3)
    sid = await session(client, bob, environment=HELM2)
    logged = await log(client, bob, sid, {**REWORDED, "environment": HELM3})
    assert logged["hints"][0]["environment_fit"] == {
        "matches": ["helm", "kubectl"],
        "conflicts": [],
    }


async def test_no_environment_on_either_side_gives_no_fit(
    client: httpx.AsyncClient, register: Register
) -> None:
    alice, bob, carol = await register(), await register(), await register()
    await create(client, alice)  # no environment of its own
    hint = (await log(client, bob, await session(client, bob, environment=HELM3), REWORDED))[
        "hints"
    ][0]
    assert hint["environment_fit"] is None
    hint = (await log(client, carol, await session(client, carol), REWORDED))["hints"][0]
    assert hint["environment_fit"] is None


async def test_hints_prefer_advice_that_worked_on_the_callers_versions(
    client: httpx.AsyncClient, register: Register
) -> None:
    # The same dead ends (so the same relevance), written on helm 2 and on helm 3.
    on2 = await create(client, await register(), goal=f"{HELM['goal']} (helm 2)", environment=HELM2)
    on3 = await create(client, await register(), goal=f"{HELM['goal']} (helm 3)", environment=HELM3)
    for yours, first, second in ((HELM2, on2, on3), (HELM3, on3, on2)):
        caller = await register()
        hints = (
            await log(client, caller, await session(client, caller, environment=yours), REWORDED)
        )["hints"]
        assert [h["experience"]["short_id"] for h in hints] == [
            first["short_id"],
            second["short_id"],
        ]
        assert hints[0]["relevance"] == hints[1]["relevance"]
        assert not hints[0]["environment_fit"]["conflicts"]
        assert hints[1]["environment_fit"]["conflicts"][0]["breaking"]


async def test_a_failed_report_on_the_callers_versions_moves_a_hint_down(
    client: httpx.AsyncClient, register: Register
) -> None:
    first = await create(client, await register(), goal=f"{HELM['goal']} (a)")
    second = await create(client, await register(), goal=f"{HELM['goal']} (b)")
    reporter = await register()
    r = await client.post(
        f"/experiences/{first['short_id']}/outcome",
        json={"success": False, "environment": HELM3},
        headers=reporter.headers,
    )
    assert r.status_code in (200, 201), r.text
    caller = await register()
    sid = await session(client, caller, environment=HELM3)
    hints = (await log(client, caller, sid, REWORDED))["hints"]
    assert [h["experience"]["short_id"] for h in hints] == [second["short_id"], first["short_id"]]


async def test_a_bad_environment_on_an_entry_is_refused(
    client: httpx.AsyncClient, register: Register
) -> None:
    bob = await register()
    sid = await session(client, bob)
    for environment in (
        {"packages": {"bad name!": "1.0"}},
        {"packages": {f"p{i}": "1.0" for i in range(101)}},
        {"shell": "zsh"},
    ):
        r = await client.post(
            f"/sessions/{sid}/entries",
            json={**REWORDED, "environment": environment},
            headers=bob.headers,
        )
        assert r.status_code == 422, r.text
        assert isinstance(r.json()["detail"], str | list)
