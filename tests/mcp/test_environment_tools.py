"""The MCP server sends its project's environment, shows it in whoami, and can be told not to."""

from __future__ import annotations

from pathlib import Path

import psycopg

from plurum_backend.runtime import Plurum
from tests.conftest import Register
from tests.mcp.conftest import MakeMCP, connect
from tests.mcp.test_tools import call, text_of


def project(root: Path, requirements: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.txt").write_text(requirements)
    return root


async def test_the_environment_travels_with_sessions_searches_and_outcomes(
    make_mcp: MakeMCP, register: Register, tmp_path: Path, plurum: Plurum
) -> None:
    writer = await make_mcp(
        await register(), project_dir=project(tmp_path / "old", "pydantic==1.10.13\n")
    )
    reader = await make_mcp(
        await register(),
        project_dir=project(tmp_path / "new", "pydantic==2.7.4\nfastapi==0.111.0\n"),
    )
    async with connect(writer) as w, connect(reader) as r:
        me = await r.call_tool("whoami", {})
        assert '"pydantic": "2.7.4"' in text_of(me)
        assert (me.structured_content or {})["environment"]["packages"]["fastapi"] == "0.111.0"

        created = await call(
            w,
            "create_experience",
            goal="Validate an email field on a pydantic model",
            breakthroughs=["validator decorator on a classmethod"],
        )
        opened = await call(r, "open_session", topic="Validate an email field with pydantic")
        found = await call(
            r, "search", query="validate an email field on a pydantic model", min_quality_score=0
        )
        hit = next(h for h in found["results"] if h["short_id"] == created["short_id"])
        assert hit["environment_fit"]["conflicts"] == [
            {"package": "pydantic", "theirs": "1.10.13", "yours": "2.7.4", "breaking": True}
        ]
        shown = await r.call_tool("search", {"query": "validate an email field on pydantic"})
        assert "written for other versions: pydantic 1.10.13 there, 2.7.4 here" in text_of(shown)
        await call(r, "report_outcome", identifier=created["short_id"], success=False)

    with psycopg.connect(plurum.database.url) as conn:
        session_env = conn.execute(
            "SELECT environment FROM sessions WHERE id = %s", (opened["session_id"],)
        ).fetchone()
        outcome_env = conn.execute("SELECT environment FROM outcomes").fetchone()
    assert session_env is not None and session_env[0]["packages"]["pydantic"] == "2.7.4"
    assert outcome_env is not None and outcome_env[0]["packages"]["pydantic"] == "2.7.4"


async def test_off_switch_and_nothing_to_read(
    make_mcp: MakeMCP, register: Register, tmp_path: Path
) -> None:
    off = await make_mcp(
        await register(),
        project_dir=project(tmp_path / "p", "pydantic==2.7.4\n"),
        environment=False,
    )
    empty = await make_mcp(await register(), project_dir=tmp_path / "nothing-here")
    for app in (off, empty):
        async with connect(app) as client:
            me = await client.call_tool("whoami", {})
        assert "No environment is sent" in text_of(me)
        assert (me.structured_content or {}).get("environment") is None
