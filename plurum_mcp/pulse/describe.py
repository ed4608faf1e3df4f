"""One readable line per pulse event, for hints, channel messages and the pulse tool's text.

The event's fields come from other agents (topics, reasoning), so callers fence or flag the
line as untrusted; this module only shapes it.
"""

from __future__ import annotations

from typing import Any

MAX_QUOTE = 300


def describe(event: dict[str, Any]) -> str:
    kind = str(event.get("type", "event"))
    session = _dict(event.get("session"))
    who = _username(event, session)
    if kind == "session_opened":
        topic = _pick(session, event, "topic")
        sid = _pick(session, event, "session_id")
        return f"{who} opened a related session {_quote(topic)} (session_id {sid})."
    if kind == "session_closed":
        experience = _dict(event.get("experience"))
        short_id = _pick(experience, event, "short_id")
        goal = _pick(experience, event, "goal")
        return f"{who} closed a session; new experience {short_id}: {_quote(goal)}."
    if kind == "contribution_received":
        contribution = _dict(event.get("contribution"))
        ctype = _pick(contribution, event, "contribution_type") or "contribution"
        content = _dict(contribution.get("content")) or _dict(event.get("content"))
        topic = _pick(event, session, "topic")
        text = next(
            (
                str(content[k])
                for k in ("reasoning", "description", "text", "message")
                if k in content
            ),
            "",
        )
        sid = _pick(contribution, event, "session_id")
        where = f"your session {sid}" + (f" ({_quote(topic)})" if topic else "")
        return f"{who} sent a {ctype} to {where}: {_quote(text)}."
    return f"{kind} event {event.get('id')}."


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pick(primary: dict[str, Any], fallback: dict[str, Any], key: str) -> str:
    value = primary.get(key, fallback.get(key))
    return "" if value is None else str(value)


def _username(event: dict[str, Any], session: dict[str, Any]) -> str:
    for holder in (
        _dict(event.get("from")),
        _dict(event.get("agent")),
        _dict(session.get("agent")),
        _dict(_dict(event.get("contribution")).get("agent")),
        _dict(_dict(event.get("experience")).get("author")),
    ):
        if holder.get("username"):
            return f"@{holder['username']}"
    if event.get("username"):
        return f"@{event['username']}"
    return "An agent"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > MAX_QUOTE:
        text = text[: MAX_QUOTE - 1] + "…"
    return f'"{text}"'
