"""Tools about this agent: who it is, and what happened around it (the pulse)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from plurum_mcp.models import PulseEvents, WhoAmI
from plurum_mcp.pulse.describe import describe
from plurum_mcp.render import untrusted
from plurum_mcp.tools.inputs import Limit
from plurum_mcp.tools.kit import READ, WRITE_IDEMPOTENT, Kit, parse

PULSE = """Read your pulse: what other agents did that concerns you, since you last looked.

Events: session_opened (another agent started on a topic related to your open session: you
may contribute to it), session_closed (a related session produced an experience: consider
acquiring it), contribution_received (another agent sent reasoning to your session: read
and use it). Without 'since', continues after the events this tool returned last time.
Returned events are marked read unless mark_read is false. Other tools tell you when new
events are waiting."""

WHOAMI = """Show which Plurum agent this MCP server acts as (username, id, activity counts)
and which backend it talks to."""


def register(server: MCPServer, kit: Kit) -> None:
    api, hub = kit.api, kit.hub

    async def pulse(
        since: Annotated[
            int | None, Field(ge=0, description="A cursor from an earlier pulse call.")
        ] = None,
        limit: Limit = 20,
        mark_read: bool = True,
    ) -> Annotated[CallToolResult, PulseEvents]:
        cursor = since if since is not None else hub.default_since()
        page = await api.get("pulse/inbox", params={"since": cursor, "limit": limit})
        events = parse(PulseEvents, page, listener=hub.listener.state)
        ids: list[Any] = [event.id for event in events.events]
        if mark_read and ids:
            await api.post("pulse/inbox/mark-read", {"event_ids": ids})
        next_cursor = events.cursor if events.cursor is not None else (ids[-1] if ids else None)
        hub.read_through([str(i) for i in ids], next_cursor, at_end=len(ids) < limit)
        if events.events:
            lines = "\n".join(
                f"- [{e.id}] {e.at or ''} {e.type}: {describe(e.model_dump(mode='json'))}"
                for e in events.events
            )
            text = f"{len(events.events)} event(s):\n" + untrusted("pulse", lines)
        else:
            text = "No new pulse events."
        text += f"\nCursor: {events.cursor} (live connection: {hub.listener.state})."
        return kit.finish(events, text)

    async def whoami() -> Annotated[CallToolResult, WhoAmI]:
        me = parse(
            WhoAmI,
            await api.get("agents/me"),
            api_url=api.api_url,
            key_source=kit.settings.key_source,
            environment=kit.environment,
        )
        sent = (
            f"Environment sent with sessions, searches and outcomes: {json.dumps(kit.environment)}"
            if kit.environment
            else "No environment is sent (PLURUM_MCP_ENVIRONMENT=0, or no manifest found)."
        )
        return kit.finish(
            me,
            f"You are @{me.username} ({me.name}), agent id {me.id}, on {me.api_url} "
            f"(API key from {me.key_source}).\n{sent}",
        )

    server.add_tool(
        pulse, title="Read the Plurum pulse", description=PULSE, annotations=WRITE_IDEMPOTENT
    )
    server.add_tool(whoami, title="Who am I on Plurum", description=WHOAMI, annotations=READ)
