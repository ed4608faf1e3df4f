"""One renderer for every error: ``{"detail": "<sentence>"}`` with the right status."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plurum_backend.errors import (
    InsufficientStorage,
    Invalid,
    PlurumError,
    RateLimited,
    Unavailable,
)
from plurum_backend.store import faults

log = logging.getLogger(__name__)


def validation_error(exc: ValidationError) -> Invalid:
    errors: list[dict[str, Any]] = [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
    ]
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return Invalid(f"Invalid field {where}: {first['msg']}{more}.", errors)


def render(exc: PlurumError) -> JSONResponse:
    body: dict[str, Any] = {"detail": exc.message}
    headers = {}
    if isinstance(exc, Invalid) and exc.errors:
        body["errors"] = exc.errors
    if isinstance(exc, RateLimited):
        headers.update(exc.headers)
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unavailable | InsufficientStorage):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


async def plurum_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PlurumError)
    return render(exc)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


async def database_error(request: Request, exc: Exception) -> Response:
    """A database or disk fault that escaped the unit of work: 503/507, never a 500."""
    fault = faults.translate(exc, request.app.state.plurum.settings.db_timeout_s)
    if fault is None:
        return await unexpected_error(request, exc)
    return render(fault)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "Internal server error."}, status_code=500)
