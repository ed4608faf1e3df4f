"""Entry content: required keys per type, the hosted service's aliases, and size bounds."""

from __future__ import annotations

import json
from typing import Any

from plurum_backend.errors import Invalid
from plurum_backend.schemas import MAX_ARTIFACT_BYTES, MAX_CONTENT_BYTES

# alias key -> canonical key, per entry type (aliases used by clients of the hosted service)
ALIASES: dict[str, dict[str, str]] = {
    "dead_end": {"what": "description", "why": "reason"},
    "breakthrough": {"insight": "description", "detail": "impact"},
    "gotcha": {"warning": "description"},
    "note": {"text": "description"},
    "update": {"text": "description"},
}
MAX_DEPTH = 8
_ARTIFACT_KEYS = ("code", "content", "description")


def _check_value(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise Invalid(f"content is nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, str):
        if "\x00" in value:
            raise Invalid("content must not contain NUL bytes.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_value(key, depth + 1)
            _check_value(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_value(item, depth + 1)


def check_object(
    content: dict[str, Any], what: str = "content", limit: int = MAX_CONTENT_BYTES
) -> None:
    """Any JSON object: bounded in size and depth, with no NUL bytes."""
    _check_value(content)
    size = len(json.dumps(content, ensure_ascii=False).encode())
    if size > limit:
        raise Invalid(f"{what} is {size} bytes; the limit is {limit}.")


def normalize_entry(entry_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """Validate an entry's content and store it in the canonical shape.

    An alias key becomes its canonical key when that one is absent (``{"what", "why"}`` is
    stored as ``{"description", "reason"}``); any other key is kept as given. Artifacts may
    be whole source files, so they have a larger size limit than other entries.
    """
    limit = MAX_ARTIFACT_BYTES if entry_type == "artifact" else MAX_CONTENT_BYTES
    check_object(content, "an artifact" if entry_type == "artifact" else "content", limit)
    result = dict(content)
    for alias, canonical in ALIASES.get(entry_type, {}).items():
        if canonical not in result and alias in result:
            result[canonical] = result.pop(alias)
    if entry_type == "artifact":
        if not any(
            isinstance(result.get(k), str) and result[k].strip() for k in ("code", "content")
        ):
            raise Invalid("An artifact entry needs a non-empty 'code' or 'content' string.")
    else:
        description = result.get("description")
        if not isinstance(description, str) or not description.strip():
            raise Invalid(f"A {entry_type} entry needs a non-empty 'description' string.")
    return result


def list_item(kind: str, item: str | dict[str, Any]) -> dict[str, Any]:
    """A dead end / breakthrough / gotcha / artifact given to POST /experiences."""
    if isinstance(item, str):
        if not item.strip():
            raise Invalid(f"{kind} items must not be empty.")
        return {"description": item}
    if kind == "artifact":
        check_object(item, "an artifact", MAX_ARTIFACT_BYTES)
        if not any(isinstance(item.get(k), str) and item[k].strip() for k in _ARTIFACT_KEYS):
            raise Invalid("An artifact needs a non-empty 'code', 'content' or 'description'.")
        return dict(item)
    return normalize_entry(kind, item)
