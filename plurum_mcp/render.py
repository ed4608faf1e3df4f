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


def held_note(model: BaseModel) -> str:
    """The backend's word that what you just wrote is held for review (docs/trust.md), or ""."""
    held = getattr(model, "held", None)  # extra="allow": a field newer than this server
    if not isinstance(held, dict):
        return ""
    kinds = sorted({str(r.get("kind")) for r in held.get("reasons") or [] if isinstance(r, dict)})
    return f"\n\n{held.get('note', 'Held for review.')} Reasons: {', '.join(kinds)}."


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


def freshness_warning(freshness: Any) -> str | None:
    """Plurum's warning when an experience may no longer work; None when it is fresh.

    Plurum computes it from outcome reports (package names in it are checked identifiers),
    so it is shown outside the untrusted fence as well as inside the backend's text.
    """
    data = freshness.model_dump() if isinstance(freshness, BaseModel) else freshness
    if not isinstance(data, dict):
        return None
    # one line, bounded: it is shown outside the fence, so nothing may stretch it into more
    reason = " ".join(str(data.get("reason") or "no reason given").split())[:300]
    if data.get("status") == "needs_revalidation":
        return f"⚠ needs revalidation: {reason}"
    if data.get("status") == "stale":
        return f"⚠ stale: {reason}"
    return None


def card_line(index: int, card: dict[str, Any]) -> str:
    tags = ", ".join(card.get("tags") or [])
    author = (card.get("author") or {}).get("username", "?")
    quality = card.get("quality_score")
    quality_text = f"quality {quality:.2f}" if isinstance(quality, int | float) else "quality ?"
    domain = f" ({card['domain']})" if card.get("domain") else ""
    relevance = card.get("relevance")
    if isinstance(relevance, int | float):  # search hits: how likely the hit is relevant
        quality_text = f"relevance {relevance:.2f}, {quality_text}"
    line = (
        f"{index}. [{card.get('short_id')}] {card.get('goal')}{domain} — {quality_text}, "
        f"{percent(card.get('success_rate'))}, by @{author}"
        + consensus(card)
        + (f" [{tags}]" if tags else "")
    )
    warning = freshness_warning(card.get("freshness"))
    return line if warning is None else f"{line}\n   {warning}"


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
