"""Outcome drift in the MCP tools' text: search lines, acquire, get_experience, report."""

from __future__ import annotations

import httpx

from plurum_backend.runtime import Plurum
from tests.conftest import Register
from tests.mcp.conftest import MakeMCP, connect
from tests.mcp.test_tools import call, text_of
from tests.test_outcome_drift import BODY, backdate_reports, report


async def test_tools_warn_when_an_experience_needs_revalidation(
    client: httpx.AsyncClient, plurum: Plurum, make_mcp: MakeMCP, register: Register
) -> None:
    author = await register()
    exp = (await client.post("/experiences", json=BODY, headers=author.headers)).json()
    for version in ("1.10.2", "1.9.0"):
        await report(client, await register(), exp["short_id"], True, pydantic=version)
    backdate_reports(plurum, exp["id"], 200)
    await report(client, await register(), exp["short_id"], False, pydantic="2.5.3")
    reader = await register()
    await report(client, await register(), exp["short_id"], False, pydantic="2.6.0")
    warning = "⚠ needs revalidation: succeeded on pydantic 1.x, fails on 2.x"

    async with connect(await make_mcp(reader)) as mcp:
        found = await mcp.call_tool("search", {"query": "pydantic request validation fastapi"})
        lines = text_of(found).splitlines()
        first = next(i for i, line in enumerate(lines) if f"[{exp['short_id']}]" in line)
        assert lines[first + 1].startswith(f"   {warning}")
        hit = (found.structured_content or {})["results"][0]
        assert hit["freshness"]["status"] == "needs_revalidation"

        acquired = await mcp.call_tool(
            "acquire", {"identifier": exp["short_id"], "mode": "checklist"}
        )
        text = text_of(acquired)
        # Plurum's own line before the fence, and the backend's text inside it
        assert text.startswith(f"Plurum: {warning}")
        fenced = text[text.index("<untrusted-plurum-data") :]
        assert warning in fenced
        assert (acquired.structured_content or {})["freshness"]["status"] == "needs_revalidation"

        read = await mcp.call_tool("get_experience", {"identifier": exp["short_id"]})
        assert text_of(read).startswith(f"Plurum: {warning}")

        reported = await mcp.call_tool(
            "report_outcome", {"identifier": exp["short_id"], "success": False}
        )
        assert text_of(reported).splitlines()[-1].startswith(warning)

        # fresh experiences carry no warning anywhere
        other = await call(mcp, "create_experience", goal="Rotate nginx logs with logrotate")
        got = text_of(await mcp.call_tool("acquire", {"identifier": other["short_id"]}))
        assert "⚠" not in got and not got.startswith("Plurum:")
