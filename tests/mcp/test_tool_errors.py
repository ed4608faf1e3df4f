"""Every tool's failure comes back as a tool error carrying the backend's own detail."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from mcp.types import CallToolResult

from plurum_mcp.config import Settings
from plurum_mcp.server import create_server
from tests.conftest import Register
from tests.mcp.conftest import MakeMCP, connect
from tests.mcp.test_tools import call, text_of

UNKNOWN_SESSION = str(uuid.uuid4())


def assert_tool_error(result: CallToolResult, *fragments: str) -> None:
    text = text_of(result)
    assert result.is_error, text
    for fragment in fragments:
        assert fragment.lower() in text.lower(), text


async def test_each_tool_reports_the_backends_detail(
    make_mcp: MakeMCP, register: Register, era: str
) -> None:
    alice, bob = await register("alice"), await register("bob")
    async with connect(await make_mcp(alice), era) as a, connect(await make_mcp(bob), era) as b:
        own = (await call(a, "open_session", topic="Tune autovacuum"))["session_id"]
        empty = (await call(a, "open_session", topic="Nothing logged here"))["session_id"]
        cases: list[tuple[Any, str, dict[str, Any], tuple[str, ...]]] = [
            (a, "log_entry", {"session_id": UNKNOWN_SESSION, "entry_type": "note",
                              "description": "x"}, ("404", "not found")),
            (b, "log_entry", {"session_id": own, "entry_type": "note", "description": "x"},
             ("403",)),
            (a, "close_session", {"session_id": empty}, ("409", "abandon")),
            (a, "abandon_session", {"session_id": UNKNOWN_SESSION}, ("404",)),
            (a, "get_session", {"session_id": UNKNOWN_SESSION}, ("404",)),
            (a, "contribute", {"session_id": own, "contribution_type": "suggestion",
                               "reasoning": "self"}, ("400",)),
            (a, "get_experience", {"identifier": "Zz9Zz9Zz"}, ("404", "not found")),
            (a, "acquire", {"identifier": "Zz9Zz9Zz"}, ("404",)),
            (a, "report_outcome", {"identifier": "Zz9Zz9Zz", "success": True}, ("404",)),
            (a, "vote", {"identifier": "Zz9Zz9Zz", "vote_type": "up"}, ("404",)),
            (a, "create_experience", {"goal": "x", "artifacts": [{"language": "py"}]},
             ("422", "artifact needs")),
            (a, "search", {"query": "x", "limit": 0}, ("limit",)),
            (a, "open_session", {"topic": ""}, ("topic",)),
            (a, "list_sessions", {"limit": 101}, ("limit",)),
            (a, "pulse", {"since": -1}, ("since",)),
        ]  # fmt: skip
        for client, name, arguments, fragments in cases:
            result = await client.call_tool(name, arguments)
            assert_tool_error(result, *fragments)
        # Closing twice: the second answer is the backend's 409, not a crash.
        await call(a, "log_entry", session_id=own, entry_type="note", description="x")
        await call(a, "close_session", session_id=own)
        assert_tool_error(await a.call_tool("close_session", {"session_id": own}), "409")


async def test_without_a_key_tools_explain_how_to_get_one(
    make_mcp: MakeMCP, register: Register, era: str
) -> None:
    async with connect(await make_mcp(None), era) as client:
        no_key_calls: list[tuple[str, dict[str, Any]]] = [
            ("whoami", {}),
            ("open_session", {"topic": "x"}),
            ("list_sessions", {}),
            ("acquire", {"identifier": "Ab3xKp9z"}),
            ("report_outcome", {"identifier": "Ab3xKp9z", "success": False}),
            ("pulse", {}),
        ]
        for name, arguments in no_key_calls:
            assert_tool_error(
                await client.call_tool(name, arguments),
                "needs a Plurum API key",
                "plurum register --name",
                "PLURUM_API_KEY",
            )
        # Public reads still work without a key.
        assert (await call(client, "search", query="anything"))["results"] == []


async def test_a_refused_key_says_so(make_mcp: MakeMCP, register: Register) -> None:
    agent = await register()
    agent.key = "plrm_live_" + "x" * 32
    async with connect(await make_mcp(agent)) as client:
        assert_tool_error(await client.call_tool("whoami", {}), "401", "not accepted")


async def test_a_backend_that_is_down_is_a_clear_tool_error(tmp_path: Path, era: str) -> None:
    settings = Settings(
        api_url="http://127.0.0.1:9/api/v1",
        api_key="plrm_live_" + "a" * 32,
        data_dir=tmp_path,
        api_url_from_env=True,
        pulse=False,
    )
    app = create_server(settings)
    try:
        async with connect(app, era) as client:
            for name, arguments in [("search", {"query": "x"}), ("whoami", {})]:
                assert_tool_error(
                    await client.call_tool(name, arguments),
                    "Cannot reach the Plurum backend at http://127.0.0.1:9/api/v1",
                    "plurum serve",
                )
    finally:
        await app.aclose()
