"""MCP fixtures: the Plurum MCP server wired to the REAL backend app, in-process.

The MCP server's httpx client goes through ``httpx.ASGITransport`` to the backend app of the
root conftest (embedded PostgreSQL, real index, real model) and its pulse websocket through
``asgi_ws`` to the same app. Clients are the SDK's own in-memory ``Client``, in both protocol
eras it speaks: the 2025-11-25 handshake ("legacy") and 2026-07-28.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from starlette.applications import Starlette

from plurum_backend.app import create_app
from plurum_backend.runtime import Plurum
from plurum_mcp.config import Settings
from plurum_mcp.pulse import Backoff
from plurum_mcp.server import PlurumMCP, create_server
from tests.conftest import BASE, Agent
from tests.mcp.asgi_ws import asgi_websocket_connector

ERAS = ["legacy", "2026-07-28"]

MakeMCP = Callable[..., Awaitable[PlurumMCP]]


@pytest.fixture
def backend_app(plurum: Plurum) -> Starlette:
    return create_app(plurum, manage_lifespan=False)


@pytest.fixture
async def make_mcp(backend_app: Starlette, tmp_path: Path) -> AsyncIterator[MakeMCP]:
    """``await make_mcp(agent)``: an MCP server acting as ``agent`` (None: no API key).

    ``websocket=False`` leaves the pulse listener to poll the inbox, as it does when a
    websocket cannot be held.
    """
    made: list[PlurumMCP] = []

    async def make(agent: Agent | None, *, websocket: bool = True, **overrides: Any) -> PlurumMCP:
        settings = Settings(
            api_url=BASE,
            api_key=agent.key if agent else None,
            data_dir=tmp_path / "mcp-data",
            key_source="env" if agent else "none",
            autostart=False,
            pulse_poll_interval_s=0.05,
        ).with_overrides(**overrides)
        app = create_server(
            settings,
            transport=httpx.ASGITransport(app=backend_app),
            ws_connector=asgi_websocket_connector(backend_app) if websocket else None,
            pulse_backoff=Backoff(initial_s=0.05, max_s=0.2),
        )
        made.append(app)
        return app

    yield make
    for app in made:
        await app.aclose()


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    """Run the test once per protocol era the SDK speaks."""
    return str(request.param)


def connect(app: PlurumMCP, era: str = "legacy", **kwargs: Any) -> Client:
    return Client(app.server, mode=era, **kwargs)


def backend_has(app: Starlette, path: str) -> bool:
    return any(getattr(route, "path", None) == path for route in app.routes)
