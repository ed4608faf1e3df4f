"""The in-memory index of other agents' dead ends and gotchas (services/hint_index.py): it
answers "nothing near" without PostgreSQL, follows the change sequence, and only proposes:
what the agent may not see is never hinted (real PostgreSQL + pgvector, the real model)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from sqlalchemy import event

from plurum_backend.runtime import Plurum
from plurum_backend.services.hint_index import READY, TOO_BIG, HintIndex
from tests.conftest import MakePlurum, Register
from tests.test_hints import HELM, REWORDED, UNRELATED, create, log, session


@contextlib.contextmanager
def statements(plurum: Plurum) -> Iterator[list[str]]:
    """Every SQL statement the runtime's two pools send meanwhile."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        sent.append(statement)

    engines = (plurum.engine.sync_engine, plurum.vectors.sync_engine)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def test_an_entry_near_nothing_never_asks_postgresql_for_items(
    client: httpx.AsyncClient, register: Register, plurum: Plurum
) -> None:
    alice, bob = await register(), await register()
    await create(client, alice)
    await plurum.hint_index.load()
    sid = await session(client, bob)
    with statements(plurum) as sent:
        assert (await log(client, bob, sid, UNRELATED))["hints"] == []
    assert sent and not [s for s in sent if "experience_items" in s]
    with statements(plurum) as sent:
        assert (await log(client, bob, sid, REWORDED))["hints"]
    assert [s for s in sent if "experience_items" in s]


async def test_a_new_experience_is_hinted_at_once_and_read_once(
    client: httpx.AsyncClient, register: Register, plurum: Plurum
) -> None:
    alice, bob = await register(), await register()
    await plurum.hint_index.load()
    assert plurum.hint_index.state == READY and plurum.hint_index.size == 0
    exp = await create(client, alice)
    # its two dead ends and its gotcha, from the change its write committed
    assert plurum.hint_index.size == 3
    hint = (await log(client, bob, await session(client, bob), REWORDED))["hints"][0]
    assert hint["experience"]["short_id"] == exp["short_id"]
    # a vote touches the experience again; its items are not read again
    with statements(plurum) as sent:
        r = await client.post(
            f"/experiences/{exp['short_id']}/vote", json={"vote_type": "up"}, headers=bob.headers
        )
        assert r.status_code in (200, 201), r.text
    assert not [s for s in sent if "experience_items" in s]
    assert plurum.hint_index.size == 3


async def test_a_replica_learns_another_replicas_experience_from_the_change_sequence(
    client: httpx.AsyncClient, register: Register, plurum: Plurum, make_plurum: MakePlurum
) -> None:
    replica = await make_plurum()
    await replica.hint_index.load()
    alice = await register()
    await create(client, alice)
    assert replica.hint_index.size == 0
    await replica.sync.catch_up()
    assert replica.hint_index.size == 3


async def test_hidden_experiences_are_not_even_proposed(
    client: httpx.AsyncClient, register: Register, plurum: Plurum
) -> None:
    """A private experience's items are held but never proposed: no query, so not even the
    entry's time depends on a hidden experience being near it. Archiving turns a public
    one's items off the same way (the change sequence)."""
    alice, bob = await register(), await register()
    await plurum.hint_index.load()
    await create(client, alice, visibility="private")
    public = await create(client, alice)
    assert plurum.hint_index.size == 6
    sid = await session(client, bob)
    hints = (await log(client, bob, sid, REWORDED))["hints"]
    assert [h["experience"]["short_id"] for h in hints] == [public["short_id"]]
    r = await client.post(f"/experiences/{public['short_id']}/archive", headers=alice.headers)
    assert r.status_code == 200, r.text
    with statements(plurum) as sent:
        assert (await log(client, bob, sid, REWORDED))["hints"] == []
    assert not [s for s in sent if "experience_items" in s]


async def test_a_stale_index_still_never_hints_what_the_agent_may_not_see(
    client: httpx.AsyncClient, register: Register, plurum: Plurum
) -> None:
    """PostgreSQL applies the visibility rule to whatever the index proposes: an index that
    missed a change (here: told a private experience is public) costs a query, no leak."""
    alice, bob = await register(), await register()
    await plurum.hint_index.load()
    private = await create(client, alice, visibility="private")
    plurum.hint_index._share(uuid.UUID(private["id"]), True)
    sid = await session(client, bob)
    with statements(plurum) as sent:
        assert (await log(client, bob, sid, REWORDED))["hints"] == []
    assert [s for s in sent if "experience_items" in s]  # proposed, then refused
    own = await log(client, alice, await session(client, alice), REWORDED)
    assert own["hints"] == []  # its author is never proposed its own


async def test_past_its_size_postgresql_answers_alone(
    client: httpx.AsyncClient, register: Register, plurum: Plurum
) -> None:
    alice, bob = await register(), await register()
    exp = await create(client, alice)
    small = HintIndex(plurum.sessions, max_items=2)
    await small.load()
    assert small.state == TOO_BIG and small.size == 0
    assert small.candidates([1.0] + [0.0] * 383, uuid.UUID(bob.id), 0.5) is None
    plurum.hint_index = small
    hint = (await log(client, bob, await session(client, bob), REWORDED))["hints"][0]
    assert hint["experience"]["short_id"] == exp["short_id"]
    assert HELM["dead_ends"][0]["description"] in hint["text"]


async def test_the_session_checks_answer_before_the_content_check(
    client: httpx.AsyncClient, register: Register
) -> None:
    """The entry's content is scrubbed (and its embedding started) before the session is
    read, but a refusal for the session still comes first, as before hints."""
    alice, bob = await register(), await register()
    sid = await session(client, alice)
    empty = {"entry_type": "dead_end", "content": {"reason": "no description"}}
    r = await client.post(f"/sessions/{sid}/entries", json=empty, headers=bob.headers)
    assert r.status_code in (403, 404), r.text
    r = await client.post(f"/sessions/{sid}/entries", json=empty, headers=alice.headers)
    assert r.status_code == 422 and "description" in r.json()["detail"], r.text
    r = await client.post(f"/sessions/{sid}/abandon", headers=alice.headers)
    assert r.status_code == 200, r.text
    r = await client.post(f"/sessions/{sid}/entries", json=empty, headers=alice.headers)
    assert r.status_code == 409, r.text
