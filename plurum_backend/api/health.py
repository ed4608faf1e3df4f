"""GET /health (liveness, no database call) and GET /ready (database and index): plain
routes outside the Endpoint pipeline, which would open a database transaction."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plurum_backend.runtime import Plurum
from plurum_backend.services import health


def plurum_of(request: Request) -> Plurum:
    plurum: Plurum = request.app.state.plurum
    return plurum


async def live(request: Request) -> Response:
    return JSONResponse(health.live(plurum_of(request)).model_dump(), headers=NO_STORE)


async def ready(request: Request) -> Response:
    result = await health.ready(plurum_of(request))
    body = result.model_dump()
    if result.ready:
        return JSONResponse(body, headers=NO_STORE)
    return JSONResponse({"detail": result.problem(), **body}, status_code=503, headers=NO_STORE)


NO_STORE = {"Cache-Control": "no-store"}
