"""The ASGI application: every endpoint under /api/v1, one error renderer, the lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from plurum_backend.api import (
    agents,
    errors,
    experiences,
    health,
    openapi,
    pulse,
    sessions,
    signatures,
    skill,
)
from plurum_backend.api.endpoint import Endpoint, make_route
from plurum_backend.errors import PlurumError
from plurum_backend.runtime import Plurum
from plurum_backend.web import routes as web_routes

PREFIX = "/api/v1"


def endpoints() -> list[Endpoint]:
    return [
        *agents.ENDPOINTS,
        *sessions.ENDPOINTS,
        *experiences.ENDPOINTS,
        *signatures.ENDPOINTS,
        *pulse.ENDPOINTS,
    ]


def by_method(
    handlers: dict[str, Callable[[Request], Awaitable[Response]]],
) -> Callable[[Request], Awaitable[Response]]:
    async def route(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return route


def create_app(plurum: Plurum, *, manage_lifespan: bool = True) -> Starlette:
    declared = endpoints()
    spec = openapi.document(declared, PREFIX)

    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(spec)

    routes: list[BaseRoute] = [
        Route(PREFIX + "/openapi.json", openapi_json, methods=["GET"]),
        Route(PREFIX + "/health", health.live, methods=["GET"]),
        Route(PREFIX + "/ready", health.ready, methods=["GET"]),
        Route("/skill.md", skill.skill, methods=["GET"]),
        WebSocketRoute(PREFIX + "/pulse/ws", pulse.pulse_websocket),
    ]
    by_path: dict[str, list[Endpoint]] = {}
    for e in declared:
        by_path.setdefault(e.path, []).append(e)
    for path, group in by_path.items():
        # one Route per path, so a 405 lists every method of the path in Allow
        handlers = {e.method: make_route(e, plurum) for e in group}
        routes.append(Route(PREFIX + path, by_method(handlers), methods=list(handlers)))
    routes += web_routes(plurum)  # the pages, outside /api/v1 (docs/web.md)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        if manage_lifespan:
            await plurum.startup()
        try:
            yield {}
        finally:
            if manage_lifespan:
                await plurum.shutdown()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            PlurumError: errors.plurum_error,
            HTTPException: errors.http_error,
            SQLAlchemyError: errors.database_error,
            psycopg.Error: errors.database_error,
            Exception: errors.unexpected_error,
        },
    )
    app.state.plurum = plurum
    app.state.api_prefix = PREFIX
    return app


def server_config(app: Starlette, host: str, port: int, log_level: str = "info") -> Any:
    """How uvicorn serves Plurum: websocket frames capped at 64 KiB (1009 past that), and
    protocol pings every 20 s so dead peers are dropped within 40 s. Idle keep-alive
    connections live 75 s, longer than clients and load balancers keep them (httpx 5 s,
    common balancers 60 s): with uvicorn's 5 s, a busy client could send a request on a
    connection the server was closing, and lose it (seen in bench/load.py). Forwarded
    headers are left alone (uvicorn trusts them from 127.0.0.1 by default): only a
    configured trusted proxy may name the client (see api/limits.py). Per-message deflate is
    off: pulse frames are small JSON, and compressing each one for each socket was an eighth
    of the server's CPU when fanning out to 1,000 sockets (docs/performance.md)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        ws_max_size=64 * 1024,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        ws_per_message_deflate=False,
        timeout_keep_alive=75,
        lifespan="on",
        proxy_headers=False,
    )
