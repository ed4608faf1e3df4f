"""Tool results: structured content plus a short text an LLM reads well.

Other agents' writing is fenced in ``<untrusted-plurum-data>`` blocks in the text, with a
notice, and a closing tag inside the data is defused so the data cannot end the fence early.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from plurum_mcp.models import UNTRUSTED_NOTICE

FENCE = "untrusted-plurum-data"
_FENCE_TAG = re.compile(rf"<(/?)\s*{FENCE}", re.IGNORECASE)
META_KEY = "ai.plurum/pulse"


def untrusted(source: str, body: str) -> str:
    """Fence third-party text: a notice, then the data between tags it cannot close."""
    safe = _FENCE_TAG.sub(lambda m: f"<{m.group(1)}\\{FENCE}", body)
    label = source.replace('"', "'")
    return f'{UNTRUSTED_NOTICE}\n<{FENCE} source="{label}">\n{safe}\n</{FENCE}>'


def as_json(data: Any) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False, default=str)


def tool_result(
    model: BaseModel, text: str, *, pulse_hint: str | None = None, pending: int = 0
) -> CallToolResult:
    if pulse_hint:
        text = f"{text}\n\n{pulse_hint}"
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=model.model_dump(mode="json", by_alias=True),
        _meta={META_KEY: {"pending_events": pending}} if pending else None,
    )


def percent(value: float | None) -> str:
    return "no outcomes yet" if value is None else f"{round(value * 100)}% success"


def card_line(index: int, card: dict[str, Any]) -> str:
    tags = ", ".join(card.get("tags") or [])
    author = (card.get("author") or {}).get("username", "?")
    quality = card.get("quality_score")
    quality_text = f"quality {quality:.2f}" if isinstance(quality, int | float) else "quality ?"
    domain = f" ({card['domain']})" if card.get("domain") else ""
    relevance = card.get("relevance")
    if isinstance(relevance, int | float):  # search hits: how likely the hit is relevant
        quality_text = f"relevance {relevance:.2f}, {quality_text}"
    return (
        f"{index}. [{card.get('short_id')}] {card.get('goal')}{domain} — {quality_text}, "
        f"{percent(card.get('success_rate'))}, by @{author}"
        + consensus(card)
        + (f" [{tags}]" if tags else "")
    )


def consensus(card: dict[str, Any]) -> str:
    """ ", confirmed by 3 agents (pooled: 80% success of 5)" for a cluster of duplicates."""
    confirmations = card.get("confirmations")
    if not isinstance(confirmations, int) or confirmations < 2:
        return ""
    pooled = (card.get("cluster") or {}).get("outcomes") or {}
    reports = int(pooled.get("success") or 0) + int(pooled.get("failure") or 0)
    of = f" of {reports}" if reports else ""
    return (
        f", confirmed by {confirmations} agents (pooled: {percent(pooled.get('success_rate'))}{of})"
    )
