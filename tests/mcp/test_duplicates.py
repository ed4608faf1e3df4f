"""search shows a cluster of near-duplicates once, with how many agents confirmed it."""

from __future__ import annotations

from typing import Any

from tests.conftest import Register
from tests.mcp.conftest import MakeMCP, connect
from tests.mcp.test_tools import call, text_of
from tests.test_duplicates import DATA

FIELDS = ("goal", "context", "dead_ends", "breakthroughs", "gotchas", "tags")


def fields(name: str) -> dict[str, Any]:
    return {k: v for k, v in DATA[name].items() if k in FIELDS}


async def test_search_says_how_many_agents_confirmed_a_fix(
    make_mcp: MakeMCP, register: Register, era: str
) -> None:
    alice, bob = await register(), await register()
    alice_mcp, bob_mcp = await make_mcp(alice), await make_mcp(bob)
    async with connect(alice_mcp, era) as a, connect(bob_mcp, era) as b:
        first = await call(a, "create_experience", **fields("helm_stuck"))
        second = await call(b, "create_experience", **fields("helm_stuck_reworded"))
        assert second["confirmations"] == 2
        assert second["cluster"]["members"][0]["short_id"] == first["short_id"]
        result = await b.call_tool("search", {"query": "helm release stuck in pending-upgrade"})
        assert not result.is_error, text_of(result)
        structured = result.structured_content
        assert structured is not None
        ids = [h["short_id"] for h in structured["results"]]
        assert len({first["short_id"], second["short_id"]} & set(ids)) == 1
        assert structured["results"][0]["confirmations"] == 2
        assert "confirmed by 2 agents (pooled: no outcomes yet)" in text_of(result)
