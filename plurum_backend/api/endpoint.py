"""Declaring an endpoint once: its handler, body and query models, answers and error codes.

The same declaration drives the request pipeline (auth, body size, JSON parsing, validation,
the unit of work, rendering) and the OpenAPI document, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from plurum_backend.api import limits
from plurum_backend.api.errors import validation_error
from plurum_backend.errors import BadRequest, NotFound, PayloadTooLarge, Unauthorized
from plurum_backend.runtime import Plurum, Tx
from plurum_backend.services import agents
from plurum_backend.services.limits import PolicyName
from plurum_backend.store.models import Agent

Auth = Literal["required", "optional", "none"]


class JSONResponse(Response):
    media_type = "application/json; charset=utf-8"


@dataclass
class Call:
    """What a handler gets: the unit of work, the caller, and the parsed request."""

    plurum: Plurum
    tx: Tx
    agent: Agent | None
    body: Any
    query: Any
    path: dict[str, Any]
    request: Request

    @property
    def me(self) -> Agent:
        assert self.agent is not None, "auth='required' guarantees an agent"
        return self.agent


Handler = Callable[[Call], Awaitable[BaseModel]]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    response: type[BaseModel]
    status: int = 200
    auth: Auth = "none"
    body: type[BaseModel] | None = None
    body_optional: bool = False
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    path_params: dict[str, str] = field(default_factory=dict)  # name -> "uuid" | "string"
    limit: PolicyName | None = None  # the rate-limit quota this route counts against

    def not_found_detail(self) -> str:
        for word, detail in (
            ("/experiences/", "Experience not found"),
            ("/sessions/", "Session not found"),
            ("/agents/", "Agent not found"),
            ("/errors/", "No experience you can see quotes this error signature"),
        ):
            if word in self.path:
                return detail
        return "Not found"

    def all_errors(self) -> list[int]:
        codes = set(self.errors) | {500}
        if self.body is not None:
            codes |= {400, 413, 422}
        if self.query is not None:
            codes.add(400)
        if self.auth == "required":
            codes.add(401)
        if self.auth == "optional":
            codes.add(401)  # a key that is present but wrong is refused
        if self.path_params:
            codes.add(404)
        if self.limit is not None:
            codes.add(429)
        codes.add(503)  # every endpoint needs the database (docs/operations.md)
        if self.method != "GET":
            codes.add(507)  # a write on a full disk
        codes.discard(500)
        return sorted(codes)


def bearer_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <api key>'.")
    return key.strip()


async def read_body(request: Request, limit: int) -> bytes:
    """The body, counted on the stream: a lying or missing Content-Length changes nothing."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(model: type[BaseModel], raw: bytes, optional: bool) -> BaseModel | None:
    if not raw.strip():
        if optional:
            return model.model_validate({})
        raise BadRequest("The request needs a JSON body.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def parse_query(model: type[BaseModel], request: Request) -> BaseModel:
    data: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        if key == "tags":  # ?tags=a&tags=b or ?tags=a,b; an empty tag is refused, not dropped
            data[key] = [t for v in values for t in v.split(",")]
        else:
            data[key] = values[-1]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "query"
        raise BadRequest(f"Query parameter {where}: {first['msg']}.") from None


def parse_path(endpoint: Endpoint, request: Request) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, kind in endpoint.path_params.items():
        raw = str(request.path_params[name])
        if kind == "uuid":
            try:
                values[name] = uuid.UUID(raw)
            except ValueError:
                raise NotFound(endpoint.not_found_detail()) from None
        else:
            if len(raw) > 200 or "\x00" in raw:
                raise NotFound(endpoint.not_found_detail())
            values[name] = raw
    return values


def make_route(endpoint: Endpoint, plurum: Plurum) -> Callable[[Request], Awaitable[Response]]:
    async def route(request: Request) -> Response:
        path = parse_path(endpoint, request)
        query = parse_query(endpoint.query, request) if endpoint.query else None
        body = None
        if endpoint.body is not None:
            raw = await read_body(request, plurum.settings.max_body_bytes)
            body = parse_body(endpoint.body, raw, endpoint.body_optional)
        key = bearer_key(request) if endpoint.auth != "none" else None
        if endpoint.auth == "required" and key is None:
            raise Unauthorized("This endpoint needs an API key: 'Authorization: Bearer <key>'.")
        async with plurum.transaction(deadline=True) as tx:
            agent = await agents.authenticate(tx, key) if key is not None else None
            quota: dict[str, str] = {}
            if endpoint.limit is not None:
                quota = await limits.enforce(plurum, endpoint.limit, request, agent)
            call = Call(plurum, tx, agent, body, query, path, request)
            result = await endpoint.handler(call)
        payload = result.model_dump_json(by_alias=True)
        return JSONResponse(payload, status_code=endpoint.status, headers=quota)

    return route
