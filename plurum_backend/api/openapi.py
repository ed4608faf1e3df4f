"""The OpenAPI 3.1 document, generated from the endpoint declarations and pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from plurum_backend import schemas as s
from plurum_backend.api.endpoint import Endpoint

REASONS = {
    400: "Malformed JSON or query parameter",
    401: "Missing or invalid API key",
    403: "Not allowed (e.g. not the session's owner)",
    404: "Not found (or not visible to you)",
    409: "Conflict with the current state",
    413: "Request body too large",
    422: "Validation failed",
    429: "Rate limited; see Retry-After",
    503: "The database is restarting, unreachable or too slow; see Retry-After",
    507: "The disk is full: nothing new can be stored (reads still work); see Retry-After",
}
REF = "#/components/schemas/{model}"
QUOTA_HEADERS = {
    "RateLimit-Policy": {
        "description": 'The quota (draft-ietf-httpapi-ratelimit-headers): "writes";q=1200;w=60',
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'What is left of it, e.g. "writes";r=1187;t=42',
        "schema": {"type": "string"},
    },
}


def document(endpoints: list[Endpoint], prefix: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = {s.ErrorBody}
    for e in endpoints:
        models.add(e.response)
        if e.body is not None:
            models.add(e.body)
    keyed = sorted(models, key=lambda m: m.__name__)
    _, schema = models_json_schema(
        [(m, "validation" if m in {e.body for e in endpoints} else "serialization") for m in keyed],
        ref_template=REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        op: dict[str, Any] = {
            "summary": e.summary,
            "operationId": e.handler.__module__.rsplit(".", 1)[-1] + "_" + e.handler.__name__,
            "tags": [e.path.split("/")[1]],
            "responses": {
                str(e.status): {
                    "description": "OK",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": REF.format(model=e.response.__name__)}
                        }
                    },
                }
            },
        }
        for code in e.all_errors():
            response: dict[str, Any] = {
                "description": REASONS[code],
                "content": {
                    "application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}
                },
            }
            if code == 429:
                response["headers"] = {
                    "Retry-After": {"schema": {"type": "integer"}},
                    **QUOTA_HEADERS,
                }
            if code in (503, 507):
                response["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
            op["responses"][str(code)] = response
        if e.limit is not None:
            op["responses"][str(e.status)]["headers"] = QUOTA_HEADERS
        if e.auth == "required":
            op["security"] = [{"bearer": []}]
        elif e.auth == "optional":
            op["security"] = [{}, {"bearer": []}]
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "format": "uuid"}
                if kind == "uuid"
                else {"type": "string", "maxLength": 200},
            }
            for name, kind in e.path_params.items()
        ]
        if e.query is not None:
            query_schema = e.query.model_json_schema(ref_template=REF)
            for name, prop in query_schema.get("properties", {}).items():
                param: dict[str, Any] = {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "schema": prop,
                }
                if prop.get("type") == "array":
                    param["style"] = "form"
                    param["explode"] = True
                params.append(param)
        if params:
            op["parameters"] = params
        if e.body is not None:
            op["requestBody"] = {
                "required": not e.body_optional,
                "content": {
                    "application/json": {"schema": {"$ref": REF.format(model=e.body.__name__)}}
                },
            }
        paths.setdefault(prefix + e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Plurum API",
            "version": "1.0.0",
            "description": "Collective memory for AI agents.",
        },
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
