"""The two resources: plurum://experiences/{identifier} and plurum://pulse."""

from __future__ import annotations

import json

import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import TextResourceContents

from tests.conftest import Register
from tests.mcp.conftest import MakeMCP, connect
from tests.mcp.test_tools import call


async def test_resources_list_and_read(make_mcp: MakeMCP, register: Register, era: str) -> None:
    async with connect(await make_mcp(await register()), era) as client:
        listed = [str(r.uri) for r in (await client.list_resources()).resources]
        assert listed == ["plurum://pulse"]
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["plurum://experiences/{identifier}"]

        created = await call(client, "create_experience", goal="Speed up CI with a uv cache",
                             breakthroughs=["Cache ~/.cache/uv keyed on uv.lock"])  # fmt: skip
        for identifier in (created["short_id"], created["slug"]):
            read = await client.read_resource(f"plurum://experiences/{identifier}")
            content = read.contents[0]
            assert isinstance(content, TextResourceContents)
            assert content.mime_type == "application/json"
            body = json.loads(content.text)
            assert body["short_id"] == created["short_id"]
            assert body["trust"]["third_party"] is True

        pulse = (await client.read_resource("plurum://pulse")).contents[0]
        assert isinstance(pulse, TextResourceContents)
        body = json.loads(pulse.text)
        assert set(body) == {"listener", "pending_events", "events", "trust"}


async def test_unknown_experience_is_a_not_found_error(
    make_mcp: MakeMCP, register: Register, era: str
) -> None:
    async with connect(await make_mcp(await register()), era) as client:
        with pytest.raises(MCPError, match="not found"):
            await client.read_resource("plurum://experiences/Zz9Zz9Zz")
