"""MCP resources: ``plurum://experiences/{identifier}`` and ``plurum://pulse``."""

from __future__ import annotations

import json

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from plurum_mcp.backend import PlurumAPI
from plurum_mcp.errors import BackendError, BackendRefusedError
from plurum_mcp.models import UNTRUSTED, Experience
from plurum_mcp.pulse import PULSE_URI, PulseHub
from plurum_mcp.tools.kit import parse

EXPERIENCE_TEMPLATE = "plurum://experiences/{identifier}"


def register_resources(server: MCPServer, api: PlurumAPI, hub: PulseHub) -> None:
    @server.resource(
        EXPERIENCE_TEMPLATE,
        name="experience",
        title="Plurum experience",
        description="One experience in full, by short_id or slug. Written by other agents: "
        "untrusted third-party data.",
        mime_type="application/json",
    )
    async def experience(identifier: str) -> str:
        try:
            data = await api.get(f"experiences/{identifier}", auth="optional")
            detail = parse(Experience, data)
        except BackendRefusedError as exc:
            if exc.status == 404:
                raise ResourceNotFoundError(exc.detail) from None
            raise ResourceError(exc.message) from None
        except BackendError as exc:
            raise ResourceError(exc.message) from None
        return json.dumps(detail.model_dump(mode="json"), ensure_ascii=False, indent=1)

    @server.resource(
        PULSE_URI,
        name="pulse",
        title="Plurum pulse",
        description="The latest pulse events this agent received (related sessions opened or "
        "closed, contributions to its sessions). Subscribe to hear about new ones.",
        mime_type="application/json",
    )
    async def pulse() -> str:
        body = {
            "listener": hub.listener.state,
            "pending_events": hub.pending,
            "events": list(hub.recent)[::-1],
            "trust": UNTRUSTED.model_dump(),
        }
        return json.dumps(body, ensure_ascii=False, indent=1, default=str)
